"""evaluate: embed the test set once, predict, write metrics and confusion rows.

usage: python stages/evaluate.py MODEL_DIR TEST_PARQUET METRICS_JSON CONFUSION_JSON
"""

import sys
import time
from pathlib import Path

import pandas as pd

from fewshot import metrics, tracking
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.io import write_json
from fewshot.model import FewShotModel


def main() -> None:
    model_dir, test_path, metrics_path, confusion_path = sys.argv[1:5]
    name = Path(model_dir).name
    params = load_params()
    model = FewShotModel.load(model_dir)
    test = pd.read_parquet(test_path)

    start = time.perf_counter()
    predicted = model.labels_from_proba(model.predict_proba(test["text"], batch_size=params.evaluate.batch_size))
    seconds = time.perf_counter() - start
    scores = metrics.classification_metrics(test["label"], predicted, model.labels, params.evaluate.metrics)
    scores.update(params=model.num_params(), texts_per_s=round(len(test) / seconds, 1))
    write_json(scores, metrics_path)
    write_json(metrics.confusion_rows(test["label"], predicted), confusion_path)

    with tracking.stage_run(f"evaluate@{name}", {"evaluate": params.evaluate.model_dump()}, {"model": name}) as run:
        flat = metrics.flat_metrics(scores)
        run.log_metrics(flat)
        run.log_parent_metrics({f"{name}.{k}": v for k, v in flat.items() if "." not in k})
        run.log_artifact(confusion_path, "confusion")
        run.log_figure(metrics.confusion_figure(test["label"], predicted, model.labels), f"confusion/{name}.png")
    shown = ", ".join(f"{k} {scores[k]:.4f}" for k in params.evaluate.metrics)
    print(f"evaluate@{name}: {shown} on {len(test)} texts")


if __name__ == "__main__":
    run_main(main)
