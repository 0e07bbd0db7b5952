"""MLflow tracking: one parent run per experiment (or commit), one nested run per stage.

- Store: ``$MLFLOW_TRACKING_URI`` if set, else SQLite at ``<root>/mlflow.db`` with artifacts in
  ``<root>/mlartifacts``, where root is ``$DVC_ROOT`` (set by DVC to the project root, also for queued
  experiments that run in a temp copy) or the current directory.
- Grouping: the parent run is keyed by ``$DVC_EXP_NAME`` (set by ``dvc exp run``) or, for plain
  ``dvc repro``, by the git commit; stage runs are nested under it and tagged with the stage, the
  experiment name and the commit.
- Tracking never fails a stage: any MLflow error becomes one warning and later calls do nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fewshot.errors import EXIT_STATUS, FewshotError
from fewshot.runtime import is_main_process

EXPERIMENT = os.environ.get("FEWSHOT_MLFLOW_EXPERIMENT", "fewshot")
PARENT_KEY_TAG = "fewshot.parent_key"
# MLflow's UI opens an experiment with this tag as model training (runs table, metrics), not GenAI (traces)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def project_root() -> Path:
    return Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()


def tracking_uri(root: Path | None = None) -> str:
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{(root or project_root()) / 'mlflow.db'}"


def git_commit(root: Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root or project_root(), capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name))
        else:
            flat[name] = str(value)[:6000]
    return flat


class StageRun:
    """A nested MLflow run for one stage; every method is a no-op after the first tracking error."""

    def __init__(self, stage: str):
        self.stage = stage
        self.client = None
        self.run_id: str | None = None
        self.parent_id: str | None = None
        self.failed = False

    def _guard(self, what: str, fn, *args, **kwargs):
        """Call ``fn`` (a callable, or the name of an MlflowClient method) unless tracking has failed."""
        if self.failed or (self.client is None and what != "start"):
            return None
        try:
            if isinstance(fn, str):
                fn = getattr(self.client, fn)
            return fn(*args, **kwargs)
        except Exception as err:  # tracking must never fail the stage
            self.failed = True
            warnings.warn(f"MLflow tracking disabled for stage '{self.stage}' ({what} failed: {err})", stacklevel=3)
            return None

    def _start(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        root = project_root()
        uri = tracking_uri(root)
        client, exp_id = _ensure_experiment(uri, root)
        commit = git_commit(root)
        exp_name = os.environ.get("DVC_EXP_NAME", "")
        key = f"exp:{exp_name}" if exp_name else f"commit:{commit or 'none'}"
        found = client.search_runs([exp_id], filter_string=f"tags.`{PARENT_KEY_TAG}` = '{key}'", max_results=1)
        common = {"dvc.exp_name": exp_name, "git.commit": commit}
        if found:
            self.parent_id = found[0].info.run_id
        else:
            name = exp_name or f"repro {commit[:7] or 'workspace'}"
            parent = client.create_run(exp_id, run_name=name, tags={PARENT_KEY_TAG: key, **common})
            self.parent_id = parent.info.run_id
        run = client.create_run(
            exp_id,
            run_name=self.stage,
            tags={"mlflow.parentRunId": self.parent_id, "dvc.stage": self.stage, **common, **tags},
        )
        self.client, self.run_id = client, run.info.run_id
        self.log_params(params)
        self._log_parent_params(params)

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in sorted(_flatten(params).items())]
        for i in range(0, len(items), 100):
            self._guard("log_params", "log_batch", self.run_id, params=items[i : i + 100])

    def _log_parent_params(self, params: dict[str, Any]) -> None:
        """The stage's params on the parent run too, so the runs table shows the columns `dvc exp show` does.
        Best effort: a plain `dvc repro` of one commit with edited params meets its earlier values (MLflow
        params cannot change), and keeps them."""
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in sorted(_flatten(params).items())]
        for i in range(0, len(items), 100):
            try:
                self.client.log_batch(self.parent_id, params=items[i : i + 100])
            except Exception:  # noqa: BLE001 (tracking never fails a stage; the stage run has the params)
                return

    def _log_metrics(self, run_id: str | None, points: list[tuple[str, float, int]]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(name, float(value), now, int(step)) for name, value, step in points]
        for i in range(0, len(items), 500):
            self._guard("log_metrics", "log_batch", run_id, metrics=items[i : i + 500])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._log_metrics(self.run_id, [(k, v, step or 0) for k, v in sorted(metrics.items())])

    def log_parent_metrics(self, metrics: dict[str, float]) -> None:
        """Metrics on the experiment's parent run too (e.g. ``student.accuracy``), to compare models there."""
        self._log_metrics(self.parent_id, [(k, v, 0) for k, v in sorted(metrics.items())])

    def log_series(self, name: str, points: list[tuple[int, float]]) -> None:
        """A curve (e.g. the loss per step) as one metric with steps."""
        self._log_metrics(self.run_id, [(name, v, s) for s, v in points])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        fn = "log_artifacts" if path.is_dir() else "log_artifact"
        self._guard("log_artifact", fn, self.run_id, str(path), artifact_path)

    def log_figure(self, figure, artifact_file: str) -> None:
        self._guard("log_figure", "log_figure", self.run_id, figure, artifact_file)

    def log_head_choice(self, head) -> dict:
        """A logistic head's ``C: auto`` choice: the C it chose (``head_C``) and each candidate's
        cross-validated accuracy (``head_C_score`` at step = C); returned for a metrics file ({} if none)."""
        auto = getattr(head, "auto", None)
        if not auto:
            return {}
        self.log_metrics({"head_C": auto["C"]})
        for c, score in auto["scores"].items():
            self.log_metrics({"head_C_score": score}, step=int(float(c)))
        return {"head_C": auto["C"], "head_C_scores": auto["scores"]}

    def set_tags(self, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self._guard("set_tag", "set_tag", self.run_id, k, v)

    def _end(self, status: str) -> None:
        """Close the stage run, and mark the parent with the latest stage's status and end time."""
        self._guard("end", "set_terminated", self.run_id, status)
        self._guard("end", "set_terminated", self.parent_id, status)


def _store_lock(root: Path):
    """A file lock beside a local SQLite store (parallel queue workers must not both create its tables)."""
    from contextlib import nullcontext

    if os.environ.get("MLFLOW_TRACKING_URI"):
        return nullcontext()  # a server or another store: it serialises its own creation
    from filelock import FileLock

    return FileLock(str(root / "mlflow.db.lock"), timeout=300)


def _ensure_experiment(uri: str, root: Path):
    """A client and the experiment's id; the client (which creates a fresh store's tables) and the
    experiment are made under the lock."""
    import mlflow
    from mlflow.tracking import MlflowClient

    with _store_lock(root):
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(EXPERIMENT)
        if exp is not None:
            for key, value in EXPERIMENT_KIND.items():
                if key not in exp.tags:  # an experiment made before the tag; a kind chosen in the UI stays
                    client.set_experiment_tag(exp.experiment_id, key, value)
            return client, exp.experiment_id
        location = None if os.environ.get("MLFLOW_TRACKING_URI") else (root / "mlartifacts").as_uri()
        try:
            return client, client.create_experiment(EXPERIMENT, artifact_location=location, tags=EXPERIMENT_KIND)
        except mlflow.exceptions.MlflowException:  # created meanwhile by a process outside the lock
            return client, client.get_experiment_by_name(EXPERIMENT).experiment_id


def init_store(root: Path | None = None) -> str:
    """Create the MLflow store and the experiment now, once, under a file lock; return the store's URI.

    Run before ``dvc queue start -j N``: N workers racing to create a fresh SQLite database fail. Safe to
    run again (it then changes nothing). ``python -m fewshot.pipeline.tracking init`` (or ``fewshot init-tracking``).
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    root = root or project_root()
    uri = tracking_uri(root)
    try:
        _ensure_experiment(uri, root)
    except Exception as err:  # MLflow, SQLite and the file lock fail in their own types
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FewshotError(
            f"MLflow store {uri}: cannot be created ({detail}). Fix: check MLFLOW_TRACKING_URI, or that the "
            "project folder is writable"
        ) from None
    return uri


@contextmanager
def stage_run(
    stage: str, params: dict[str, Any] | None = None, tags: dict[str, str] | None = None
) -> Iterator[StageRun]:
    """Track one stage: ``with stage_run("fit_head", params) as run: ...; run.log_metrics(...)``."""
    run = StageRun(stage)
    if is_main_process():  # other ranks of a torchrun job get a run that logs nothing
        run._guard("start", run._start, params or {}, tags or {})
    try:
        yield run
    except BaseException:
        run._end("FAILED")
        raise
    run._end("FINISHED")


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv != ["init"]:
        print(
            "usage: python -m fewshot.pipeline.tracking init   (create the MLflow store before parallel experiments)",
            file=sys.stderr,
        )
        return EXIT_STATUS
    try:
        print(f"MLflow store ready: {init_store()} (experiment '{EXPERIMENT}')")
    except FewshotError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_STATUS
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
