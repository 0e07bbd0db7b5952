"""The whole default run, timed stage by stage, against the floor of raw fp32 encoding in the same run.

    python bench/full_run.py                      # one run of `dvc repro` in a fresh clone of HEAD
    python bench/full_run.py --runs 3             # three, each in its own fresh clone
    python bench/full_run.py -S teacher.max_steps=4   # with params changed (as `dvc exp run -S`)
    python bench/full_run.py --floor-sample 1000      # the floor timed on 1,000 texts per body, scaled

Each run clones the repository's HEAD into ``--workdir`` (a fresh clone: empty DVC cache, no MLflow
store), applies any ``-S`` overrides, commits them, and runs ``dvc repro`` with this interpreter's
environment (the virtualenv already built, as ``make run`` finds it once installed) and the clone's
``src`` first on the path. A stage's time is
from DVC's "Running stage" line to the next one (the last: to the end), so DVC's own work between stages
is counted in the stage before it; the total is ``dvc repro``'s wall time.

The floor: after the run, each trained body (student, teacher, distilled) embeds the texts its embed
stage embedded (the few-shot train texts and the test split) with plain fp32
``SentenceTransformer.encode`` (batch 64), plus the teacher's embedding of the unlabeled texts that
distillation needs: the encoding any run must do to evaluate these three models, in this same run on
this machine. The run's total / floor says how close the pipeline is to it. Prints a Markdown table per
run and a summary. A run on a busy or slowed machine can be told apart: the load average, a fixed matrix
workload timed before and after each run (the machine's own speed; on a shared host it varies), and the
run's CPU seconds (the work is deterministic, so more CPU seconds for it means slower cycles).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGE_LINE = re.compile(r"Running stage '([^']+)'")
BODIES = {"student": "models/student_body", "teacher": "models/teacher/body", "distilled": "models/distilled/body"}


def machine_probe(rounds: int = 5) -> float:
    """Seconds of a fixed fp32 matrix workload on both cores (the median of ``rounds``): the machine's own
    speed at that moment. The pipeline's work is deterministic, so a run that is slower while the probe
    is too ran on a slower machine (a shared host), not through a change of its own."""
    import torch

    torch.manual_seed(0)
    a = torch.randn(1024, 1024)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(20):
            a @ a
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (dvc and every stage it ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pipeline(clone: Path, env: dict) -> tuple[float, list[tuple[str, float]], str]:
    """``dvc repro`` in ``clone``: (total seconds, [(stage, seconds)], output)."""
    start = time.perf_counter()
    marks: list[tuple[str, float]] = []
    lines = []
    proc = subprocess.Popen(
        ["dvc", "repro"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in proc.stdout:
        lines.append(line)
        match = STAGE_LINE.search(line)
        if match:
            marks.append((match.group(1), time.perf_counter() - start))
    proc.wait()
    total = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"dvc repro failed in {clone} (exit {proc.returncode}):\n" + "".join(lines[-30:]))
    stages = [(name, (marks[i + 1][1] if i + 1 < len(marks) else total) - at) for i, (name, at) in enumerate(marks)]
    return total, stages, "".join(lines)


def floor_seconds(clone: Path, sample: int = 0) -> dict[str, float]:
    """Raw fp32 ``encode`` of what the run had to embed, by the bodies it trained; with ``sample``, the
    time of an evenly spaced sample of that many texts, scaled to all of them."""
    import pandas as pd
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_grad_enabled(False)
    few = pd.read_parquet(clone / "data/fewshot/train.parquet")["text"].tolist()
    test = pd.read_parquet(clone / "data/fewshot/test.parquet")["text"].tolist()
    unlabeled = pd.read_parquet(clone / "data/fewshot/unlabeled.parquet")["text"].tolist()
    seconds = {}
    for name, folder in BODIES.items():
        body = SentenceTransformer(str(clone / folder), device="cpu")
        texts = few + test + (unlabeled if name == "teacher" else [])
        picked = texts[:: max(1, len(texts) // sample)][:sample] if sample else texts
        start = time.perf_counter()
        body.encode(picked, batch_size=64)
        seconds[name] = (time.perf_counter() - start) * len(texts) / len(picked)
    return seconds


def set_params(clone: Path, overrides: list[str]) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    path = clone / "params.yaml"
    params = yaml.load(path.read_text())
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node[part]
        node[leaf] = YAML(typ="safe", pure=True).load(value)
    with path.open("w") as f:
        yaml.dump(params, f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=HERE / "results" / "full_run")
    ap.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--keep", action="store_true", help="keep the clones (default: remove each after its run)")
    ap.add_argument(
        "--floor-sample", type=int, default=0, help="time the floor on this many texts per body, scaled (0: all)"
    )
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    totals, ratios = [], []
    for k in range(1, args.runs + 1):
        clone = args.workdir / f"run-{k}"
        shutil.rmtree(clone, ignore_errors=True)
        clone.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        if args.set:
            set_params(clone, args.set)
            subprocess.run(["git", "commit", "-qam", "bench overrides"], cwd=clone, check=True)
        load, probe, cpu = os.getloadavg()[0], machine_probe(), cpu_seconds()
        # the clone's own library, whichever checkout this interpreter's editable install points at
        total, stages, _ = run_pipeline(clone, {**env, "PYTHONPATH": str(clone / "src")})
        cpu, probe_end = cpu_seconds() - cpu, machine_probe()
        floor = floor_seconds(clone, args.floor_sample)
        floor_total = sum(floor.values())
        totals.append(total)
        ratios.append(total / floor_total)
        print(
            f"\n### run {k} (load average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}; "
            f"machine probe {probe:.2f} s at start, {probe_end:.2f} s at end)\n"
        )
        print("| stage | s |\n|---|---|")
        for name, seconds in stages:
            print(f"| {name} | {seconds:.1f} |")
        print(f"| **total (`dvc repro`)** | **{total:.1f}** |")
        print(f"| CPU seconds of the run (user + system, both cores) | {cpu:.1f} |")
        for name, seconds in floor.items():
            print(f"| floor: fp32 encode by the {name} body | {seconds:.1f} |")
        print(f"| floor | {floor_total:.1f} |\n| **total / floor** | **{total / floor_total:.2f}** |")
        for model in ("student", "teacher", "distilled"):
            metrics = (clone / "metrics" / f"{model}.json").read_text()
            accuracy = re.search(r'"accuracy":\s*([0-9.]+)', metrics).group(1)
            print(f"{model} accuracy: {accuracy}")
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    spread = f" ± {statistics.stdev(totals):.1f}" if len(totals) > 1 else ""
    print(f"\ntotal: {statistics.fmean(totals):.1f}{spread} s over {len(totals)} run(s): {[round(t) for t in totals]}")
    print(f"total / floor: {[round(r, 2) for r in ratios]}")


if __name__ == "__main__":
    main()
