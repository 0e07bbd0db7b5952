"""distill: the trained student learns the teacher's similarities and labels on unlabeled texts.

usage: python stages/distill.py TEACHER_DIR STUDENT_DIR UNLABELED_PARQUET TRAIN_PARQUET OUT_DIR PAIRS_PARQUET LOSS_CSV
"""

import sys

import pandas as pd

from fewshot import tracking
from fewshot.config import load_params
from fewshot.distill import distill
from fewshot.errors import run_main
from fewshot.io import write_csv, write_parquet
from fewshot.model import FewShotModel


def main() -> None:
    teacher_dir, student_dir, unlabeled_path, train_path, out_dir, pairs_path, loss_csv = sys.argv[1:8]
    params = load_params()
    cfg = params.distill
    teacher = FewShotModel.load(teacher_dir)
    student = FewShotModel.load(student_dir)
    unlabeled = pd.read_parquet(unlabeled_path)["text"]
    labeled = pd.read_parquet(train_path) if cfg.include_labeled else None

    with tracking.stage_run("distill", {"seed": params.seed, "distill": cfg.model_dump()}) as run:
        result = distill(
            teacher,
            student,
            unlabeled,
            num_iterations=cfg.num_iterations,
            max_steps=cfg.max_steps,
            batch_size=cfg.batch_size,
            body_learning_rate=cfg.body_learning_rate,
            warmup_proportion=cfg.warmup_proportion,
            labeled=labeled,
            seed=params.seed,
            on_log=lambda step, loss: run.log_metrics({"loss": loss}, step=step),
        )
        result.model.save(out_dir)
        write_parquet(result.pairs, pairs_path)
        write_csv(pd.DataFrame(result.train.losses, columns=["step", "loss"]), loss_csv)
        run.log_metrics(
            {
                "train_seconds": result.train.seconds,
                "steps": result.train.steps,
                "n_pairs": len(result.pairs),
                "target_mean": float(result.pairs["label"].mean()),
                "target_std": float(result.pairs["label"].std()),
            }
        )
    print(
        f"distill: {result.train.steps} steps on {len(result.pairs)} teacher-scored pairs of {len(unlabeled)} "
        f"texts (target mean {result.pairs['label'].mean():.3f}, std {result.pairs['label'].std():.3f}) -> {out_dir}"
    )


if __name__ == "__main__":
    run_main(main)
