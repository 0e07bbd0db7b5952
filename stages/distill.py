"""distill: the trained student body learns the teacher's similarities and labels on unlabeled texts.

usage: python stages/distill.py TEACHER_DIR STUDENT_BODY_DIR UNLABELED_PARQUET TRAIN_PARQUET OUT_DIR PAIRS_PARQUET LOSS_CSV
"""

import sys

import pandas as pd

from fewshot import body, tracking
from fewshot.config import load_params
from fewshot.distill import distill
from fewshot.errors import run_main
from fewshot.io import write_csv, write_parquet
from fewshot.model import FewShotModel, sorted_labels


def main() -> None:
    teacher_dir, student_body_dir, unlabeled_path, train_path, out_dir, pairs_path, loss_csv = sys.argv[1:8]
    params = load_params()
    cfg = params.distill
    teacher = FewShotModel.load(teacher_dir)
    student_body = body.load_body(student_body_dir, field=student_body_dir)
    unlabeled = pd.read_parquet(unlabeled_path)["text"]
    few_shot = pd.read_parquet(train_path)

    with tracking.stage_run("distill", {"seed": params.seed, "distill": cfg.model_dump()}) as run:
        result = distill(
            teacher,
            student_body,
            unlabeled,
            labels=sorted_labels(few_shot["label"]),
            head_type=cfg.head.type,
            head_params=cfg.head.params,
            multi_target_strategy=cfg.head.multi_target_strategy,
            info=body.read_body_info(student_body_dir),
            num_iterations=cfg.num_iterations,
            max_steps=cfg.max_steps,
            batch_size=cfg.batch_size,
            body_learning_rate=cfg.body_learning_rate,
            warmup_proportion=cfg.warmup_proportion,
            labeled=few_shot if cfg.include_labeled else None,
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
