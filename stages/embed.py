"""embed: embed the few-shot train set and the test set once per body, for fit_head and evaluate to reuse.

The body runs on ``evaluate.backend``; an onnx backend exports it first, and the export (the one that
embedded) is kept in OUT_DIR/onnx/ for evaluate to put into the served model directory.

usage: python stages/embed.py BODY_DIR FEWSHOT_DIR OUT_DIR SPEED_JSON
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from fewshot.arguments import embed_batch_size
from fewshot.backends import TORCH, OnnxBody, export_body
from fewshot.embeddings import EXPORT, body_fingerprint, encode, write_embeddings
from fewshot.errors import run_main
from fewshot.io import read_table, write_json
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params
from fewshot.sources import load_body


def main() -> None:
    body_dir, fewshot_dir, out_dir, speed_path = sys.argv[1:5]
    params = load_params().evaluate
    train = read_table(Path(fewshot_dir) / "train.parquet")
    test = read_table(Path(fewshot_dir) / "test.parquet")

    with tempfile.TemporaryDirectory() as work:
        body = load_body(body_dir, field=body_dir)
        if params.backend != TORCH:
            export = export_body(body, Path(work) / EXPORT, [params.backend])
            body = OnnxBody(export, params.backend)
        train_embeddings = encode(body, train["text"], batch_size=params.batch_size)
        start = time.perf_counter()
        test_embeddings = encode(body, test["text"], batch_size=params.batch_size)
        seconds = time.perf_counter() - start
        sets = {"train": (list(train["text"]), train_embeddings), "test": (list(test["text"]), test_embeddings)}
        keep = None if params.backend == TORCH else lambda tmp: shutil.copytree(export, tmp / EXPORT)
        write_embeddings(out_dir, body_fingerprint(body_dir), sets, params.backend, keep)
    speed = {"n": len(test), "seconds": round(seconds, 3), "texts_per_s": round(len(test) / seconds, 1)}
    write_json(speed, speed_path)

    batch_size = embed_batch_size(params.backend, params.batch_size)
    logged = {"evaluate.batch_size": batch_size, "evaluate.backend": params.backend}
    with tracking.stage_run(f"embed@{Path(out_dir).name}", logged) as run:
        run.log_metrics({"encode_seconds": seconds, "encode_texts_per_s": speed["texts_per_s"]})
    print(
        f"embed: {len(train)} train and {len(test)} test texts on {params.backend} "
        f"({speed['texts_per_s']} texts/s) -> {out_dir}"
    )


if __name__ == "__main__":
    run_main(main)
