"""The MLflow and DVC conventions users expect: the registry addressed by alias, the experiment opened as
model training, the final model declared as a DVC artifact."""

import json
import os
import subprocess
import sys

from conftest import ROOT
from ruamel.yaml import YAML

from fewshot.pipeline import tracking


def test_the_experiment_is_created_as_model_training_and_an_old_one_gets_the_tag(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    tracking.init_store(tmp_path)
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"

    client.delete_experiment_tag(exp.experiment_id, "mlflow.experimentKind")  # as made before the tag
    tracking.init_store(tmp_path)
    assert client.get_experiment(exp.experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"

    client.set_experiment_tag(exp.experiment_id, "mlflow.experimentKind", "genai_development")  # a user's choice
    tracking.init_store(tmp_path)
    assert client.get_experiment(exp.experiment_id).tags["mlflow.experimentKind"] == "genai_development"


def _register(tmp_path, tiny_model_dir, alias: str | None) -> subprocess.CompletedProcess:
    extra = f"  alias: {alias}\n" if alias else ""
    (tmp_path / "params.yaml").write_text(f"registry:\n  model: distilled\n  name: topics\n{extra}")
    (tmp_path / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "f1_macro": 0.25}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DVC_ROOT": str(tmp_path)}
    cmd = [sys.executable, str(ROOT / "stages" / "register.py"), str(tiny_model_dir), "metrics.json", "out.json"]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_register_moves_the_alias_to_the_new_version(tiny_model_dir, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    first = _register(tmp_path, tiny_model_dir, "challenger")  # registered, not promoted
    assert first.returncode == 0, first.stderr
    assert "models:/topics@challenger" in first.stdout
    second = _register(tmp_path, tiny_model_dir, None)  # the default alias
    assert second.returncode == 0, second.stderr
    assert "models:/topics@champion" in second.stdout
    assert int(client.get_model_version_by_alias("topics", "champion").version) == 2
    assert int(client.get_model_version_by_alias("topics", "challenger").version) == 1
    assert client.get_run(client.get_model_version("topics", "2").run_id).data.tags["registry.alias"] == "champion"


def test_a_bad_alias_is_refused_before_any_work(tiny_model_dir, tmp_path):
    reserved = _register(tmp_path, tiny_model_dir, "latest")
    assert reserved.returncode == 2 and "registry.alias 'latest' is reserved by MLflow" in reserved.stderr
    proc = _register(tmp_path, tiny_model_dir, "'has space'")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "'registry.alias' string should match pattern" in last
    assert not (tmp_path / "out.json").exists()


def test_the_final_model_is_a_dvc_model_artifact():
    from dvc.repo import Repo

    params = YAML(typ="safe", pure=True).load((ROOT / "params.yaml").read_text())["registry"]
    with Repo(str(ROOT)) as repo:
        ((_, found),) = repo.artifacts.read().items()  # as DVC reads it, ${registry.model} resolved
        outs = {str(out.def_path) for stage in repo.index.stages for out in stage.outs}
    ((name, artifact),) = found.items()
    assert name == params["name"] and artifact.type == "model" and artifact.desc and artifact.labels
    assert artifact.path == f"models/{params['model']}"
    assert artifact.path in outs  # a stage's output: DVC tracks and caches it
