"""Which ops dominate a body training step (torch.profiler, CPU), in pairs and in groups mode.

    python bench/profile_step.py [--steps 2]

The default pipeline's draw (AG News, 16 per class, seed 42), all-MiniLM-L6-v2, batch 64: one 64-pair batch
(pairs mode) and one group of all 64 texts with all their pairs (groups mode), the fewshot loss
(each distinct text embedded once, length-sorted chunks). Prints the top ops by self CPU time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from fewshot.data import load_labeled, sample
from fewshot.losses import make_loss
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"  # beside the checkout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--data", default=str(DATASETS / "ag_news" / "train.parquet"))
    args = ap.parse_args()
    torch.manual_seed(0)
    few = sample(load_labeled(args.data, "text", "label"), 16, seed=42)
    pairs = text_pairs(generate_pairs(few.label, seed=42), few.text)
    for mode, batch in (("pairs", pairs.iloc[:64]), ("groups", pairs)):
        model = load_body("sentence-transformers/all-MiniLM-L6-v2")
        loss = make_loss(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        model.train()
        features = [model.tokenize(list(batch.sentence_1)), model.tokenize(list(batch.sentence_2))]
        labels = torch.tensor(batch.label.to_numpy(), dtype=torch.float32)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                optimizer.zero_grad()
                loss(features, labels).backward()
                optimizer.step()
        print(f"== {mode}: {len(batch)} pairs per step, {args.steps} steps")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
