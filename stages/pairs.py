"""pairs: contrastive pairs (same class 1.0, different 0.0) from the few-shot train set.

usage: python stages/pairs.py TRAIN_PARQUET OUT_PARQUET
"""

import sys

import pandas as pd

from fewshot import tracking
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.io import write_parquet
from fewshot.pairs import generate_pairs, with_texts


def main() -> None:
    train_path, out_path = sys.argv[1:3]
    params = load_params()
    cfg = params.pairs
    few_shot = pd.read_parquet(train_path)
    pairs = generate_pairs(
        few_shot["label"],
        sampling_strategy=cfg.sampling_strategy,
        num_iterations=cfg.num_iterations,
        max_pairs=cfg.max_pairs,
        include_self_pairs=cfg.include_self_pairs,
        seed=params.seed,
    )
    write_parquet(with_texts(pairs, few_shot["text"]), out_path)

    n_pos = int((pairs["label"] == 1.0).sum())
    with tracking.stage_run("pairs", {"seed": params.seed, "pairs": cfg.model_dump()}) as run:
        run.log_metrics({"n_pairs": len(pairs), "n_positive": n_pos, "n_negative": len(pairs) - n_pos})
    print(f"pairs: {len(pairs)} pairs ({n_pos} positive) from {len(few_shot)} texts -> {out_path}")


if __name__ == "__main__":
    run_main(main)
