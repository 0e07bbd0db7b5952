"""sample: the few-shot train set, the test set, the validation texts and the unlabeled pool.

usage: python stages/sample.py OUT_DIR   (writes train, test, unlabeled and validation .parquet)
"""

import sys
from pathlib import Path

from fewshot import data
from fewshot.errors import run_main
from fewshot.io import atomic_dir, write_parquet
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params


def main() -> None:
    out_dir = Path(sys.argv[1])
    params = load_params()
    src, drop = params.data, params.sample.drop_invalid

    def labeled(key: str):
        """The validated frame of data.train or data.test, and how many of its rows sample.drop_invalid dropped."""
        ref = getattr(src, key)
        raw = data.read_table(ref, f"data.{key}")
        kept = data.validate(raw, src.text_column, src.label_column, f"data.{key} ({ref})", src.label_names, drop)
        return kept, len(raw) - len(kept)

    (train, dropped_train), (test, dropped_test) = labeled("train"), labeled("test")
    sets = data.split(train, params.sample.arguments(params.seed))

    with atomic_dir(out_dir) as tmp:
        write_parquet(sets.train, tmp / "train.parquet")
        write_parquet(test, tmp / "test.parquet")
        write_parquet(sets.unlabeled, tmp / "unlabeled.parquet")
        write_parquet(sets.validation, tmp / "validation.parquet")

    logged = {"seed": params.seed, "data": src.model_dump(), "sample": params.sample.model_dump()}
    with tracking.stage_run("sample", logged) as run:
        run.log_metrics(
            {
                "n_train": len(sets.train),
                "n_test": len(test),
                "n_unlabeled": len(sets.unlabeled),
                "n_validation": len(sets.validation),
                "n_synthetic": sets.n_synthetic,
                "n_classes": sets.train["label"].map(str).nunique(),
                "n_dropped_train": dropped_train,
                "n_dropped_test": dropped_test,
            }
        )
    dropped = f", dropped {dropped_train} train and {dropped_test} test rows (sample.drop_invalid)" if drop else ""
    made = f" ({sets.n_synthetic} synthetic, from the label names)" if sets.n_synthetic else ""
    print(
        f"sample: {len(sets.train)} few-shot texts{made}, {len(test)} test, {len(sets.unlabeled)} unlabeled{dropped} "
        f"-> {out_dir}"
    )


if __name__ == "__main__":
    run_main(main)
