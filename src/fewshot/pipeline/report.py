"""What a body-training stage writes and logs besides its model: the loss per step (a DVC plot), the
epochs and steps it trained (a DVC metrics file, so `dvc exp show` lists them), and the same to MLflow."""

from __future__ import annotations

import pandas as pd

from fewshot.io import write_csv, write_json
from fewshot.pipeline.tracking import StageRun
from fewshot.training import TrainResult


def body_training(
    run: StageRun, result: TrainResult, name: str, loss_csv: str, metrics_path: str, n_parameters: int
) -> None:
    """``name``: the body's name in the parent run's metrics (``student_body``, ``teacher_body``)."""
    write_csv(pd.DataFrame(result.losses, columns=["step", "loss"]), loss_csv)
    write_json({"epochs": result.epochs, "steps": result.steps}, metrics_path)
    run.log_params({"resolved": result.arguments})
    run.log_parent_metrics({f"{name}.epochs": result.epochs, f"{name}.steps": result.steps})
    run.log_metrics(
        {"train_seconds": result.seconds, "steps": result.steps, "epochs": result.epochs, "n_parameters": n_parameters}
    )
