"""train_body and train_teacher under torchrun: 2 CPU processes (DDP, gloo) on the tiny model; rank 0 writes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from mlflow.tracking import MlflowClient
from ruamel.yaml import YAML
from tiny import make_texts

from fewshot.errors import FewshotError
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.pipeline import launch


def test_nproc_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(launch.ENV, raising=False)
    assert launch.nproc() == 1
    monkeypatch.setenv(launch.ENV, "3")
    assert launch.nproc() == 3
    for bad in ("0", "two"):
        monkeypatch.setenv(launch.ENV, bad)
        with pytest.raises(FewshotError, match=r"FEWSHOT_NPROC='.*'.*Fix: export FEWSHOT_NPROC=2"):
            launch.nproc()
    assert launch.command("s.py", ["a"], 2)[1:5] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
    ]


def test_bad_params_stop_before_torchrun_with_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  num_epoch: 3\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", launch.ENV: "2"}
    script = str(ROOT / "stages" / "train_body.py")
    proc = subprocess.run(
        [sys.executable, "-m", "fewshot.pipeline.launch", script, "p", "o", "l", "t", "m"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "train.num_epoch" in lines[0] and "num_epochs" in lines[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def _project(tmp_path: Path, tiny_body_dir: Path) -> Path:
    few = make_texts(8, seed=1)  # 24 texts, 3 classes
    few.to_parquet(tmp_path / "train.parquet")
    pairs = text_pairs(generate_pairs(few.label, sampling_strategy="unique", seed=1), few.text)
    pairs.to_parquet(tmp_path / "pairs.parquet")  # 276 pairs
    section = {
        "model": str(tiny_body_dir),
        "batching": "pairs",
        "max_steps": -1,
        "num_epochs": 1,
        "batch_size": 23,
        "body_learning_rate": 1e-3,
    }
    YAML().dump({"seed": 1, "train": section, "teacher": section}, tmp_path / "params.yaml")
    return tmp_path


def _launch(cwd: Path, n: int, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        launch.ENV: str(n),
        "OMP_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "fewshot.pipeline.launch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _stage_runs(cwd: Path, stage: str) -> list:
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    exp = client.get_experiment_by_name("fewshot")
    return [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("dvc.stage") == stage]


@pytest.mark.e2e
def test_train_body_and_teacher_on_two_processes(tmp_path, tiny_body_dir):
    project = _project(tmp_path, tiny_body_dir)
    # one process: 276 pairs / 23 per step = 12 steps
    _launch(
        project,
        1,
        str(ROOT / "stages" / "train_body.py"),
        "pairs.parquet",
        "single",
        "single.csv",
        "train.parquet",
        "steps.json",
    )
    assert len(pd.read_csv(project / "single.csv")) == 12
    # two DDP processes, 23 pairs each per step: 6 steps; one set of outputs, one MLflow run
    proc = _launch(
        project,
        2,
        str(ROOT / "stages" / "train_body.py"),
        "pairs.parquet",
        "body",
        "loss.csv",
        "train.parquet",
        "steps.json",
    )
    assert proc.stdout.count("train_body: 6 steps") == 1, proc.stdout + proc.stderr  # rank 0 reports
    assert (project / "body" / "model.safetensors").exists() and not list(project.glob("body.*"))
    assert pd.read_csv(project / "loss.csv").step.tolist() == list(range(1, 7))
    assert len(_stage_runs(project, "train_body")) == 2  # the single-process run and rank 0 of the DDP run
    proc = _launch(
        project,
        2,
        str(ROOT / "stages" / "train_teacher.py"),
        "pairs.parquet",
        "train.parquet",
        "teacher",
        "teacher.csv",
        "teacher.json",
    )
    assert proc.stdout.count("train_teacher: 6 steps") == 1  # rank 0 fits the head and reports
    assert (project / "teacher" / "head.safetensors").exists()
    assert len(_stage_runs(project, "train_teacher")) == 1


@pytest.mark.e2e
def test_grouped_batches_train_on_two_processes(tmp_path, tiny_body_dir):
    """groups (the default) under torchrun: the stage trains, rank 0 alone writes and logs."""
    project = _project(tmp_path, tiny_body_dir)
    section = {"model": str(tiny_body_dir), "batching": "groups", "batch_size": 8, "max_steps": 3}
    YAML().dump({"seed": 1, "train": section}, project / "params.yaml")
    proc = _launch(
        project,
        2,
        str(ROOT / "stages" / "train_body.py"),
        "pairs.parquet",
        "body",
        "loss.csv",
        "train.parquet",
        "steps.json",
    )
    assert proc.stdout.count("train_body: 3 steps") == 1, proc.stdout + proc.stderr
    assert (project / "body" / "model.safetensors").exists()
    assert pd.read_csv(project / "loss.csv").step.tolist() == [1, 2, 3]
    assert len(_stage_runs(project, "train_body")) == 1


@pytest.mark.e2e
def test_grouped_batches_keep_the_processes_in_step_and_in_sync(tmp_path, tiny_body_dir):
    """48 texts in groups of at most 10: 5 groups of 9 or 10 texts (so the processes embed different numbers
    of texts per step), one epoch. Before the fix this hung; both processes must end after the same steps with
    identical weights."""
    proc = _launch(tmp_path, 2, str(ROOT / "tests" / "ddp_ranks.py"), str(tiny_body_dir), "16", "10")
    # the two processes share one stdout pipe: their lines may meet on one line, so find each object
    found = re.findall(r'\{"rank": \d+, "steps": \d+, "weights": "[0-9a-f]+"\}', proc.stdout)
    ranks = sorted((json.loads(obj) for obj in found), key=lambda r: r["rank"])
    assert [r["rank"] for r in ranks] == [0, 1], proc.stdout + proc.stderr
    assert ranks[0]["steps"] == ranks[1]["steps"] == 3  # 5 groups dealt to 2 processes, topped up to 6
    assert ranks[0]["weights"] == ranks[1]["weights"]
