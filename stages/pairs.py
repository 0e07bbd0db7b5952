"""pairs: contrastive text pairs (same class 1.0, different 0.0) from the few-shot train set.

usage: python stages/pairs.py TRAIN_PARQUET OUT_PARQUET
"""

import sys

from fewshot.errors import run_main
from fewshot.io import read_table, write_parquet
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params


def main() -> None:
    train_path, out_path = sys.argv[1:3]
    params = load_params()
    few_shot = read_table(train_path)
    pairs = generate_pairs(few_shot["label"], params.pairs.arguments(params.seed))
    write_parquet(text_pairs(pairs, few_shot["text"]), out_path)

    n_positive = int((pairs["label"] == 1.0).sum())
    with tracking.stage_run("pairs", {"seed": params.seed, "pairs": params.pairs.model_dump()}) as run:
        run.log_metrics({"n_pairs": len(pairs), "n_positive": n_positive, "n_negative": len(pairs) - n_positive})
    print(f"pairs: {len(pairs)} pairs ({n_positive} positive) from {len(few_shot)} texts -> {out_path}")


if __name__ == "__main__":
    run_main(main)
