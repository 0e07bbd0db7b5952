"""End to end: the real `dvc repro` / `dvc exp run` on a tiny config in a temporary git repo.

Which stages ran is read from DVC's own output ("Running stage 'X'").
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from ruamel.yaml import YAML
from tiny import build_tiny_body, write_tiny_dataset

pytestmark = pytest.mark.e2e


def _env() -> dict:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)  # the pipeline's own default: SQLite at $DVC_ROOT
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["HF_HUB_OFFLINE"] = "1"
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@example.com"
    return env


def sh(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def stages_run(proc: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout + proc.stderr))


def set_params(project: Path, updates: dict) -> None:
    yaml = YAML()
    path = project / "params.yaml"
    params = yaml.load(path.read_text())
    for dotted, value in updates.items():
        *parents, last = dotted.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[last] = value
    yaml.dump(params, path)


def make_project(tmp_path: Path) -> Path:
    """A copy of the pipeline with tiny data and a tiny body, committed to a fresh git repo."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "stages", project / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (project / ".dvc").mkdir()
    shutil.copy(ROOT / ".dvc" / "config", project / ".dvc" / "config")
    write_tiny_dataset(project / "data" / "raw", n_train=12, n_test=8)
    body = build_tiny_body(project / "tiny_model")
    teacher = build_tiny_body(project / "tiny_teacher", dim=48, seed=5, shuffle_vocab=True)
    set_params(
        project,
        {
            "data.label_column": "label",
            "sample.num_samples": 6,
            "sample.unlabeled": 10,
            "train.model": str(body.relative_to(project)),
            "train.num_epochs": 1,
            "train.batch_size": 16,
            "teacher.model": str(teacher.relative_to(project)),
            "teacher.num_epochs": 1,
            "teacher.batch_size": 16,
            "distill.max_steps": 4,
            "distill.batch_size": 8,
            "evaluate.batch_size": 16,
        },
    )
    sh(project, "git", "init", "-q")
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "tiny project")
    return project


STUDENT = {"sample", "pairs", "train_body", "embed@student", "fit_head", "evaluate@student"}
TEACHER = {"train_teacher", "embed@teacher", "evaluate@teacher"}
DISTILLED = {"distill", "embed@distilled", "evaluate@distilled", "register"}
ALL = STUDENT | TEACHER | DISTILLED
ALL_MODELS = ("student", "teacher", "distilled")


def test_only_what_changed_reruns(tmp_path):
    project = make_project(tmp_path)

    first = sh(project, "dvc", "repro")
    assert stages_run(first) == ALL
    # the served models: the trained ones with the body exported for evaluate.backend, which scored them
    for model in ALL_MODELS:
        served = project / "models" / model
        assert json.loads((served / "fewshot.json").read_text())["backend"] == "onnx-int8"
        assert json.loads((project / "metrics" / f"{model}.json").read_text())["backend"] == "onnx-int8"
        assert (served / "onnx" / "model_int8.onnx").read_bytes() == (
            project / "data" / "embeddings" / model / "onnx" / "model_int8.onnx"
        ).read_bytes()
        assert (project / "models" / "trained" / model / "head.json").is_file()
    scores = json.loads((project / "metrics" / "student.json").read_text())
    assert {"accuracy", "f1_macro", "per_class", "n", "n_parameters", "texts_per_s"} <= set(scores)
    assert scores["n"] == 24
    rows = json.loads((project / "metrics" / "student" / "confusion.json").read_text())
    assert len(rows) == 24 and set(rows[0]) == {"actual", "predicted"}
    loss = (project / "metrics" / "student_body" / "loss.csv").read_text().splitlines()
    assert loss[0] == "step,loss" and len(loss) > 2
    for model in ("teacher", "distilled"):
        other = json.loads((project / "metrics" / f"{model}.json").read_text())
        assert set(other) == set(scores)  # same keys for every model: dvc exp show lines them up
    targets = pd.read_parquet(project / "data" / "distill" / "pairs.parquet")["label"]
    assert len(targets) == 40 and targets.std() > 0.01  # 4 grouped steps, each a group of 5 of the 10 texts: 10 pairs
    for model in ("student", "teacher", "distilled"):
        summary = json.loads((project / "metrics" / model / "summary.json").read_text())
        full = json.loads((project / "metrics" / f"{model}.json").read_text())
        assert summary == [
            {"model": model, **{k: full[k] for k in ("accuracy", "f1_macro", "precision_macro", "recall_macro")}}
        ]
    # every evaluation reused the embed stage's embeddings (the model's body is the embedded body)
    assert first.stdout.count("(cached embeddings)") == 3, first.stdout

    assert stages_run(sh(project, "dvc", "repro")) == set()
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "first run")

    # sample and pairs are byte-identical when re-run: nothing downstream re-runs
    assert stages_run(sh(project, "dvc", "repro", "--force", "--single-item", "sample")) == {"sample"}
    assert stages_run(sh(project, "dvc", "repro", "--force", "--single-item", "pairs")) == {"pairs"}
    assert stages_run(sh(project, "dvc", "repro")) == set()

    # a head-only experiment re-fits the head and re-evaluates from cached embeddings, nothing else
    head_only = sh(project, "dvc", "exp", "run", "-S", "head.params.C=0.5")
    assert stages_run(head_only) == {"fit_head", "evaluate@student"}
    assert "(cached embeddings)" in head_only.stdout

    # a head-phase key with the logistic head: fit_head re-runs, writes the same model, and nothing follows
    assert stages_run(sh(project, "dvc", "exp", "run", "-S", "head.num_epochs=8")) == {"fit_head"}

    # num_epochs is the training length: 3 epochs of 2 groups (18 texts, 16 a group) train a new body
    body = project / "models" / "student_body"
    one_epoch = (body / "model.safetensors").read_bytes()
    epochs = sh(project, "dvc", "exp", "run", "-S", "train.num_epochs=3")
    assert stages_run(epochs) == {"train_body", "embed@student", "fit_head", "evaluate@student"} | DISTILLED
    assert json.loads((project / "metrics" / "student_body.json").read_text()) == {"epochs": 3.0, "steps": 6}
    assert json.loads((body / "fewshot_body.json").read_text())["train"]["steps"] == 6
    assert (body / "model.safetensors").read_bytes() != one_epoch
    assert "train_body: 6 steps (3 epochs)" in epochs.stdout

    # the distilled student starts from the trained student body, so it follows body changes
    body_change = sh(project, "dvc", "exp", "run", "-S", "train.max_steps=3")
    assert stages_run(body_change) == {"train_body", "embed@student", "fit_head", "evaluate@student"} | DISTILLED

    # the backend: every body is embedded again and every model served again, none is trained again
    backend = sh(project, "dvc", "exp", "run", "-S", "evaluate.backend=torch")
    embeds, evaluations = {"embed@student", "embed@teacher", "embed@distilled"}, {f"evaluate@{m}" for m in ALL_MODELS}
    assert stages_run(backend) == embeds | {"fit_head"} | evaluations | {"register"}
    assert json.loads((project / "metrics" / "distilled.json").read_text())["backend"] == "torch"
    assert not (project / "models" / "distilled" / "onnx").exists()

    assert stages_run(sh(project, "dvc", "exp", "run", "-S", "distill.max_steps=3")) == DISTILLED
    assert stages_run(sh(project, "dvc", "exp", "run", "-S", "teacher.num_epochs=2")) == TEACHER | DISTILLED
    assert "Accuracy per model" in sh(project, "dvc", "plots", "show", "--json").stdout

    shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
    assert "accuracy" in json.dumps(shown)
    assert "accuracy" in sh(project, "dvc", "metrics", "show").stdout

    # MLflow: SQLite store at the project root, stage runs nested under one parent per experiment
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("fewshot")
    runs = client.search_runs([exp.experiment_id], max_results=200)
    stage_runs = [r for r in runs if "dvc.stage" in r.data.tags]
    parents = {r.info.run_id: r for r in runs if "dvc.stage" not in r.data.tags}
    assert {r.data.tags["dvc.stage"] for r in stage_runs} == ALL
    assert all(r.data.tags["mlflow.parentRunId"] in parents for r in stage_runs)
    # one parent per commit (the two plain repro commits) and one per experiment
    assert sorted(r.info.run_name.split()[0] for r in parents.values()).count("repro") == 2
    assert len(parents) == 9  # 2 repro commits + 7 experiments
    # a parent run shows the columns `dvc exp show` does: the params and each model's metrics and steps
    (three,) = [
        r
        for r in parents.values()
        if r.data.params.get("train.num_epochs") == "3" and r.data.params.get("train.max_steps") == "-1"
    ]
    assert three.data.metrics["student_body.steps"] == 6 and three.data.metrics["student_body.epochs"] == 3
    assert {"student.accuracy", "distilled.accuracy"} <= set(three.data.metrics)
    # the first run's parent shows the three models side by side
    first_parent = min(parents.values(), key=lambda r: r.info.start_time)
    assert {f"{m}.{k}" for m in ("student", "teacher", "distilled") for k in ("accuracy", "f1_macro")} <= set(
        first_parent.data.metrics
    )
    fit_heads = [r for r in stage_runs if r.data.tags["dvc.stage"] == "fit_head"]
    # the first run, then five with C=0.5: head-only, head.num_epochs, num_epochs, max_steps, backend
    assert sorted(r.data.params["head.params.C"] for r in fit_heads) == ["0.5"] * 5 + ["auto"]
    evaluations = [r for r in stage_runs if r.data.tags["dvc.stage"] == "evaluate@student"]
    # the newest evaluation logged what the workspace's metrics file says
    newest = max(evaluations, key=lambda r: r.info.start_time)
    student = json.loads((project / "metrics" / "student.json").read_text())
    assert newest.data.metrics["accuracy"] == pytest.approx(student["accuracy"])
    assert newest.data.metrics["f1_macro"] == pytest.approx(student["f1_macro"])
    artifacts = client.list_artifacts(evaluations[0].info.run_id, "confusion")
    assert {Path(a.path).name for a in artifacts} == {"confusion.json", "student.png"}
    train_runs = [r for r in stage_runs if r.data.tags["dvc.stage"] == "train_body"]
    assert len(client.get_metric_history(train_runs[0].info.run_id, "loss")) > 1
    # register: each run logged the distilled model as a pyfunc model and registered a new version
    assert json.loads((project / "models" / "registered.json").read_text())["model"] == "distilled"
    registers = [r for r in stage_runs if r.data.tags["dvc.stage"] == "register"]
    assert len(client.search_model_versions("name='fewshot'")) == len(registers) == 6  # not the head-only ones
