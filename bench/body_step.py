"""Body training speed: encode each distinct text of a batch once (fewshot) vs both sides of every
pair (setfit 1.2.0's way: sentence-transformers' loss, one forward per column), same run, same data.

    python bench/body_step.py [--steps 10] [--model sentence-transformers/all-MiniLM-L6-v2]

Prints seconds per step of each and the ratio. Same few-shot draw as the default pipeline
(AG News, 16 per class, seed 42), same pairs, batch 64.
"""

from __future__ import annotations

import argparse
import time

import torch

from fewshot.data import load_labeled, sample
from fewshot.losses import DedupPairLoss, make_loss
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body


def seconds_per_step(model, loss, pairs, steps: int, batch_size: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    model.train()
    times = []
    for step in range(steps + 1):  # the first step warms up and is not counted
        batch = pairs.iloc[step * batch_size : (step + 1) * batch_size]
        features = [model.tokenize(list(batch.sentence_1)), model.tokenize(list(batch.sentence_2))]
        labels = torch.tensor(batch.label.to_numpy(), dtype=torch.float32)
        start = time.perf_counter()
        optimizer.zero_grad()
        loss(features, labels).backward()
        optimizer.step()
        if step:
            times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="data/raw/train.parquet")
    args = ap.parse_args()
    torch.manual_seed(0)
    few = sample(load_labeled(args.data, "text", "label_text"), 16, seed=42)
    pairs = text_pairs(generate_pairs(few.label, seed=42), few.text)
    results = {}
    variants = {
        "per-pair (setfit)": lambda w: w.loss,
        "dedup, one block": lambda w: DedupPairLoss(w.loss, chunk_size=10**9),
        "dedup, sorted chunks": lambda w: w,  # fewshot's default
    }
    for name, pick in variants.items():
        model = load_body(args.model)
        loss = pick(make_loss(model))
        results[name] = seconds_per_step(model, loss, pairs, args.steps, args.batch_size)
        print(f"{name:>22}: {results[name]:.2f} s/step")
    base = results["per-pair (setfit)"]
    for name, value in results.items():
        print(f"{name:>22}: {value / base:.2f} of per-pair's time ({base / value:.2f}x faster)")


if __name__ == "__main__":
    main()
