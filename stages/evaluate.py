"""evaluate: write the served model and score it: predict the test set from its cached embeddings, write
metrics, confusion rows and a summary row.

The served model (SERVED_DIR, e.g. models/distilled) is the trained one (TRAINED_DIR) set to serve with
``evaluate.backend``: for an onnx backend it carries the exported body that embedded the test set (from
EMBEDDINGS_DIR/onnx/), so the accuracy written here is the one `fewshot predict` and the MLflow model give.

usage: python stages/evaluate.py TRAINED_DIR TEST_PARQUET EMBEDDINGS_DIR SPEED_JSON METRICS_JSON CONFUSION_JSON
       SUMMARY_JSON SERVED_DIR
"""

import json
import sys
import time
from pathlib import Path

from fewshot import metrics
from fewshot.backends import TORCH
from fewshot.embeddings import EXPORT, cached
from fewshot.errors import run_main
from fewshot.io import atomic_dir, read_table, write_json
from fewshot.model import FewShotModel
from fewshot.model_dir import BODY_DIR, copy_with_backend
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params


def main() -> None:
    trained_dir, test_path, embeddings_dir, speed_path, metrics_path, confusion_path, summary_path = sys.argv[1:8]
    model_dir = sys.argv[8]
    name = Path(model_dir).name
    params = load_params().evaluate
    export = Path(embeddings_dir) / EXPORT
    onnx_dir = export if params.backend != TORCH and export.is_dir() else None  # else exported here
    test = read_table(test_path)
    with atomic_dir(model_dir) as served:  # in place only once it loaded and predicted
        copy_with_backend(trained_dir, served, params.backend, onnx_dir, name=name)
        model = FewShotModel.load(served)  # on the backend it records: evaluate.backend

        # embeddings from the embed stage when made by this model's body on its backend; else embed here
        embeddings = cached(embeddings_dir, "test", list(test["text"]), served / BODY_DIR, model.backend)
        reused = embeddings is not None
        start = time.perf_counter()
        if embeddings is None:
            embeddings = model.encode(test["text"], batch_size=params.batch_size)
        predicted = model.labels_from_proba(model.proba_from_embeddings(embeddings))
        seconds = time.perf_counter() - start
    seconds += json.loads(Path(speed_path).read_text())["seconds"] if reused else 0

    scores = metrics.classification_metrics(test["label"], predicted, model.labels, params.metrics)
    scores.update(n_parameters=model.n_parameters(), texts_per_s=round(len(test) / seconds, 1), backend=model.backend)
    write_json(scores, metrics_path)
    write_json(metrics.confusion_rows(test["label"], predicted), confusion_path)
    write_json([{"model": name, **{k: scores[k] for k in params.metrics if k in scores}}], summary_path)

    with tracking.stage_run(f"evaluate@{name}", {"evaluate": params.model_dump()}, {"model": name}) as run:
        flat = metrics.flat_metrics(scores)
        run.log_metrics(flat)
        run.log_parent_metrics({f"{name}.{k}": v for k, v in flat.items() if "." not in k})
        run.set_tags({"embeddings.reused": str(reused), "backend": model.backend})
        run.log_artifact(confusion_path, "confusion")
        run.log_figure(metrics.confusion_figure(test["label"], predicted, model.labels), f"confusion/{name}.png")
    shown = ", ".join(f"{k} {scores[k]:.4f}" for k in params.metrics)
    source = "cached embeddings" if reused else "embedded here"
    print(f"evaluate@{name}: {shown} on {len(test)} texts on {model.backend} ({source}) -> {model_dir}")


if __name__ == "__main__":
    run_main(main)
