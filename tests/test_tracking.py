import warnings

from mlflow.tracking import MlflowClient

from fewshot.pipeline import tracking


def test_stage_runs_nest_under_one_parent_per_experiment(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("DVC_EXP_NAME", "bushy-tern")
    with tracking.stage_run("pairs", {"seed": 1, "pairs": {"sampling_strategy": "unique"}}) as run:
        run.log_metrics({"n_pairs": 10})
        run.log_series("loss", [(1, 0.5), (2, 0.25)])
    with tracking.stage_run("train_body", {"train": {"num_epochs": 3}}) as run2:
        pass
    assert run.parent_id == run2.parent_id
    client = MlflowClient(uri)
    stage = client.get_run(run.run_id)
    assert stage.data.params == {"seed": "1", "pairs.sampling_strategy": "unique"}
    assert stage.data.metrics["n_pairs"] == 10
    assert stage.data.tags["mlflow.parentRunId"] == run.parent_id
    assert stage.data.tags["dvc.stage"] == "pairs" and stage.data.tags["dvc.exp_name"] == "bushy-tern"
    assert [m.value for m in client.get_metric_history(run.run_id, "loss")] == [0.5, 0.25]
    assert stage.info.status == "FINISHED"
    monkeypatch.setenv("DVC_EXP_NAME", "other-exp")
    with tracking.stage_run("pairs", {}) as run3:
        pass
    assert run3.parent_id != run.parent_id


def test_default_store_is_sqlite_at_dvc_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"


def test_tracking_failure_warns_and_never_fails_the_stage(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("not a directory")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'a_file' / 'x.db'}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tracking.stage_run("fit_head", {"head": {"C": 1}}) as run:
            run.log_metrics({"accuracy": 1.0})
            done = True
    assert done and run.failed
    assert any("MLflow tracking disabled" in str(w.message) for w in caught)


def test_init_store_creates_the_store_once_even_when_raced(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    env = {**os.environ, "DVC_ROOT": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fewshot.pipeline.tracking", "init"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert all("MLflow store ready" in out for out, _ in outs)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert [e.name for e in client.search_experiments()].count("fewshot") == 1
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking.init_store() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"  # again: changes nothing


def test_only_rank_zero_tracks(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with tracking.stage_run("train_body", {"seed": 1}) as run:
        run.log_metrics({"loss": 1.0})
    assert run.run_id is None and not (tmp_path / "mlflow.db").exists()


def test_a_heads_C_choice_is_logged_with_the_scores_that_chose_it(tmp_path, monkeypatch):
    import numpy as np

    from fewshot.heads import Examples, LogisticHead

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 1.0, (6, 4)) for c in range(3)]).astype(np.float32)
    y = np.repeat(np.arange(3), 6)
    head = LogisticHead().fit(Examples([""] * 18, y, 3, embeddings=x))  # C: auto
    with tracking.stage_run("fit_head", {}) as run:
        logged = run.log_head_choice(head)
        assert run.log_head_choice(LogisticHead({"C": 2.0}).fit(Examples([""] * 18, y, 3, embeddings=x))) == {}
    client = MlflowClient(uri)
    assert client.get_run(run.run_id).data.metrics["head_C"] == head.auto["C"] == logged["head_C"]
    history = {m.step: m.value for m in client.get_metric_history(run.run_id, "head_C_score")}
    assert history == {int(float(c)): s for c, s in head.auto["scores"].items()} and len(history) == 3
