"""How ``num_epochs: auto`` chooses under other rules, and what each choice scores on held-out train texts.

    python bench/auto_rules.py --tasks sst2 mr ag_news --num-samples 64 --seeds 0 1 2 --records auto-64.jsonl
    python bench/auto_rules.py --records auto-64.jsonl --rules-only     # the rules again, no training

Per draw (the draws, the held-out texts and the params of ``bench/vs_setfit.py --validation``), it records
once, with no early stop:

- each fold of ``auto``'s cross-validation (``fewshot.auto_length``: the same folds, pairs, probe head and
  constant rate) trained to ``train.auto_max_steps`` whole-set steps, with which held-out texts the probe
  labels right, and the probability it gives each one's true label, at every checkpoint of a fine grid
  (2, 3, 4, 6, 8, 12, ... fold steps);
- the whole few-shot set trained at the same constant rate, with its accuracy (the shipped head) on the
  ``--validation`` held-out train texts at every whole-set length a fold checkpoint maps to.

A rule (which checkpoints, when a fold stops, how the length is picked from the fold scores) is then played
over the records: the length it chooses, that length's held-out accuracy, and its cost (the folds' training
seconds up to where they stopped, plus the chosen length's). The held-out texts are never the test split.
A rule is (first checkpoint, stop, pick): checkpoints double from the first (a negative first: every
recorded checkpoint from its magnitude); stop ``first`` (fewshot's), ``patience`` or ``none`` (see
:func:`fold_run`); pick ``se`` (fewshot's: within one accuracy's standard error of the best mean),
``half-se``, ``paired`` (within the standard error of the text-by-text difference to the best) or
``argmax`` (the best mean). Each rule is played on the fold accuracies and again on the probe's mean
log-likelihood of the true labels (rule ``..., loglik``; a smoother score than accuracy over a few dozen
texts: its ``se`` is the standard error of the mean over the held-out texts).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GRID = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)  # fold steps recorded


def record(task: str, num_samples: int, seed: int, args) -> dict:
    import torch
    from vs_setfit import MODEL, _evaluate, _load, _params

    from fewshot.auto_length import SCHEDULE, fold_indices, probe
    from fewshot.batching import groups_per_epoch
    from fewshot.model import FewShotModel
    from fewshot.pairs import generate_pairs, text_pairs
    from fewshot.sources import load_body, resolve_model
    from fewshot.training import train_body

    torch.manual_seed(seed)
    spec = {"data_root": args.data_root, "task": task, "num_samples": num_samples, "seed": seed}
    few, held, _ = _load({**spec, "unlabeled": args.unlabeled, "validation": args.validation})
    params = _params(str(args.params), args.set)
    train_args = params.train.arguments(seed)
    body = load_body(resolve_model(MODEL))
    pairs = text_pairs(generate_pairs(few.label, params.pairs.arguments(seed)), few.text)
    texts = [str(t) for t in few.text]
    labels = np.asarray([str(v) for v in few.label], dtype=object)
    max_steps = train_args.auto_max_steps
    groups_all = groups_per_epoch(pairs, train_args.batch_size)
    folds, candidates = [], set()
    for train_rows, held_rows in fold_indices(list(labels), train_args.auto_folds, seed):
        keep = {texts[i] for i in train_rows}
        fold_pairs = pairs[pairs["sentence_1"].isin(keep) & pairs["sentence_2"].isin(keep)]
        scale = groups_all / groups_per_epoch(fold_pairs, train_args.batch_size)
        fold_max = max(1, int(round(max_steps / scale)))
        points = sorted({p for p in GRID if p < fold_max} | {fold_max})
        fold = {"scale": scale, "n_held": len(held_rows), "correct": {}, "p_true": {}, "seconds": {}}
        fold_body, clock = copy.deepcopy(body), {"train": 0.0, "mark": time.perf_counter()}

        def at_step(step, fold_body=fold_body, fold=fold, points=points, clock=clock, tr=train_rows, ho=held_rows):
            if step in points:
                clock["train"] += time.perf_counter() - clock["mark"]
                right, p_true = probe(
                    fold_body, [texts[i] for i in tr], labels[tr], [texts[i] for i in ho], labels[ho], seed
                )
                fold["correct"][str(step)] = right.astype(int).tolist()
                fold["p_true"][str(step)] = [round(float(p), 5) for p in p_true]
                clock["train"] += time.perf_counter() - clock["mark"]  # the search scores as it goes
                fold["seconds"][str(step)] = round(clock["train"], 2)
                clock["mark"] = time.perf_counter()
            return False

        fold_args = replace(train_args, num_epochs=1, max_steps=points[-1], warmup_proportion=0.0)
        train_body(fold_body, fold_pairs, fold_args, stop_at=at_step, schedule=SCHEDULE)
        candidates |= {max(1, int(round(p * scale))) for p in points}
        folds.append(fold)
        print(f"  {task} {num_samples} seed {seed}: fold {len(folds)} recorded ({clock['train']:.0f} s)", flush=True)
    head_args = params.head.arguments(seed)
    whole = {"accuracy": {}, "seconds": {}}
    whole_body, clock = copy.deepcopy(body), {"train": 0.0, "mark": time.perf_counter()}

    def at_whole(step):
        if step in candidates:
            clock["train"] += time.perf_counter() - clock["mark"]
            model = FewShotModel.fit(whole_body, texts, list(few.label), head_args)
            whole["accuracy"][str(step)] = round(_evaluate(model, held)[0], 6)
            whole["seconds"][str(step)] = round(clock["train"], 2)
            clock["mark"] = time.perf_counter()
        return False

    last = max(candidates)
    whole_args = replace(train_args, num_epochs=1, max_steps=last, warmup_proportion=0.0)
    train_body(whole_body, pairs, whole_args, stop_at=at_whole, schedule=SCHEDULE)
    print(f"  {task} {num_samples} seed {seed}: whole set {whole['accuracy']}", flush=True)
    return {"task": task, "num_samples": num_samples, "seed": seed, "n_val": len(held), "folds": folds, "whole": whole}


# ----------------------------------------------------------------------------------------- the rules
def per_text(fold: dict, step: int, metric: str) -> np.ndarray:
    """A fold's held-out texts at a checkpoint, one score each (higher is better): ``accuracy``: right (1) or
    wrong (0); ``loglik``: the log of the probability the probe gives the true label (floored at 1e-4)."""
    if metric == "accuracy":
        return np.asarray(fold["correct"][str(step)], dtype=float)
    return np.log(np.maximum(np.asarray(fold["p_true"][str(step)], dtype=float), 1e-4))


def fold_run(fold: dict, first: int, stop: str, dense: bool = False, metric: str = "accuracy") -> dict[int, np.ndarray]:
    """The checkpoints a fold reaches (fold steps -> per-text scores, :func:`per_text`) under a stop rule:
    ``first``: it stops at the first checkpoint whose mean does not beat its best (fewshot's); ``patience``:
    at the second in a row; ``none``: it runs to the end. Checkpoints double from ``first``, the last
    recorded one always tried; ``dense``: every recorded one from ``first`` (steps growing by half: 4, 6, 8,
    12, ...)."""
    recorded = sorted(int(k) for k in fold["correct"])
    if dense:  # every recorded checkpoint from the first: 4, 6, 8, 12, 16, ...
        points = [p for p in recorded if p >= min(first, recorded[-1])]
    else:
        points, p = [], min(first, recorded[-1])
        while p < recorded[-1]:
            points.append(p)
            p *= 2
        points.append(recorded[-1])
    reached, best, misses = {}, -np.inf, 0
    for p in points:
        right = per_text(fold, p, metric)
        reached[p] = right
        if right.mean() > best + 1e-9:
            best, misses = right.mean(), 0
        else:
            misses += 1
            if (stop == "first" and misses >= 1) or (stop == "patience" and misses >= 2):
                break
    return reached


def play(rec: dict, first: int, stop: str, pick: str, metric: str = "accuracy") -> dict:
    dense = first < 0  # a negative first checkpoint: the dense grid from its magnitude
    runs = [(fold, fold_run(fold, abs(first), stop, dense, metric)) for fold in rec["folds"]]
    scaled = [{max(1, int(round(s * fold["scale"]))): right for s, right in run.items()} for fold, run in runs]
    candidates = sorted({s for fold in scaled for s in fold})

    def pooled(s):  # every held-out text's score at whole-set length s (a fold that stopped: carried)
        parts = []
        for fold in scaled:
            reached = [k for k in fold if k <= s]
            parts.append(fold[max(reached)] if reached else fold[min(fold)])
        return parts

    mean = {s: float(np.mean([p.mean() for p in pooled(s)])) for s in candidates}
    best = max(candidates, key=lambda s: (mean[s], -s))
    n = sum(len(p) for p in pooled(best))
    if pick == "argmax":
        chosen = best
    elif pick in ("se", "half-se"):
        top = np.concatenate(pooled(best))
        # accuracy: one accuracy's error; a log-likelihood: the standard error of its mean over the texts
        sd = np.sqrt(mean[best] * (1 - mean[best])) if metric == "accuracy" else top.std(ddof=1)
        error = sd / np.sqrt(n) * (0.5 if pick == "half-se" else 1.0)
        chosen = min(s for s in candidates if mean[s] >= mean[best] - error - 1e-9)
    elif pick == "paired":  # the shortest run whose deficit to the best is within its paired standard error
        top = np.concatenate(pooled(best))

        def within(s):
            d = top - np.concatenate(pooled(s))
            return d.mean() <= d.std(ddof=1) / np.sqrt(len(d)) + 1e-9 if d.any() else True

        chosen = min(s for s in candidates if within(s))
    else:
        raise ValueError(pick)
    cost = sum(fold["seconds"][str(max(run))] for fold, run in runs)
    whole_s = rec["whole"]["seconds"]
    return {
        "steps": chosen,
        "accuracy": rec["whole"]["accuracy"][str(chosen)],
        "search_s": cost,
        "train_s": cost + whole_s[str(chosen)],
    }


RULES = [(4, "first", "se"), (4, "first", "paired"), (4, "first", "half-se"), (4, "first", "argmax")]
RULES += [(4, stop, pick) for stop in ("patience", "none") for pick in ("se", "paired", "argmax")]
RULES += [(2, "first", "se"), (2, "patience", "paired")]
RULES += [(-4, stop, pick) for stop in ("first", "patience") for pick in ("se", "paired", "argmax")]  # dense
# the same rules on the probe's log-likelihood of the true labels (a recorded "p_true" is needed)
LOGLIK_RULES = [(first, stop, pick, "loglik") for first, stop, pick in RULES]


def rules_for(records: list[dict]) -> list[tuple]:
    return RULES + (LOGLIK_RULES if all("p_true" in f for r in records for f in r["folds"]) else [])


def report(records: list[dict]) -> str:
    lines = []
    for (task, k), recs in _groups(records).items():
        recs.sort(key=lambda r: r["seed"])
        seeds = " ".join(str(r["seed"]) for r in recs)
        lines += [f"\n{task}, {k} per class, seeds {seeds}, {recs[0]['n_val']} held-out train texts", ""]
        lengths = sorted({int(s) for r in recs for s in r["whole"]["accuracy"]})
        lines.append("| fixed length | " + " | ".join(str(s) for s in lengths) + " |")
        lines.append("|---" * (len(lengths) + 1) + "|")
        row = []
        for s in lengths:
            vals = [r["whole"]["accuracy"].get(str(s)) for r in recs]
            row.append(f"{statistics.mean(vals):.4f}" if None not in vals else "–")
        lines += ["| mean accuracy | " + " | ".join(row) + " |", ""]
        lines.append(
            "| rule (first checkpoint, stop, pick[, metric]) | steps chosen | accuracy | mean "
            "| train s (search + chosen) |"
        )
        lines.append("|---|---|---|---|---|")
        for rule in rules_for(recs):
            played = [play(r, *rule) for r in recs]
            lines.append(
                f"| {', '.join(str(x) for x in rule)} | {', '.join(str(p['steps']) for p in played)} | "
                f"{', '.join(format(p['accuracy'], '.3f') for p in played)} | "
                f"{statistics.mean(p['accuracy'] for p in played):.4f} | "
                f"{statistics.mean(p['train_s'] for p in played):.0f} |"
            )
    return "\n".join(lines)


def summary(records: list[dict]) -> str:
    """Each rule's mean accuracy over every task and size recorded (each cell: the mean of its seeds)."""
    cells = _groups(records)
    lines = ["\n| rule | " + " | ".join(f"{t} {k}" for t, k in cells) + " | mean |", "|---" * (len(cells) + 2) + "|"]
    for rule in rules_for(records):
        means = [statistics.mean(play(r, *rule)["accuracy"] for r in recs) for recs in cells.values()]
        lines.append(
            f"| {', '.join(str(x) for x in rule)} | "
            + " | ".join(f"{m:.4f}" for m in means)
            + f" | {statistics.mean(means):.4f} |"
        )
    return "\n".join(lines)


def _groups(records: list[dict]) -> dict:
    groups: dict = {}
    for r in records:
        groups.setdefault((r["task"], r["num_samples"]), []).append(r)
    return groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=["ag_news", "sst2", "mr", "banking77"])
    ap.add_argument("--num-samples", nargs="+", type=int, default=[8, 64])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--data-root", default=str(HERE.parents[1] / "shared" / "datasets"))
    ap.add_argument("--validation", type=int, default=1000, help="held-out train texts (never the test split)")
    ap.add_argument("--unlabeled", type=int, default=500, help="the unlabeled pool kept out of the held-out texts")
    ap.add_argument("--params", type=Path, default=HERE.parent / "params.yaml")
    ap.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--records", type=Path, required=True, help="JSON Lines: appended to, and read back")
    ap.add_argument("--rules-only", action="store_true", help="play the rules over --records, no training")
    args = ap.parse_args()
    if not args.rules_only:
        done = {(r["task"], r["num_samples"], r["seed"]) for r in _read(args.records)}
        for k in args.num_samples:
            for task in args.tasks:
                for seed in args.seeds:
                    if (task, k, seed) in done:
                        continue
                    rec = record(task, k, seed, args)
                    with args.records.open("a") as f:
                        f.write(json.dumps(rec) + "\n")
    records = _read(args.records)
    print(report(records))
    print(summary(records))


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


if __name__ == "__main__":
    main()
