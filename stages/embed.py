"""embed: embed the few-shot train set and the test set once per body, for fit_head and evaluate to reuse.

usage: python stages/embed.py BODY_DIR FEWSHOT_DIR OUT_DIR SPEED_JSON
"""

import sys
import time
from pathlib import Path

from fewshot.embeddings import body_fingerprint, encode, write_embeddings
from fewshot.errors import run_main
from fewshot.io import read_table, write_json
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params
from fewshot.sources import load_body


def main() -> None:
    body_dir, fewshot_dir, out_dir, speed_path = sys.argv[1:5]
    batch_size = load_params().evaluate.batch_size
    body = load_body(body_dir, field=body_dir)
    train = read_table(Path(fewshot_dir) / "train.parquet")
    test = read_table(Path(fewshot_dir) / "test.parquet")

    train_embeddings = encode(body, train["text"], batch_size=batch_size)
    start = time.perf_counter()
    test_embeddings = encode(body, test["text"], batch_size=batch_size)
    seconds = time.perf_counter() - start
    sets = {"train": (list(train["text"]), train_embeddings), "test": (list(test["text"]), test_embeddings)}
    write_embeddings(out_dir, body_fingerprint(body_dir), sets)
    speed = {"n": len(test), "seconds": round(seconds, 3), "texts_per_s": round(len(test) / seconds, 1)}
    write_json(speed, speed_path)

    with tracking.stage_run(f"embed@{Path(out_dir).name}", {"evaluate.batch_size": batch_size}) as run:
        run.log_metrics({"encode_seconds": seconds, "encode_texts_per_s": speed["texts_per_s"]})
    print(f"embed: {len(train)} train and {len(test)} test texts ({speed['texts_per_s']} texts/s) -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
