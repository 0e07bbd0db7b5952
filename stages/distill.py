"""distill: the trained student body learns the teacher's similarities and labels on unlabeled texts.

usage: python stages/distill.py TEACHER_DIR STUDENT_BODY_DIR UNLABELED_PARQUET TRAIN_PARQUET OUT_DIR
       PAIRS_PARQUET LOSS_CSV METRICS_JSON
"""

import sys

import pandas as pd

from fewshot.distill import distill
from fewshot.errors import run_main
from fewshot.io import read_table, write_csv, write_json, write_parquet
from fewshot.labels import sorted_labels
from fewshot.model import FewShotModel
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params
from fewshot.sources import load_body, read_body_info


def main() -> None:
    teacher_dir, student_body_dir, unlabeled_path, train_path, out_dir, pairs_path, loss_csv, metrics_path = sys.argv[
        1:9
    ]
    params = load_params()
    args = params.distill.arguments(params.seed)
    teacher = FewShotModel.load(teacher_dir)
    student_body = load_body(student_body_dir, field=student_body_dir)
    unlabeled = read_table(unlabeled_path)["text"]
    few_shot = read_table(train_path)

    with tracking.stage_run("distill", {"seed": params.seed, "distill": params.distill.model_dump()}) as run:
        result = distill(
            teacher,
            student_body,
            unlabeled,
            sorted_labels(few_shot["label"]),
            args,
            labeled=few_shot,
            info=read_body_info(student_body_dir),
            on_log=lambda step, loss: run.log_metrics({"loss": loss}, step=step),
        )
        result.model.save(out_dir)
        write_parquet(result.pairs, pairs_path)
        write_csv(pd.DataFrame(result.train.losses, columns=["step", "loss"]), loss_csv)
        head_C = run.log_head_choice(result.model.head)
        write_json({"steps": result.train.steps, "n_pairs": len(result.pairs), **head_C}, metrics_path)
        run.log_parent_metrics({"distill.steps": result.train.steps, "distill.n_pairs": len(result.pairs)})
        targets = result.pairs["label"]
        run.log_metrics(
            {
                "train_seconds": result.train.seconds,
                "steps": result.train.steps,
                "n_pairs": len(result.pairs),
                "target_mean": float(targets.mean()),
                "target_std": float(targets.std()),
            }
        )
    print(
        f"distill: {result.train.steps} steps on {len(result.pairs)} teacher-scored pairs of {len(unlabeled)} "
        f"texts (target mean {targets.mean():.3f}, std {targets.std():.3f}) -> {out_dir}"
    )


if __name__ == "__main__":
    run_main(main)
