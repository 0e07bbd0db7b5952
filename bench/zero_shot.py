"""Zero-shot from the label names, and label-name priming of a few-shot set (``sample.synthetic``).

    python bench/zero_shot.py                          # AG News, SST-2; seeds 0 1 2; 1,000 test texts
    python bench/zero_shot.py --tasks mr --synthetic 8 --num-samples 8 --test-size 0
    python bench/zero_shot.py --table bench/results/zero_shot-*.jsonl   # the table of rows written before

Per task and seed, three training sets from ``fewshot.data.split`` (the pipeline's sample stage):
``zero-shot`` (``num_samples: 0``, ``synthetic`` examples per class from the label names and setfit's
template, no labelled text), ``N per class`` (the few-shot draw alone) and ``N per class + synthetic``
(the same draw with the synthetic examples after it). Each trains the shipped ``pairs`` and ``train``
sections of ``params.yaml`` (with any ``-S key=value`` overrides) on all-MiniLM-L6-v2 and fits the default
logistic head; accuracy on ``--test-size`` test texts (a seeded draw, the same for every row; 0: all).
Also ``untrained`` (zero-shot): the head fitted on the synthetic examples with the body as shipped.
The label names are the data's ``label_text`` column. Rows go to ``--out`` (JSON Lines); the table is
printed as Markdown: mean accuracy ± standard deviation over the seeds (how many in brackets).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run(task: str, seed: int, setting: str, args) -> dict:
    import numpy as np
    import torch
    from vs_setfit import _evaluate, _params

    from fewshot.arguments import HeadArguments, SampleArguments
    from fewshot.data import load_labeled, split
    from fewshot.model import FewShotModel
    from fewshot.pairs import generate_pairs, text_pairs
    from fewshot.sources import load_body, resolve_model
    from fewshot.training import train_body

    torch.manual_seed(seed)
    root = Path(args.data_root) / task
    train = load_labeled(root / "train.parquet", "text", "label_text")
    test = load_labeled(root / "test.parquet", "text", "label_text")
    if args.test_size:
        test = test.iloc[np.random.default_rng(0).permutation(len(test))[: args.test_size]].reset_index(drop=True)
    num_samples = 0 if setting in ("zero-shot", "untrained") else args.num_samples
    synthetic = 0 if setting == "per class" else args.synthetic
    few = split(train, SampleArguments(num_samples=num_samples, synthetic=synthetic, unlabeled=0, seed=seed)).train
    body = load_body(resolve_model(MODEL))
    start, steps = time.perf_counter(), 0
    if setting != "untrained":
        params = _params(args.params, args.set)
        pairs = text_pairs(generate_pairs(few.label, params.pairs.arguments(seed)), few.text)
        steps = train_body(body, pairs, params.train.arguments(seed), labeled=few[["text", "label"]]).steps
    model = FewShotModel.fit(body, list(few.text), list(few.label), HeadArguments(seed=seed))
    accuracy, _ = _evaluate(model, test)
    return {
        "task": task,
        "seed": seed,
        "setting": setting,
        "num_samples": num_samples,
        "synthetic": synthetic,
        "n_train": len(few),
        "steps": steps,
        "train_s": time.perf_counter() - start,
        "accuracy": accuracy,
        "n_test": len(test),
        "set": args.set,
    }


def table(rows: list[dict], args) -> str:
    settings = ["untrained", "zero-shot", "per class", "per class + synthetic"]
    head = [
        "untrained body, synthetic only",
        f"zero-shot ({args.synthetic} synthetic per class)",
        f"{args.num_samples} per class",
        f"{args.num_samples} per class + {args.synthetic} synthetic",
    ]
    lines = ["| task | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for task in dict.fromkeys(r["task"] for r in rows):
        cells = []
        for setting in settings:
            acc = [r["accuracy"] for r in rows if r["task"] == task and r["setting"] == setting]
            sd = f" ± {statistics.stdev(acc):.3f}" if len(acc) > 1 else ""
            cells.append(f"{statistics.mean(acc):.3f}{sd} ({len(acc)})" if acc else "")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["ag_news", "sst2"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--num-samples", type=int, default=8)
    ap.add_argument("--synthetic", type=int, default=8, help="synthetic examples per class (setfit's docs: 8)")
    ap.add_argument("--test-size", type=int, default=1000, help="test texts (0: all)")
    ap.add_argument("--data-root", default=str(HERE.parents[1] / "shared" / "datasets"))
    ap.add_argument("--params", default=str(HERE.parent / "params.yaml"))
    ap.add_argument("-S", "--set", action="append", default=[], help="params override, as dvc exp run -S")
    ap.add_argument("--out", type=Path, default=HERE / "results" / f"zero_shot-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
    ap.add_argument("--table", nargs="+", type=Path, help="only print the table of these rows (JSON Lines)")
    args = ap.parse_args()
    if args.table:
        print(table([json.loads(line) for path in args.table for line in path.read_text().splitlines()], args))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for task in args.tasks:
        for seed in args.seeds:
            for setting in ("untrained", "zero-shot", "per class", "per class + synthetic"):
                if setting == "untrained" and seed != args.seeds[0]:
                    continue  # no training, nothing seeded but the head: one row
                row = run(task, seed, setting, args)
                rows.append(row)
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows, args))


if __name__ == "__main__":
    main()
