"""Inference backends measured against torch fp32 encode, in one run: speed and closeness of the embeddings.

    nice -n 10 python bench/backends.py [--models all-MiniLM-L6-v2,all-mpnet-base-v2] [--n 600]

For each body, the same N AG News test texts (shuffled with seed 0), batch 64, embedded by:

- torch fp32: ``body.encode`` (the floor); measured first and last, averaged;
- torch bf16: the same under ``torch.autocast("cpu", torch.bfloat16)``;
- onnx fp32: the body exported by ``fewshot.backends.export_body``, run by ONNX Runtime (``OnnxBody``);
- onnx int8 variants: that export quantised by ``onnxruntime.quantization.quantize_dynamic`` with the
  op types (MatMul only, or ONNX Runtime's default set), per-channel scales and reduce_range named.

Prints a Markdown table per body: texts/s, speed relative to torch fp32, mean and minimum cosine of each
text's embedding to its torch fp32 embedding, and the machine's load average before and after.

With ``--accuracy-n M`` (default 2000), the accuracy each backend gives (torch fp32, torch bf16, and
the library's int8 setting, ``fewshot.backends.QUANTIZE``): a logistic head (the default head) on 16
AG News train texts per class, scored on M other test texts, fitted either on the backend's own
embeddings of the train texts (as ``fit_head`` fits the student's head) or on the fp32 ones (as the
teacher's and distilled student's heads are fitted, inside their training stages). The bodies are the
untrained base models: the delta is the backend's, not the training's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2")
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"  # beside the checkout
INT8_VARIANTS = {  # name: (op types, per_channel, reduce_range)
    "int8 MatMul per-channel": (("MatMul",), True, False),
    "int8 MatMul per-tensor": (("MatMul",), False, False),
    "int8 MatMul per-channel reduce_range": (("MatMul",), True, True),
    "int8 default ops per-tensor": (None, False, False),
}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def accuracy(embed: dict, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Accuracy per backend (``embed``: name -> texts -> embeddings), head on its own and on fp32 embeddings."""
    from fewshot.heads import Examples, LogisticHead

    labels = sorted(train.label_text.unique())
    y = train.label_text.map(labels.index).to_numpy()
    truth = test.label_text.map(labels.index).to_numpy()
    fp32_train = embed["torch fp32"](train.text.tolist())
    out = {}
    for name, fn in embed.items():
        own_train, x = fn(train.text.tolist()), fn(test.text.tolist())
        own = LogisticHead().fit(Examples([], y, len(labels), embeddings=own_train))
        fp32 = LogisticHead().fit(Examples([], y, len(labels), embeddings=fp32_train))
        out[name] = {
            "own_head": float((own.predict_proba(x).argmax(1) == truth).mean()),
            "fp32_head": float((fp32.predict_proba(x).argmax(1) == truth).mean()),
        }
    return out


def bench_body(ref: str, texts: list[str], batch: int, tmp: Path, labelled=None) -> list[dict]:
    import torch

    from fewshot.backends import MODEL_FILES, ONNX, ONNX_CONFIG, ONNX_INT8, TOKENIZER, OnnxBody, export_body, quantize
    from fewshot.sources import load_body

    body = load_body(ref)
    encode = lambda: body.encode(texts, batch_size=batch, show_progress_bar=False, convert_to_numpy=True)
    with torch.inference_mode():
        body.encode(texts[:batch], batch_size=batch, show_progress_bar=False)  # warm up
        first, floor = timed(encode)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            body.encode(texts[:batch], batch_size=batch, show_progress_bar=False)

        def bf16():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return encode()

        rows = [("torch bf16 autocast", *timed(bf16))]
    export_seconds, _ = timed(lambda: export_body(body, tmp / "onnx", [ONNX]))
    runs = [("onnx fp32", tmp / "onnx", ONNX)]
    for name, (ops, per_channel, reduce_range) in INT8_VARIANTS.items():
        folder = tmp / name.replace(" ", "_")
        folder.mkdir()
        for file in (ONNX_CONFIG, TOKENIZER):
            shutil.copy(tmp / "onnx" / file, folder / file)
        quantize(tmp / "onnx" / MODEL_FILES[ONNX], folder / MODEL_FILES[ONNX_INT8], ops, per_channel, reduce_range)
        runs.append((name, folder, ONNX_INT8))
    for name, folder, backend in runs:
        onnx_body = OnnxBody(folder, backend)
        onnx_body.encode(texts[:batch], batch)  # warm up
        rows.append((name, *timed(lambda: onnx_body.encode(texts, batch_size=batch))))  # noqa: B023
        rows[-1] += ((folder / MODEL_FILES[backend]).stat().st_size,)
    with torch.inference_mode():
        last, _ = timed(encode)
    scores = {}
    if labelled is not None:
        int8 = OnnxBody(runs[1][1], ONNX_INT8)  # the library's setting: MatMul, per channel

        def with_torch(many, autocast=False):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                return body.encode(many, batch_size=batch, show_progress_bar=False, convert_to_numpy=True)

        scores = accuracy(
            {
                "torch fp32": with_torch,
                "torch bf16 autocast": lambda many: with_torch(many, True),
                "int8 MatMul per-channel": lambda many: int8.encode(many, batch_size=batch),
            },
            *labelled,
        )
    base = (first + last) / 2
    out = [
        {"path": "torch fp32", "seconds": base, "speed": 1.0, "cos_mean": 1.0, "cos_min": 1.0, "runs": [first, last]}
    ]
    for name, seconds, emb, *size in rows:
        cos = cosines(np.asarray(emb, dtype=np.float64), np.asarray(floor, dtype=np.float64))
        out.append(
            {
                "path": name,
                "seconds": seconds,
                "speed": base / seconds,
                "cos_mean": float(cos.mean()),
                "cos_min": float(cos.min()),
                "mb": round(size[0] / 2**20) if size else None,
            }
        )
    out[0]["export_seconds"] = export_seconds
    for row in out:
        row.update(scores.get(row["path"], {}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--accuracy-n", type=int, default=2000, help="test texts scored per backend (0: none)")
    ap.add_argument("--test", default=str(DATASETS / "ag_news" / "test.parquet"))
    ap.add_argument("--train", default=str(DATASETS / "ag_news" / "train.parquet"))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnxruntime
    import torch

    shuffled = pd.read_parquet(args.test).sample(frac=1, random_state=0)
    texts = shuffled.text.head(args.n).tolist()
    labelled = None
    if args.accuracy_n:
        train = pd.read_parquet(args.train).groupby("label_text").sample(16, random_state=0)
        labelled = (train, shuffled.iloc[args.n : args.n + args.accuracy_n])
    load_before = os.getloadavg()
    results = {}
    for ref in args.models.split(","):
        with tempfile.TemporaryDirectory(prefix="backends_") as tmp:
            results[ref] = bench_body(ref, texts, args.batch_size, Path(tmp), labelled)
    load_after = os.getloadavg()
    print(
        f"{len(texts)} AG News test texts, batch {args.batch_size}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}, {os.cpu_count()} CPUs; "
        f"load average (1, 5, 15 min) {' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after\n"
    )
    for ref, rows in results.items():
        runs = rows[0]["runs"]
        print(
            f"{ref}: torch fp32 {runs[0]:.1f} s first, {runs[1]:.1f} s last; "
            f"ONNX export {rows[0]['export_seconds']:.0f} s\n"
        )
        print(
            "| backend | texts/s | speed vs torch fp32 | mean cosine to fp32 | min cosine | model MB "
            "| accuracy, head on own embeddings | accuracy, head on fp32 embeddings |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            mb = r.get("mb") or ""
            acc = [f"{r[k]:.4f}" if k in r else "" for k in ("own_head", "fp32_head")]
            print(
                f"| {r['path']} | {len(texts) / r['seconds']:.0f} | {r['speed']:.2f} | {r['cos_mean']:.4f} | "
                f"{r['cos_min']:.4f} | {mb} | {acc[0]} | {acc[1]} |"
            )
        print()
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [load_before, load_after], "results": results}, indent=2))


if __name__ == "__main__":
    main()
