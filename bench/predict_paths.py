"""Prediction throughput through each way of using a model, against raw SentenceTransformer.encode.

    python bench/predict_paths.py [--model DIR] [--n 2000] [--paths raw,python,cli,rest,spark]
                                  [--backends torch,onnx,onnx-int8]

Without --model, a model is built in a temp dir: all-MiniLM-L6-v2 (untrained; throughput does not
depend on training) + a logistic head fitted on 64 AG News train texts, serving with the default backend
(fewshot.backends). Texts: the first N of the AG News test split, shuffled with seed 0. Each path labels
the same N texts with batch size 64:

- raw:    the torch body's encode, fp32 (the floor: tokenise + transformer, no head)
- python <backend>: FewShotModel.load(DIR, backend=...).predict, for each of --backends (a copy of the
          model set to serve with it: the onnx ones export the body); accuracy on the N texts' true labels
          and its difference to torch's, in points
- python: FewShotModel.predict on the backend the model records (what the paths below serve)

raw and the python paths run in --repeats interleaved rounds, and each one's fastest round counts: on a
shared machine the load changes during a run.
- cli:    `fewshot predict --model DIR --input texts.parquet --output out.parquet`, the whole process
          (start, imports, model load, read, predict, write)
- rest:   `mlflow models serve` (1 worker) on the pyfunc model; POSTs of 100 texts, one after another
          (the server's start and first load are not timed)
- spark:  mlflow.pyfunc.spark_udf on a local[2] DataFrame of N rows in 2 partitions, one action
          (the session's start is not timed; the UDF's model load in each worker is)

Every path's labels are checked against the Python API's on the served backend. Prints a Markdown table
(texts/s, ratio to raw, accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

BIN = Path(sys.executable).parent
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"  # beside the checkout


def build_model(out: Path, train_path: str) -> Path:
    from fewshot import FewShotModel, load_body
    from fewshot.arguments import DEFAULT_BACKEND

    train = pd.read_parquet(train_path).groupby("label_text").sample(16, random_state=0)
    body = load_body("sentence-transformers/all-MiniLM-L6-v2")
    FewShotModel.fit(
        body, train.text, train.label_text, info={"base_model": "sentence-transformers/all-MiniLM-L6-v2"}
    ).save(out, backend=DEFAULT_BACKEND)
    return out


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_raw(model, texts, batch):
    return timed(lambda: model.body.encode(texts, batch_size=batch, show_progress_bar=False))[0]


def run_cli(model_dir: Path, texts, batch, tmp: Path):
    pd.DataFrame({"text": texts}).to_parquet(tmp / "in.parquet", index=False)
    cmd = [
        str(BIN / "fewshot"),
        "predict",
        "--model",
        str(model_dir),
        "--input",
        str(tmp / "in.parquet"),
        "--output",
        str(tmp / "out.parquet"),
        "--batch-size",
        str(batch),
    ]
    seconds, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return seconds, pd.read_parquet(tmp / "out.parquet")["label"].tolist()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_rest(pyfunc_dir: Path, texts, batch, tmp: Path, chunk: int = 100):
    port = _port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(pyfunc_dir),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def post(part):
        body = json.dumps({"dataframe_records": [{"text": t} for t in part], "params": {"batch_size": batch}}).encode()
        req = urllib.request.Request(f"{base}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return [row["label"] for row in json.loads(r.read())["predictions"]]

    try:
        deadline = time.monotonic() + 600
        while True:
            if server.poll() is not None:
                raise SystemExit((tmp / "serve.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=5):
                    break
            except OSError as err:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start") from err
                time.sleep(0.5)
        post(texts[:8])  # first request loads lazily in some versions: not timed
        return timed(lambda: [label for i in range(0, len(texts), chunk) for label in post(texts[i : i + chunk])])
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
        log.close()


def run_spark(pyfunc_dir: Path, texts):
    import mlflow.pyfunc
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    try:
        frame = spark.createDataFrame(pd.DataFrame({"id": range(len(texts)), "text": texts})).repartition(2).cache()
        frame.count()
        udf = mlflow.pyfunc.spark_udf(spark, str(pyfunc_dir), result_type="string", env_manager="local")
        return timed(lambda: frame.withColumn("label", udf("text")).orderBy("id").toPandas()["label"].tolist())
    finally:
        spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a saved fewshot model directory (default: build one, see above)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--paths", default="raw,python,cli,rest,spark")
    ap.add_argument("--backends", default="torch,onnx,onnx-int8", help="python paths, one per backend")
    ap.add_argument("--repeats", type=int, default=2, help="rounds of raw and the python paths")
    ap.add_argument("--test", default=str(DATASETS / "ag_news" / "test.parquet"))
    ap.add_argument("--train", default=str(DATASETS / "ag_news" / "train.parquet"))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from fewshot import FewShotModel
    from fewshot.formats import pyfunc
    from fewshot.model_dir import copy_with_backend

    paths = args.paths.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="predict_paths_"))
    try:
        model_dir = Path(args.model) if args.model else build_model(tmp / "model", args.train)
        test = pd.read_parquet(args.test).sample(frac=1, random_state=0).head(args.n)
        texts, truth = test.text.tolist(), test.label_text.tolist()
        torch_model = FewShotModel.load(model_dir, backend="torch")
        torch_model.predict(texts[:64])  # warm up
        seconds: dict[str, float] = {}
        models = {}
        for backend in args.backends.split(","):
            copy = copy_with_backend(model_dir, tmp / f"as-{backend}", backend)
            models[f"python {backend}"] = FewShotModel.load(copy)
        models["python"] = FewShotModel.load(model_dir)
        model = models["python"]
        for each in models.values():
            each.predict(texts[:64])  # warm up
        # raw and the python paths in interleaved rounds; each path's fastest round counts (a shared machine)
        runs: dict[str, list[float]] = {"raw": [], **{name: [] for name in models}}
        labels: dict[str, list] = {}
        for _ in range(args.repeats):
            runs["raw"].append(run_raw(torch_model, texts, args.batch_size))
            for name, each in models.items():
                took, labels[name] = timed(lambda: list(each.predict(texts, batch_size=args.batch_size)))  # noqa: B023
                runs[name].append(took)
        raw = runs["raw"]
        seconds.update({name: min(runs[name]) for name in models})
        accuracy = {name: float(np.mean(np.array(got) == np.array(truth))) for name, got in labels.items()}
        expected = labels["python"]
        checks = {"python": True}
        if "cli" in paths:
            seconds["cli"], got = run_cli(model_dir, texts, args.batch_size, tmp)
            checks["cli"] = got == expected
        if "rest" in paths or "spark" in paths:
            pyfunc_dir = pyfunc.save_pyfunc(model_dir, tmp / "pyfunc")
        if "rest" in paths:
            seconds["rest"], got = run_rest(pyfunc_dir, texts, args.batch_size, tmp)
            checks["rest"] = got == expected
        if "spark" in paths:
            seconds["spark"], got = run_spark(pyfunc_dir, texts)
            checks["spark"] = got == expected
        seconds = {"raw": min(raw), **seconds}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(texts)
    print(
        f"{n} AG News test texts, batch {args.batch_size}, torch threads {torch.get_num_threads()}, "
        f"raw encode rounds {', '.join(f'{r:.1f}' for r in raw)} s; served backend {model.backend}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    base = accuracy.get("python torch")
    print("| path | seconds | texts/s | relative to raw encode | accuracy | vs torch (points) | labels = Python API |")
    print("|---|---|---|---|---|---|---|")
    for name, s in seconds.items():
        same = "" if name == "raw" or name.startswith("python ") else ("yes" if checks.get(name) else "NO")
        acc = f"{accuracy[name]:.4f}" if name in accuracy else ""
        delta = f"{100 * (accuracy[name] - base):+.2f}" if name in accuracy and base is not None else ""
        print(f"| {name} | {s:.1f} | {n / s:.0f} | {seconds['raw'] / s:.2f} | {acc} | {delta} | {same} |")
    if args.json:
        out = {"n": n, "seconds": seconds, "raw_runs": raw, "same": checks, "accuracy": accuracy}
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
