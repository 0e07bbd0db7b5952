"""register: log the chosen model as an MLflow pyfunc model in this stage's run, register it, and point
the alias registry.alias (``champion``: ``models:/fewshot@champion``) at the new version.

usage: python stages/register.py MODEL_DIR METRICS_JSON OUT_JSON

The registered copy's model card and metrics.json carry the model's evaluation metrics. OUT_JSON names
what was registered (no run ids or versions: same inputs, same bytes); the version is in MLflow.
"""

import json
import re
import sys
import tempfile
from pathlib import Path

from fewshot.errors import FewshotError, run_main
from fewshot.formats.pyfunc import log_pyfunc
from fewshot.io import write_json
from fewshot.model_dir import copy_with_metrics
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params


def main() -> None:
    model_dir, metrics_path, out_path = sys.argv[1:4]
    params = load_params().registry
    if params.alias.lower() == "latest" or re.fullmatch(r"v\d+", params.alias):
        raise FewshotError(f"registry.alias '{params.alias}' is reserved by MLflow. Fix: choose another, e.g. champion")
    metrics = json.loads(Path(metrics_path).read_text())
    name = Path(model_dir).name

    with tracking.stage_run("register", {"registry": params.model_dump()}, {"model": name}) as run:
        if run.run_id is None:
            raise FewshotError(
                f"registry: cannot reach the MLflow store at {tracking.tracking_uri()}; nothing registered"
            )
        with tempfile.TemporaryDirectory() as tmp:
            copy = copy_with_metrics(model_dir, metrics, Path(tmp) / name)
            info = log_pyfunc(copy, run.run_id, tracking.tracking_uri(), registered_name=params.name)
        version = info.registered_model_version
        run.client.set_registered_model_alias(params.name, params.alias, version)
        run.set_tags({"registry.name": params.name, "registry.version": str(version), "registry.alias": params.alias})
    summary = {"name": params.name, "model": name, "source": model_dir}
    summary["metrics"] = {k: metrics[k] for k in ("accuracy", "f1_macro") if k in metrics}
    write_json(summary, out_path)
    print(
        f"register: {model_dir} -> models:/{params.name}/{version}, alias models:/{params.name}@{params.alias} "
        f"(tracking: {tracking.tracking_uri()})"
    )


if __name__ == "__main__":
    run_main(main)
