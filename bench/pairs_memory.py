"""Peak memory of pair generation, each case in a fresh process (peak RSS from getrusage).

    python bench/pairs_memory.py                 # fewshot's cases
    python bench/pairs_memory.py --setfit        # also setfit 1.2.0's ContrastiveDataset (capped, see --cap-gb)

Cases: 64 texts per class x 77 classes (4,928 texts): ``generate_pairs`` with setfit's default
``oversampling`` (23,969,792 pairs: every one of the 11,984,896 negative candidates once, the positives
cycled to as many) and with ``num_iterations=20`` (197,120 pairs); the oversampling pairs on to what body
training holds (``text_pairs``, the trainer's dataset, the grouped batch sampler's text codes and its first
epoch's groups); distillation pairs of 10,000 unlabelled texts (``fewshot.distill.teacher_pairs`` on random
384-d embeddings) for the default 8,000 pairs and for 1,000,000. Each case reports the peak RSS of its process
and the baseline (after imports, before the work).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

N_CLASSES, PER_CLASS, N_UNLABELED = 77, 64, 10_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case(name: str) -> dict:
    import numpy as np

    labels = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    texts = [f"text number {i} of the few-shot set" for i in range(len(labels))]
    if name.startswith("setfit"):
        from setfit.sampler import ContrastiveDataset
    from fewshot.distill import teacher_pairs
    from fewshot.pairs import generate_pairs

    baseline = _rss_mb()
    start = time.perf_counter()
    if name == "fewshot oversampling":
        n = len(generate_pairs(labels, sampling_strategy="oversampling", seed=0))
    elif name == "fewshot oversampling, to the trainer's groups":
        from fewshot.batching import GroupBatchSampler, pairs_dataset
        from fewshot.pairs import text_pairs

        pairs = text_pairs(generate_pairs(labels, sampling_strategy="oversampling", seed=0), texts)
        dataset = pairs_dataset(pairs)
        assert sum(1 for _ in GroupBatchSampler(dataset, batch_size=64, drop_last=False, seed=0)) == N_CLASSES
        n = len(dataset)
    elif name == "fewshot num_iterations=20":
        n = len(generate_pairs(labels, num_iterations=20, seed=0))
    elif name.startswith("fewshot distill"):
        count = int(name.rsplit(" ", 1)[1])
        emb = np.random.default_rng(0).standard_normal((N_UNLABELED, 384)).astype(np.float32)
        unlabeled = [f"unlabelled text {i}" for i in range(N_UNLABELED)]
        n = len(teacher_pairs(emb, unlabeled, count, seed=0))
    elif name == "setfit oversampling":
        n = sum(1 for _ in ContrastiveDataset(texts, list(labels), multilabel=False, sampling_strategy="oversampling"))
    elif name == "setfit num_iterations=20":
        n = sum(1 for _ in ContrastiveDataset(texts, list(labels), multilabel=False, num_iterations=20))
    else:
        raise SystemExit(f"unknown case {name}")
    return {
        "case": name,
        "pairs": n,
        "seconds": round(time.perf_counter() - start, 1),
        "baseline_mb": round(baseline),
        "peak_rss_mb": round(_rss_mb()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--cap-gb", type=float, default=12.0, help="address-space cap for each case (setfit's may hit it)")
    ap.add_argument("--setfit", action="store_true")
    args = ap.parse_args()
    if args.case:
        cap = int(args.cap_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        print(json.dumps(case(args.case)), flush=True)
        return
    cases = ["fewshot oversampling", "fewshot oversampling, to the trainer's groups", "fewshot num_iterations=20"]
    cases += ["fewshot distill 8000", "fewshot distill 1000000"]
    if args.setfit:
        cases += ["setfit num_iterations=20", "setfit oversampling"]
    print("| case | pairs | seconds | baseline RSS MB | peak RSS MB |\n|---|---|---|---|---|")
    for name in cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", name, "--cap-gb", str(args.cap_gb)], capture_output=True, text=True
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode or not lines:
            err = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"| {name} | - | - | - | failed: {err[:120]} |", flush=True)
            continue
        r = json.loads(lines[-1])
        print(
            f"| {r['case']} | {r['pairs']:,} | {r['seconds']} | {r['baseline_mb']} | {r['peak_rss_mb']} |", flush=True
        )


if __name__ == "__main__":
    main()
