"""Stage scripts: they take their options from params.yaml; on bad input one clear line naming the field
and the fix, exit code 2, nothing written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from ruamel.yaml import YAML
from tiny import make_texts


def run_stage(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / script), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture()
def project(tmp_path):
    make_texts(10, seed=1).to_parquet(tmp_path / "train.parquet")
    make_texts(4, seed=2).to_parquet(tmp_path / "test.parquet")
    write_params(tmp_path, {})
    return tmp_path


def write_params(path: Path, overrides: dict) -> None:
    params = {
        "seed": 1,
        "data": {"train": "train.parquet", "test": "test.parquet", "text_column": "text", "label_column": "label"},
        "sample": {"num_samples": 4, "unlabeled": 5},
    }
    for section, values in overrides.items():
        params.setdefault(section, {}).update(values)
    YAML().dump(params, path / "params.yaml")


def assert_refused(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in last, last


def test_sample_writes_its_three_outputs(project):
    proc = run_stage(project, "sample.py", "out")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (project / "out").iterdir()) == [
        "test.parquet",
        "train.parquet",
        "unlabeled.parquet",
        "validation.parquet",
    ]
    assert len(pd.read_parquet(project / "out" / "train.parquet")) == 12


@pytest.mark.parametrize(
    "overrides, fragments",
    [
        ({"sample": {"num_sample": 4}}, ["unknown key 'sample.num_sample'", "did you mean 'num_samples'?"]),
        ({"data": {"text_column": "sentence"}}, ["no column 'sentence' (data.text_column)", "Fix"]),
        ({"data": {"label_column": "topic"}}, ["no column 'topic' (data.label_column)"]),
        ({"sample": {"num_samples": 11}}, ["sample.num_samples=11", "'business' has 10", "allow_fewer"]),
        ({"data": {"train": "nope.parquet"}}, ["nope.parquet: file not found"]),
    ],
)
def test_bad_params_and_data_are_refused_and_leave_outputs_alone(project, overrides, fragments):
    assert run_stage(project, "sample.py", "out").returncode == 0
    before = {p.name: p.read_bytes() for p in (project / "out").iterdir()}
    write_params(project, overrides)
    assert_refused(run_stage(project, "sample.py", "out"), *fragments)
    assert {p.name: p.read_bytes() for p in (project / "out").iterdir()} == before
    assert not list(project.glob("*.tmp"))


def test_empty_texts_and_a_single_class_are_refused(project):
    df = make_texts(10, seed=1)
    df.loc[3, "text"] = ""
    df.to_parquet(project / "train.parquet")
    assert_refused(
        run_stage(project, "sample.py", "out"), "empty, blank, null or non-text", "rows [3]", "sample.drop_invalid"
    )
    make_texts(10, seed=1).assign(label="sports").to_parquet(project / "train.parquet")
    assert_refused(run_stage(project, "sample.py", "out"), "only one class")
    assert not (project / "out").exists()


def test_unknown_model_is_refused_before_training(project):
    pd.DataFrame({"sentence_1": ["a"], "sentence_2": ["b"], "label": [0.0]}).to_parquet(project / "pairs.parquet")
    write_params(project, {"train": {"model": "./models/does-not-exist"}})
    proc = run_stage(project, "train_body.py", "pairs.parquet", "body_out", "loss.csv", "train.parquet", "m.json")
    assert_refused(proc, "train.model: './models/does-not-exist' does not exist")
    assert not (project / "body_out").exists()


def test_stages_take_the_options_from_params(tmp_path, tiny_body_dir):
    make_texts(10, seed=1).to_parquet(tmp_path / "train.parquet")
    make_texts(4, seed=2).to_parquet(tmp_path / "test.parquet")
    write_params(
        tmp_path,
        {
            "sample": {"validation": 2},
            "train": {
                "model": str(tiny_body_dir),
                "loss": "BatchHardTripletLoss",
                "distance_metric": "cosine",
                "num_epochs": 1,
                "batch_size": 6,
                "max_steps": -1,
            },
            "head": {
                "type": "differentiable",
                "params": {},
                "early_stopping_patience": 5,
                "num_epochs": 3,
                "batch_size": 4,
                "end_to_end": True,
            },
            "evaluate": {"metrics": ["accuracy", "matthews_corrcoef"]},
        },
    )

    def ok(script, *args):
        proc = run_stage(tmp_path, script, *args)
        assert proc.returncode == 0, proc.stderr
        return proc

    ok("sample.py", "fs")
    assert len(pd.read_parquet(tmp_path / "fs" / "validation.parquet")) == 6
    pd.DataFrame({"sentence_1": ["a"], "sentence_2": ["b"], "label": [0.0]}).to_parquet(tmp_path / "pairs.parquet")
    ok("train_body.py", "pairs.parquet", "body", "loss.csv", "fs/train.parquet", "body.json")
    assert len(pd.read_csv(tmp_path / "loss.csv")) == 2  # 12 labelled texts, batches of 6: not the one pair
    assert json.loads((tmp_path / "body.json").read_text()) == {"epochs": 1.0, "steps": 2}
    used = json.loads((tmp_path / "body" / "fewshot_body.json").read_text())["train"]
    assert used["loss"] == "BatchHardTripletLoss" and used["distance_metric"] == "cosine" and used["steps"] == 2
    ok("fit_head.py", "body", "fs/train.parquet", "no-embeddings", "model", "fs/validation.parquet", "val.json")
    head = json.loads((tmp_path / "model" / "head.json").read_text())
    assert head["type"] == "differentiable" and len(head["history"]) == 3 and "val_loss" in head["history"][0]
    validated = json.loads((tmp_path / "val.json").read_text())
    assert validated["n"] == 6 and set(validated) == {"n", "accuracy", "f1_macro"}
    out = ok(
        "evaluate.py",
        "model",
        "fs/test.parquet",
        "no-embeddings",
        "speed.json",
        "scores.json",
        "confusion.json",
        "summary.json",
        "served",
    )
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert {"accuracy", "matthews_corrcoef", "n_parameters"} <= set(scores) and "f1_macro" not in scores
    assert "matthews_corrcoef" in out.stdout and "(embedded here)" in out.stdout  # end_to_end: no cache
    # the served model: the trained one with the body exported for the default backend, which scored it
    assert scores["backend"] == "onnx-int8" == json.loads((tmp_path / "served" / "fewshot.json").read_text())["backend"]
    assert (tmp_path / "served" / "onnx" / "model_int8.onnx").is_file() and (tmp_path / "served" / "body").is_dir()


def test_drop_invalid_drops_the_bad_rows_and_says_how_many(project):
    df = make_texts(10, seed=1)
    df.loc[[2, 5], "text"] = ["", None]
    df.to_parquet(project / "train.parquet")
    assert_refused(run_stage(project, "sample.py", "out"), "rows [2, 5]", "sample.drop_invalid: true")
    write_params(project, {"sample": {"drop_invalid": True, "num_samples": 2}})
    proc = run_stage(project, "sample.py", "out")
    assert proc.returncode == 0, proc.stderr
    assert "dropped 2 train and 0 test rows (sample.drop_invalid)" in proc.stdout
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])  # the test's own store (conftest)
    runs = client.search_runs([client.get_experiment_by_name("fewshot").experiment_id])
    logged = next(r for r in runs if r.data.tags.get("dvc.stage") == "sample").data.metrics
    assert logged["n_dropped_train"] == 2 and logged["n_dropped_test"] == 0
