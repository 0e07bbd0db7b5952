"""Mixed precision on this machine: fp32 vs bf16 autocast for grouped body training and for embedding.

    python bench/mixed_precision.py [--model sentence-transformers/all-mpnet-base-v2] [--steps 3]

The default pipeline's few-shot draw (AG News, 16 per class, seed 42) and pairs. For each precision, a
fresh copy of the body trains ``--steps`` grouped steps (``train_body``, the pipeline's call, teacher
arguments) and then embeds ``--probe`` other train texts in fp32; then the untrained body embeds the
same texts in fp32 and under bf16 autocast. Prints seconds per step and per text, the ratios, and the
mean cosine between the fp32 and bf16 results (1.0: the same body). Same run, same data, in turn.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np

from fewshot.arguments import TeacherArguments
from fewshot.data import load_labeled, sample
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import autocast, train_body


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sentence-transformers/all-mpnet-base-v2")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--probe", type=int, default=300)
    ap.add_argument("--data", default="data/raw/train.parquet")
    args = ap.parse_args()
    labeled = load_labeled(args.data, "text", "label_text")
    few = sample(labeled, 16, seed=42)
    pairs = text_pairs(generate_pairs(few.label, seed=42), few.text)
    probe = [t for t in labeled["text"] if t not in set(few["text"])][: args.probe]
    print(f"{args.model}: {len(few)} few-shot texts, {args.steps} grouped steps; load average {os.getloadavg()[0]:.1f}")

    trained, per_step = {}, {}
    for precision in ("fp32", "bf16"):
        body = load_body(args.model)
        train_args = replace(TeacherArguments(model=args.model), max_steps=args.steps, mixed_precision=precision)
        start = time.perf_counter()
        result = train_body(body, pairs, train_args, labeled=few)
        per_step[precision] = (time.perf_counter() - start) / result.steps
        trained[precision] = body.encode(probe, batch_size=64)
        print(f"train {precision}: {per_step[precision]:.2f} s/step")
    body = load_body(args.model)
    embedded, per_text = {}, {}
    for precision in ("fp32", "bf16"):
        start = time.perf_counter()
        with autocast(precision):
            embedded[precision] = body.encode(probe, batch_size=64)
        per_text[precision] = (time.perf_counter() - start) / len(probe)
        print(f"encode {precision}: {1 / per_text[precision]:.1f} texts/s")
    print(
        f"training: bf16 {per_step['fp32'] / per_step['bf16']:.2f}x fp32's speed, trained bodies' cosine "
        f"{cosine(trained['fp32'], trained['bf16']):.5f}; encoding: bf16 {per_text['fp32'] / per_text['bf16']:.2f}x, "
        f"cosine {cosine(embedded['fp32'], embedded['bf16']):.5f}"
    )


if __name__ == "__main__":
    main()
