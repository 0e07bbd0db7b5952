"""Bad input, as a new user gives it, to the real stage scripts, the `fewshot` command and model loading: each
case exits 2 with exactly one line on stderr that names the file or key (no traceback), and leaves the
workspace byte for byte as it was (no new, changed or deleted file, no hidden temp left behind)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML
from test_cli import _error
from test_stages import run_stage
from tiny import make_texts

PARAMS = {
    "seed": 1,
    "data": {"train": "data/raw/train.parquet", "test": "data/raw/test.parquet", "label_column": "label"},
    "sample": {"num_samples": 4, "unlabeled": 5},
}
MODEL = "models/distilled"


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_model_dir) -> Path:
    """A workspace: params.yaml, the raw data, a sampled few-shot set and a saved model."""
    root = tmp_path_factory.mktemp("template")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "fewshot").mkdir()
    make_texts(10, seed=1).to_parquet(root / "data" / "raw" / "train.parquet")
    make_texts(4, seed=2).to_parquet(root / "data" / "raw" / "test.parquet")
    make_texts(4, seed=1).to_parquet(root / "data" / "fewshot" / "train.parquet")
    make_texts(4, seed=2).to_parquet(root / "data" / "fewshot" / "test.parquet")
    make_texts(2, seed=4).to_csv(root / "texts.csv", index=False)
    shutil.copytree(tiny_model_dir, root / MODEL)
    YAML().dump(PARAMS, root / "params.yaml")
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``root``, hidden ones included."""
    out: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            out[str(Path(folder, name).relative_to(root))] = None
        for name in files:
            out[str(Path(folder, name).relative_to(root))] = Path(folder, name).read_bytes()
    return out


# --- how a case spoils the workspace ---------------------------------------------------------------
def params(**sections):
    def apply(ws: Path) -> None:
        data = json.loads(json.dumps(PARAMS))
        for section, values in sections.items():
            data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
        YAML().dump(data, ws / "params.yaml")

    return apply


def write(rel: str, content: bytes | str, **data_keys):
    def apply(ws: Path) -> None:
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if data_keys:
            params(data=data_keys)(ws)

    return apply


def truncate(rel: str):
    def apply(ws: Path) -> None:
        raw = (ws / rel).read_bytes()
        (ws / rel).write_bytes(raw[: len(raw) // 2])

    return apply


def frame(rel: str, df: pd.DataFrame, **data_keys):
    def apply(ws: Path) -> None:
        path = ws / rel
        {".csv": lambda: df.to_csv(path, index=False), ".parquet": lambda: df.to_parquet(path, index=False)}.get(
            path.suffix, lambda: df.to_json(path, orient="records", lines=True)
        )()
        if data_keys:
            params(data=data_keys)(ws)

    return apply


def model_json(name: str, change):
    def apply(ws: Path) -> None:
        path = ws / MODEL / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return apply


def narrow_head(ws: Path) -> None:
    """Head weights 16 wide where the body's embeddings are 32."""
    from safetensors.numpy import save_file

    coef = np.zeros((3, 16), dtype=np.float64)
    save_file({"coef": coef, "intercept": np.zeros(3), "classes": np.arange(3)}, str(ws / MODEL / "head.safetensors"))


def train_file(name: str, content: bytes | str):
    """data.train pointed at ``data/raw/<name>`` holding ``content``."""
    return write(f"data/raw/{name}", content, train=f"data/raw/{name}")


def texts_with(column: str, row: int, value, n: int = 10) -> pd.DataFrame:
    df = make_texts(n, seed=1)
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


def without_labels(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "labels"}


def two_labels(config: dict) -> dict:
    return {**config, "labels": config["labels"][:2]}


def no_body(ws: Path) -> None:
    shutil.rmtree(ws / MODEL / "body")


SAMPLE = ("stage", "sample.py", "data/fewshot")
PAIRS = ("stage", "pairs.py", "data/fewshot/train.parquet", "data/pairs/pairs.parquet")
EVALUATE = (
    *("stage", "evaluate.py", MODEL, "data/fewshot/test.parquet", "none"),
    *("s.json", "m.json", "c.json", "x.json", "models/served"),
)
PREDICT = ("cli", "predict", "--input", "texts.csv")


def predict(path: str, *more: str) -> tuple:
    return ("cli", "predict", "--input", path, *more)


def info(*more: str) -> tuple:
    return ("cli", "info", MODEL, *more)


# (id, what spoils the workspace, what runs, what the line must hold: the file or key, and what is wrong)
CASES = [
    # params.yaml, read by every stage (here: sample) before any work
    (
        "params-yaml-syntax",
        write("params.yaml", "sample:\n  num_samples: 4\n   unlabeled: 3\n"),
        SAMPLE,
        ["params.yaml: line 3"],
    ),
    ("params-empty", write("params.yaml", ""), SAMPLE, ["params.yaml", "empty"]),
    ("params-a-list", write("params.yaml", "- seed\n"), SAMPLE, ["params.yaml", "mapping"]),
    ("params-not-utf8", write("params.yaml", b"seed: 1\n# \xff\n"), SAMPLE, ["params.yaml: line 2", "UTF-8"]),
    ("params-duplicate-key", write("params.yaml", "seed: 1\nseed: 2\n"), SAMPLE, ["params.yaml", "duplicate key"]),
    ("params-typo", params(sample={"num_sample": 4}), SAMPLE, ["sample.num_sample", "num_samples"]),
    ("params-bool-as-count", params(sample={"num_samples": True}), SAMPLE, ["sample.num_samples"]),
    ("head-kmeans", params(head={"type": "sklearn.cluster.KMeans"}), SAMPLE, ["head.type", "not a classifier"]),
    (
        "teacher-head-typo",
        params(teacher={"head": {"type": "sklearn.svm.LinearSVX"}}),
        SAMPLE,
        ["teacher.head.type", "sklearn.svm.LinearSVC"],
    ),
    ("distill-head-module", params(distill={"head": {"type": "nope.Classifier"}}), SAMPLE, ["distill.head.type"]),
    ("teacher-head-params", params(teacher={"head": {"params": {"Cee": 1}}}), SAMPLE, ["teacher.head.params"]),
    (
        "teacher-head-strategy",
        params(teacher={"head": {"type": "differentiable", "params": {}, "multi_target_strategy": "one-vs-rest"}}),
        SAMPLE,
        ["teacher.head.multi_target_strategy"],
    ),
    # the data the sample stage reads
    ("parquet-0-bytes", write("data/raw/train.parquet", b""), SAMPLE, ["data.train", "train.parquet", "empty"]),
    ("parquet-truncated", truncate("data/raw/train.parquet"), SAMPLE, ["data.train", "train.parquet", "Parquet"]),
    ("parquet-test-truncated", truncate("data/raw/test.parquet"), SAMPLE, ["data.test", "test.parquet", "Parquet"]),
    ("parquet-holding-csv", write("data/raw/train.parquet", "text,label\na,b\n"), SAMPLE, ["train.parquet", "Parquet"]),
    ("csv-0-bytes", train_file("train.csv", b""), SAMPLE, ["data.train", "train.csv", "empty"]),
    ("csv-not-utf8", train_file("train.csv", b"text,label\na,x\n\xff b,y\n"), SAMPLE, ["train.csv", "line 3", "UTF-8"]),
    ("csv-extra-field", train_file("train.csv", "text,label\na,x\nb,y,z\n"), SAMPLE, ["train.csv", "line 3"]),
    (
        "jsonl-broken-line",
        train_file("train.jsonl", '{"text": "a", "label": "x"}\n{"text": \n'),
        SAMPLE,
        ["train.jsonl", "line 2"],
    ),
    (
        "jsonl-list-line",
        train_file("train.jsonl", '{"text": "a", "label": "x"}\n[1, 2]\n'),
        SAMPLE,
        ["train.jsonl", "line 2", "JSON object"],
    ),
    (
        "empty-text",
        frame("data/raw/train.parquet", texts_with("text", 3, "")),
        SAMPLE,
        ["data.train", "rows [3]", "sample.drop_invalid"],
    ),
    (
        "null-label",
        frame("data/raw/train.parquet", texts_with("label", 2, None)),
        SAMPLE,
        ["data.train", "null label", "sample.drop_invalid"],
    ),
    ("data-missing-file", params(data={"train": "data/raw/nope.parquet"}), SAMPLE, ["data/raw/nope.parquet"]),
    ("data-unknown-suffix", train_file("train.xlsx", "x"), SAMPLE, ["data.train", ".xlsx"]),
    # later stages read what earlier ones wrote
    ("pairs-input-truncated", truncate("data/fewshot/train.parquet"), PAIRS, ["data/fewshot/train.parquet", "Parquet"]),
    ("evaluate-model-no-labels", model_json("fewshot.json", without_labels), EVALUATE, ["fewshot.json", "labels"]),
    ("launch-missing-script", None, ("launch", "stages/nope.py"), ["stages/nope.py"]),
    # the fewshot command's inputs
    ("cli-csv-0-bytes", write("in.csv", b""), predict("in.csv"), ["--input 'in.csv'", "empty"]),
    ("cli-csv-not-utf8", write("in.csv", b"text\n\xff game\n"), predict("in.csv"), ["in.csv", "line 2", "UTF-8"]),
    ("cli-csv-extra-field", write("in.csv", "text\ngame\nteam,won\n"), predict("in.csv"), ["in.csv", "line 3"]),
    (
        "cli-jsonl-broken-line",
        write("in.jsonl", '{"text": "a"}\n{"text" "b"}\n'),
        predict("in.jsonl"),
        ["in.jsonl", "line 2"],
    ),
    (
        "cli-parquet-truncated",
        truncate("data/raw/test.parquet"),
        predict("data/raw/test.parquet"),
        ["test.parquet", "Parquet"],
    ),
    ("cli-txt-not-utf8", write("in.txt", b"game\n\xff\n"), predict("in.txt"), ["in.txt", "line 2", "UTF-8"]),
    (
        "cli-parquet-empty-text",
        frame("in.parquet", texts_with("text", 1, "", 2)),
        predict("in.parquet"),
        ["in.parquet", "rows [1]"],
    ),
    (
        "cli-jsonl-null-text",
        frame("in.jsonl", texts_with("text", 1, None, 2)),
        predict("in.jsonl"),
        ["in.jsonl", "rows [1]"],
    ),
    ("cli-csv-blank-text", frame("in.csv", texts_with("text", 1, "   ", 2)), predict("in.csv"), ["in.csv", "rows [1]"]),
    ("cli-output-is-input", None, predict("texts.csv", "--output", "texts.csv"), ["--output 'texts.csv'", "--input"]),
    ("cli-info-metrics-missing", None, info("--metrics", "missing.json"), ["--metrics 'missing.json'"]),
    (
        "cli-info-metrics-broken",
        write("m.json", "{accuracy: 1}"),
        info("--metrics", "m.json"),
        ["m.json", "line 1", "JSON"],
    ),
    # tampered or mismatched model directories, refused when loaded
    ("model-no-labels", model_json("fewshot.json", without_labels), PREDICT, ["fewshot.json", "'labels'"]),
    ("model-config-a-list", model_json("fewshot.json", lambda c: [c]), PREDICT, ["fewshot.json", "JSON object"]),
    ("model-config-not-json", write(f"{MODEL}/fewshot.json", "{labels: [a, b]"), info(), ["fewshot.json", "line 1"]),
    ("model-head-truncated", truncate(f"{MODEL}/head.safetensors"), PREDICT, ["head.safetensors", "safetensors"]),
    ("model-head-json-broken", write(f"{MODEL}/head.json", "{"), PREDICT, ["head.json"]),
    (
        "model-labels-disagree",
        model_json("fewshot.json", two_labels),
        PREDICT,
        ["head.safetensors", "3 classes", "2 labels"],
    ),
    ("model-head-too-narrow", narrow_head, PREDICT, ["head.safetensors", "32-wide"]),
    ("model-body-missing", no_body, PREDICT, ["body/ missing in"]),
]


def _run(ws: Path, how: tuple, capsys, monkeypatch) -> str:
    kind, *args = how
    if kind == "cli":
        monkeypatch.chdir(ws)
        return _error(capsys, [args[0], "--model", MODEL, *args[1:]] if args[0] == "predict" else args)
    if kind == "stage":
        proc = run_stage(ws, *args)
    else:
        cmd = [sys.executable, "-m", "fewshot.pipeline.launch", *args]
        proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_the_table_is_large():
    assert len(CASES) >= 40 and len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("spoil, how, names", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(template, tmp_path, capsys, monkeypatch, spoil, how, names):
    ws = tmp_path / "ws"
    shutil.copytree(template, ws)
    if spoil is not None:
        spoil(ws)
    before = snapshot(ws)
    line = _run(ws, how, capsys, monkeypatch)
    for fragment in names:
        assert fragment in line, line
    assert snapshot(ws) == before
