"""How much the int8 backend's batching moves a served model's accuracy.

    python bench/int8_batching.py MODEL_DIR [MODEL_DIR ...] [--test data/fewshot/test.parquet]

ONNX Runtime's dynamic int8 quantisation scales each batch's activations with one number, so a text's
int8 embedding depends on the texts that share its batch. For each saved model (as the pipeline serves it,
``onnx-int8``), the head held fixed, the test texts are embedded in batches of the backend's size
formed five ways: by token count (the library's order), by characters (Sentence-Transformers' order) and
three random orders; and once by the torch body in fp32 (the accuracy the int8 model approximates). Prints
a Markdown table: accuracy per batching, the spread of the int8 ones, and each against fp32, in points.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fewshot.arguments import embed_batch_size
from fewshot.backends import ONNX_INT8
from fewshot.embeddings import encode, length_batches
from fewshot.io import read_table
from fewshot.model import FewShotModel


def int8_embeddings(body, texts: list[str], batches: list[np.ndarray]) -> np.ndarray:
    encodings = body._tokenize(texts)
    out = np.zeros((len(texts), body.get_embedding_dimension()), dtype=np.float32)
    for rows in batches:
        out[rows] = body._batch([encodings[i] for i in rows])
    return out


def orders(body, texts: list[str], size: int) -> dict[str, list[np.ndarray]]:
    chunks = lambda order: [order[i : i + size] for i in range(0, len(order), size)]  # noqa: E731
    ways = {
        "token count (the library's)": length_batches([len(e.ids) for e in body._tokenize(texts)], size),
        "characters": chunks(np.argsort([-len(t) for t in texts], kind="stable")),
    }
    for seed in range(3):
        ways[f"random (seed {seed})"] = chunks(np.random.default_rng(seed).permutation(len(texts)))
    return ways


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--test", type=Path, default=Path("data/fewshot/test.parquet"))
    args = ap.parse_args()
    test = read_table(args.test)
    texts, truth = [str(t) for t in test["text"]], np.asarray([str(v) for v in test["label"]])
    size = embed_batch_size(ONNX_INT8)
    print(f"{len(texts)} test texts ({args.test}); int8 batches of {size}\n")
    rows = []
    for path in args.models:
        served = FewShotModel.load(path, backend=ONNX_INT8)

        def accuracy(embeddings: np.ndarray, model=served) -> float:
            return float((model.labels_from_proba(model.proba_from_embeddings(embeddings)) == truth).mean())

        fp32 = accuracy(encode(FewShotModel.load(path, backend="torch").body, texts, show_progress_bar=False))
        ways = orders(served.body, texts, size)
        scores = {way: accuracy(int8_embeddings(served.body, texts, batches)) for way, batches in ways.items()}
        rows.append((path.name, fp32, scores))
    ways = list(rows[0][2])
    header = " | ".join(f"int8, {w}" for w in ways)
    print(f"| model | fp32 (torch) | {header} | int8 spread (points) | int8 mean − fp32 (points) |")
    print("|" + "---|" * (len(ways) + 4))
    for name, fp32, scores in rows:
        values = list(scores.values())
        cells = " | ".join(f"{v:.4f}" for v in values)
        print(
            f"| {name} | {fp32:.4f} | {cells} | {100 * (max(values) - min(values)):.2f} "
            f"| {100 * (np.mean(values) - fp32):+.2f} |"
        )


if __name__ == "__main__":
    main()
