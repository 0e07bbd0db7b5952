"""evaluate: predict the test set from its cached embeddings, write metrics, confusion rows and a summary row.

usage: python stages/evaluate.py MODEL_DIR TEST_PARQUET EMBEDDINGS_DIR SPEED_JSON METRICS_JSON CONFUSION_JSON
       SUMMARY_JSON
"""

import json
import sys
import time
from pathlib import Path

from fewshot import metrics
from fewshot.embeddings import cached
from fewshot.errors import run_main
from fewshot.io import read_table, write_json
from fewshot.model import FewShotModel
from fewshot.model_dir import BODY_DIR
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params


def main() -> None:
    model_dir, test_path, embeddings_dir, speed_path, metrics_path, confusion_path, summary_path = sys.argv[1:8]
    name = Path(model_dir).name
    params = load_params().evaluate
    model = FewShotModel.load(model_dir)
    test = read_table(test_path)

    # embeddings from the embed stage when they were made by this model's body; else embed here
    embeddings = cached(embeddings_dir, "test", list(test["text"]), Path(model_dir) / BODY_DIR)
    reused = embeddings is not None
    start = time.perf_counter()
    if embeddings is None:
        embeddings = model.encode(test["text"], batch_size=params.batch_size)
    predicted = model.labels_from_proba(model.proba_from_embeddings(embeddings))
    seconds = time.perf_counter() - start + (json.loads(Path(speed_path).read_text())["seconds"] if reused else 0)

    scores = metrics.classification_metrics(test["label"], predicted, model.labels, params.metrics)
    scores.update(n_parameters=model.n_parameters(), texts_per_s=round(len(test) / seconds, 1))
    write_json(scores, metrics_path)
    write_json(metrics.confusion_rows(test["label"], predicted), confusion_path)
    write_json([{"model": name, **{k: scores[k] for k in params.metrics if k in scores}}], summary_path)

    with tracking.stage_run(f"evaluate@{name}", {"evaluate": params.model_dump()}, {"model": name}) as run:
        flat = metrics.flat_metrics(scores)
        run.log_metrics(flat)
        run.log_parent_metrics({f"{name}.{k}": v for k, v in flat.items() if "." not in k})
        run.set_tags({"embeddings.reused": str(reused)})
        run.log_artifact(confusion_path, "confusion")
        run.log_figure(metrics.confusion_figure(test["label"], predicted, model.labels), f"confusion/{name}.png")
    shown = ", ".join(f"{k} {scores[k]:.4f}" for k in params.metrics)
    source = "cached embeddings" if reused else "embedded here"
    print(f"evaluate@{name}: {shown} on {len(test)} texts ({source})")


if __name__ == "__main__":
    run_main(main)
