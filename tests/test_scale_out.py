"""Scale out on DVC: a shared remote with the run cache (a second clone runs no stage), and queued
experiments on two parallel workers logging to one MLflow store. Real dvc in a temporary git repo, on the
student's part of the pipeline (target `evaluate@student`) to keep the test short."""

import json
import time

import pytest
from test_pipeline import make_project, sh, stages_run

pytestmark = pytest.mark.e2e
TARGET = "evaluate@student"


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """The tiny project after `dvc repro evaluate@student`, committed."""
    project = make_project(tmp_path_factory.mktemp("scale"))
    sh(project, "dvc", "repro", TARGET)
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "reproduced")
    return project


def test_second_clone_reproduces_from_the_remote_without_running_a_stage(reproduced, tmp_path):
    remote = tmp_path / "remote"
    sh(reproduced, "dvc", "remote", "add", "-d", "shared", str(remote))
    sh(reproduced, "git", "commit", "-qam", "shared remote")
    sh(reproduced, "dvc", "push", "--run-cache")
    assert any(remote.rglob("*"))

    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(reproduced), str(clone))
    assert not (clone / "models" / "student").exists()  # outputs are not in git
    proc = sh(clone, "dvc", "repro", "--pull", "--allow-missing", TARGET)
    assert stages_run(proc) == set(), proc.stdout
    # the outputs a downstream user needs are there, identical to the first clone's
    assert json.loads((clone / "metrics" / "student.json").read_text()) == json.loads(
        (reproduced / "metrics" / "student.json").read_text()
    )
    # --allow-missing skips stages whose only change is missing data; `dvc pull` then fetches the outputs
    sh(clone, "dvc", "pull", "--with-deps", TARGET)
    assert (clone / "models" / "student" / "head.safetensors").exists()
    assert stages_run(sh(clone, "dvc", "repro", TARGET)) == set()  # and the clone is up to date


def _queue_busy(project) -> bool:
    status = sh(project, "dvc", "queue", "status").stdout
    return any(word in status for word in ("Queued", "Running"))


def test_queued_experiments_on_two_workers_share_one_mlflow_store(reproduced):
    from mlflow.tracking import MlflowClient

    (reproduced / "mlflow.db").unlink(missing_ok=True)  # a fresh store: created once, before the workers
    for c in ("0.25", "0.5", "2.0"):
        sh(
            reproduced,
            "dvc",
            "exp",
            "run",
            "--queue",
            "-n",
            f"c-{c.replace('.', '')}",
            "-S",
            f"head.params.C={c}",
            TARGET,
        )
    sh(reproduced, "fewshot", "init-tracking")
    sh(reproduced, "dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + 900
    while _queue_busy(reproduced):
        assert time.monotonic() < deadline, sh(reproduced, "dvc", "queue", "status").stdout
        time.sleep(5)
    status = sh(reproduced, "dvc", "queue", "status").stdout
    assert status.count("Success") == 3, status + sh(reproduced, "dvc", "queue", "logs", "c-025", check=False).stdout
    shown = sh(reproduced, "dvc", "exp", "show", "--json").stdout
    assert all(name in shown for name in ("c-025", "c-05", "c-20"))

    client = MlflowClient(f"sqlite:///{reproduced / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("fewshot").experiment_id], max_results=500)
    exp_names = {r.data.tags.get("dvc.exp_name") for r in runs if r.data.tags.get("dvc.stage") == "fit_head"}
    assert exp_names == {"c-025", "c-05", "c-20"}
    sh(reproduced, "dvc", "queue", "stop", check=False)
