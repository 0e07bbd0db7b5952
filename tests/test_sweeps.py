"""A hyperparameter sweep the DVC way, end to end on the tiny model: a 2x2 grid queued with Hydra's sweep
syntax (`dvc exp run --queue -S 'k=choice(...)'`), run by `dvc queue start -j 2`, ranked by the validation
metric, promoted with `dvc exp branch`, each run nested under its own MLflow parent run. Half the grid trains
with zero labelled texts (`sample.num_samples=0`: the synthetic examples from the label names only). The grid
runs the student's stages (target `evaluate@student`), the ones a sample/train/head sweep changes."""

import csv
import io
import json
import subprocess
import time
from subprocess import DEVNULL

import pytest
from test_pipeline import _env, make_project, set_params, sh

pytestmark = pytest.mark.e2e

SORT = "metrics/student/validation.json:accuracy"


def _wait_for_the_queue(project, timeout: float = 1800) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sh(project, "dvc", "queue", "status").stdout
        if not any(word in status for word in ("Queued", "Running")):
            return status
        time.sleep(5)
    raise AssertionError(f"the queue did not finish:\n{status}")


def test_a_queued_grid_runs_ranks_and_lands_in_mlflow(tmp_path):
    project = make_project(tmp_path)
    set_params(project, {"sample.validation": 2, "sample.synthetic": 2})
    sh(project, "git", "commit", "-qam", "validation texts, synthetic examples")
    sh(project, "python", "-m", "fewshot.pipeline.tracking", "init")  # before parallel workers

    queued = sh(
        project,
        "dvc",
        "exp",
        "run",
        "--queue",
        "-S",
        "sample.num_samples=choice(0,6)",
        "-S",
        "head.params.C=choice(0.1,1)",
        "evaluate@student",
    )
    assert queued.stdout.count("Queued experiment") == 4, queued.stdout
    # the workers outlive `dvc queue start` and hold its stdout: give it none to capture (sh would wait on it)
    subprocess.run(
        ["dvc", "queue", "start", "-j", "2"], cwd=project, env=_env(), stdin=DEVNULL, stdout=DEVNULL, check=True
    )
    try:
        status = _wait_for_the_queue(project)
    finally:
        sh(project, "dvc", "queue", "stop", check=False)  # no idle worker outlives the test
    assert status.count("Success") == 4, status

    shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
    exps = [e for rev in shown for e in (rev.get("experiments") or [])]
    runs = {e["name"]: e["revs"][0]["data"] for e in exps}
    assert len(runs) == 4
    grid = set()
    for data in runs.values():
        params = data["params"]["params.yaml"]["data"]
        grid.add((params["sample"]["num_samples"], params["head"]["params"]["C"]))
        validated = data["metrics"]["metrics/student/validation.json"]["data"]
        assert validated["n"] == 6 and 0 <= validated["accuracy"] <= 1  # 2 held-out texts x 3 classes
        assert "accuracy" in data["metrics"]["metrics/student.json"]["data"]  # zero-shot too: trained, evaluated
    assert grid == {(0, 0.1), (0, 1), (6, 0.1), (6, 1)}

    table = sh(project, "dvc", "exp", "show", "--csv", "--sort-by", SORT, "--sort-order", "desc").stdout
    rows = csv.DictReader(io.StringIO(table))  # the CSV names a metric's column file:key, as SORT does
    ranked = [float(row[SORT]) for row in rows if row[SORT] not in ("", "!")]
    assert len(ranked) == 4 and ranked == sorted(ranked, reverse=True)  # the baseline has no metrics yet

    best = max(runs, key=lambda name: runs[name]["metrics"]["metrics/student/validation.json"]["data"]["accuracy"])
    sh(project, "dvc", "exp", "branch", best, "best")
    assert "best" in sh(project, "git", "branch").stdout

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("fewshot")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    found = client.search_runs([exp.experiment_id], max_results=500)
    parents = {r.info.run_id: r for r in found if "dvc.stage" not in r.data.tags}
    assert {r.data.tags["dvc.exp_name"] for r in parents.values()} == set(runs)
    for parent in parents.values():
        children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert {r.data.tags["dvc.stage"] for r in children} >= {"fit_head", "evaluate@student"}
        assert {"student.val_accuracy", "student.accuracy"} <= set(parent.data.metrics)
