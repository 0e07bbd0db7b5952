"""compare: the evaluated models side by side (accuracy, macro-F1, size, speed) for `dvc plots`.

usage: python stages/compare.py OUT_CSV METRICS_JSON...   (model name = the JSON file's stem)
"""

import json
import sys
from pathlib import Path

import pandas as pd

from fewshot import tracking
from fewshot.errors import run_main
from fewshot.io import write_csv

COLUMNS = ["accuracy", "f1_macro", "params", "texts_per_s"]


def main() -> None:
    out_csv, *metric_files = sys.argv[1:]
    rows = []
    for path in map(Path, metric_files):
        scores = json.loads(path.read_text())
        rows.append({"model": path.stem, **{k: scores[k] for k in COLUMNS}})
    table = pd.DataFrame(rows)
    write_csv(table, out_csv)
    with tracking.stage_run("compare", {"models": ",".join(table["model"])}) as run:
        # every model's current metrics on the experiment's parent run, also those DVC did not re-evaluate
        run.log_parent_metrics({f"{r.model}.{k}": getattr(r, k) for r in table.itertuples() for k in COLUMNS})
        run.log_artifact(out_csv)
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
