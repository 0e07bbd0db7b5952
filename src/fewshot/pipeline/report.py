"""What a body-training stage writes and logs besides its model: the loss per step (a DVC plot), the
epochs and steps it trained (a DVC metrics file, so `dvc exp show` lists them), and the same to MLflow;
with ``num_epochs: auto``, the cross-validated accuracy of each length tried (``auto_scores`` in the
metrics file; the MLflow metric ``auto_score`` at step = the steps tried)."""

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
    metrics = {"epochs": result.epochs, "steps": result.steps}
    if result.auto is not None:  # num_epochs: auto: the held-out accuracy of each length it tried
        metrics["auto_scores"] = {str(steps): score for steps, score in result.auto.scores.items()}
        for steps, score in result.auto.scores.items():
            run.log_metrics({"auto_score": score}, step=steps)
    write_json(metrics, metrics_path)
    run.log_params({"resolved": result.arguments})
    run.log_parent_metrics({f"{name}.epochs": result.epochs, f"{name}.steps": result.steps})
    run.log_metrics(
        {"train_seconds": result.seconds, "steps": result.steps, "epochs": result.epochs, "n_parameters": n_parameters}
    )
