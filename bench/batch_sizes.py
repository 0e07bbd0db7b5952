"""Texts per embedding batch, per backend: encode speed at each batch size, side by side in one run.

    python bench/batch_sizes.py                          # both default bodies, 600 AG News test texts
    python bench/batch_sizes.py --models sentence-transformers/all-MiniLM-L6-v2 --sizes 8 16 32 64 --rounds 3
    python bench/batch_sizes.py --padding-only --n 7600  # the padding share per sort order (tokenizers only)

For each body, the same N AG News test texts (shuffled with seed 0) are embedded by torch fp32 ``encode``,
torch under bf16 autocast (how distillation embeds the unlabeled texts with the teacher), ONNX Runtime fp32
and ONNX Runtime int8 (the library's export and quantisation), at each batch size; the
sizes take turns within a round, so a change in the machine's load falls on all of them. Prints, per body
and backend, texts/s per batch size (the mean over the rounds), the speed relative to batch 64, and for int8
the mean cosine to torch fp32 (int8 quantises each batch's activations with one scale, so its embeddings
depend on the batching). The default batch size per backend (``fewshot.arguments.EMBED_BATCH_SIZES``) is
the fastest here. The pipeline batches texts by token count (so does this), and the embed stages
embed the 7,600 test texts: run ``bench/full_run.py`` for the effect on a whole run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from backends import DATASETS, MODELS, cosines  # bench/backends.py: the backends' benchmark

HERE = Path(__file__).resolve().parent
TORCH_BF16 = "torch bf16"  # the torch body under bf16 autocast (its default batch: torch's)
sys.path.insert(0, str(HERE.parent / "src"))


def print_padding(models: list[str], texts: list[str], sizes: list[int]) -> None:
    """The share of each batch that is padding, batched by token count (the library) or by characters
    (Sentence-Transformers' order)."""
    from fewshot.embeddings import length_batches, token_lengths
    from fewshot.sources import load_body

    print(f"{len(texts)} AG News test texts: padding share of the embedded tokens\n")
    print("| body | sorted by | " + " | ".join(f"batch {s}" for s in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for ref in models:
        tokens = np.asarray(token_lengths(load_body(ref), texts))
        for name, key in (("token count", tokens), ("characters", [len(t) for t in texts])):
            cells = []
            for size in sizes:
                padded = sum(len(rows) * tokens[rows].max() for rows in length_batches(key, size))
                cells.append(f"{100 * (1 - tokens.sum() / padded):.1f} %")
            print(f"| {ref} | {name} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-root", type=Path, default=DATASETS)
    parser.add_argument(
        "--padding-only", action="store_true", help="print the padding share of the batches per sort order, no timing"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import pandas as pd
    import torch

    from fewshot.arguments import EMBED_BATCH_SIZES
    from fewshot.backends import ONNX, ONNX_INT8, OnnxBody, export_body
    from fewshot.embeddings import encode
    from fewshot.sources import load_body
    from fewshot.training import autocast

    test = pd.read_parquet(args.data_root / "ag_news" / "test.parquet")
    texts = test["text"].sample(frac=1, random_state=0).astype(str).head(args.n).tolist()
    if args.padding_only:
        print_padding(args.models, texts, args.sizes)
        return
    load_before = os.getloadavg()
    tables = []
    for ref in args.models:
        body = load_body(ref)
        with tempfile.TemporaryDirectory() as tmp:
            export = export_body(body, Path(tmp) / "onnx", [ONNX, ONNX_INT8])
            bodies = {
                "torch": body,
                TORCH_BF16: body,
                ONNX: OnnxBody(export, ONNX),
                ONNX_INT8: OnnxBody(export, ONNX_INT8),
            }
            reference = encode(body, texts, batch_size=64)
            seconds = {(b, s): 0.0 for b in bodies for s in args.sizes}
            close = {}
            for _ in range(args.rounds):
                for backend, runner in bodies.items():
                    with autocast("bf16" if backend == TORCH_BF16 else "fp32"):
                        encode(runner, texts[:16], batch_size=16)  # warm up
                        for size in args.sizes:
                            start = time.perf_counter()
                            emb = encode(runner, texts, batch_size=size)
                            seconds[backend, size] += (time.perf_counter() - start) / args.rounds
                            close[backend, size] = float(cosines(emb.astype(np.float64), reference).mean())
        tables.append((ref, bodies, seconds, close))
    load_after = os.getloadavg()

    print(
        f"{len(texts)} AG News test texts, {args.rounds} rounds, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {os.cpu_count()} CPUs; load average (1, 5, 15 min) "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, {' '.join(f'{x:.2f}' for x in load_after)} after\n"
    )
    for ref, bodies, seconds, close in tables:
        print(f"{ref}:\n")
        print("| backend | " + " | ".join(f"batch {s}: texts/s (vs 64), cosine" for s in args.sizes) + " | default |")
        print("|---|" + "---|" * (len(args.sizes) + 1))
        for backend in bodies:
            base = seconds.get((backend, 64))
            cells = []
            for size in args.sizes:
                rate = len(texts) / seconds[backend, size]
                ratio = f" ({base / seconds[backend, size]:.2f})" if base else ""
                cells.append(f"{rate:.1f}{ratio}, {close[backend, size]:.4f}")
            print(f"| {backend} | " + " | ".join(cells) + f" | {EMBED_BATCH_SIZES[backend.split()[0]]} |")
        print()


if __name__ == "__main__":
    main()
