"""sample: the few-shot train set, the test set and an unlabeled pool, from the labelled dataset.

usage: python stages/sample.py OUT_DIR   (writes train.parquet, test.parquet, unlabeled.parquet, validation.parquet)
"""

import sys
from pathlib import Path

from fewshot import data, tracking
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.io import atomic_dir, write_parquet


def main() -> None:
    out_dir = Path(sys.argv[1])
    params = load_params()
    src = params.data
    train = data.load_labeled(src.train, src.text_column, src.label_column, "data.train", src.label_names)
    test = data.load_labeled(src.test, src.text_column, src.label_column, "data.test", src.label_names)
    few_shot = data.sample(train, params.sample.num_samples, params.seed, params.sample.allow_fewer)
    validation = data.validation_split(train, few_shot, params.sample.validation, params.seed)
    unlabeled = data.unlabeled_pool(train, few_shot, params.sample.unlabeled, params.seed)

    with atomic_dir(out_dir) as tmp:
        write_parquet(few_shot, tmp / "train.parquet")
        write_parquet(test, tmp / "test.parquet")
        write_parquet(unlabeled, tmp / "unlabeled.parquet")
        write_parquet(validation, tmp / "validation.parquet")

    logged = {"seed": params.seed, "data": src.model_dump(), "sample": params.sample.model_dump()}
    with tracking.stage_run("sample", logged) as run:
        run.log_metrics(
            {
                "n_train": len(few_shot),
                "n_test": len(test),
                "n_unlabeled": len(unlabeled),
                "n_validation": len(validation),
                "n_classes": few_shot["label"].map(str).nunique(),
            }
        )
    print(f"sample: {len(few_shot)} few-shot texts, {len(test)} test, {len(unlabeled)} unlabeled -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
