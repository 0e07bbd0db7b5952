"""Heads on SST-2: test accuracy of the logistic, differentiable and end-to-end heads on one tuned body.

    python bench/heads_sst2.py [--num-samples 8] [--seeds 0 1 2] [--model sentence-transformers/all-MiniLM-L6-v2]

Per seed: 8 texts per class (setfit's draw), oversampled pairs, one body epoch (batch 16, lr 2e-5), then
each head on that same body with setfit's head-phase defaults (16 epochs, batch 2, head lr 1e-2, l2 1e-2;
end to end: body lr 1e-5), scored on the full 1,821-text test split. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from fewshot.arguments import HeadArguments
from fewshot.data import load_labeled, sample
from fewshot.heads import make_head
from fewshot.model import FewShotModel
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import train_body

DATA = str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sst2")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--num-samples", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    args = ap.parse_args()
    train = load_labeled(f"{DATA}/train.parquet", "text", "label_text")
    test = load_labeled(f"{DATA}/test.parquet", "text", "label_text")
    heads = {
        "logistic": HeadArguments(),
        "differentiable": HeadArguments(type="differentiable"),  # setfit's defaults for the second phase
        "end-to-end": HeadArguments(type="differentiable", end_to_end=True),
    }
    rows = {name: [] for name in heads}
    for seed in args.seeds:
        few = sample(train, args.num_samples, seed)
        pairs = text_pairs(generate_pairs(few["label"], seed=seed), few["text"])
        tuned = load_body(args.model)
        train_body(tuned, pairs, batching="pairs", max_steps=-1, batch_size=16, body_learning_rate=2e-5, seed=seed)
        for name, args in heads.items():
            start = time.perf_counter()
            body = copy.deepcopy(tuned)
            head = make_head(replace(args, seed=seed))
            model = FewShotModel.fit(body, few["text"], few["label"], head)
            accuracy = float((model.predict(test["text"]) == test["label"].to_numpy()).mean())
            rows[name].append(accuracy)
            print(f"seed {seed} {name}: accuracy {accuracy:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n| head | {' | '.join(f'seed {s}' for s in args.seeds)} | mean ± std |")
    print(f"|---|{'---|' * len(args.seeds)}---|")
    for name, values in rows.items():
        cells = " | ".join(f"{v:.4f}" for v in values)
        print(f"| {name} | {cells} | {np.mean(values):.4f} ± {np.std(values):.4f} |")


if __name__ == "__main__":
    main()
