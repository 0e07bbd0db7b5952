"""Run a stage script on one process, or on N under ``torchrun`` (DDP), N from ``$FEWSHOT_NPROC``.

    python -m fewshot.pipeline.launch stages/train_body.py ARGS...      # the cmd in dvc.yaml stays one line

``FEWSHOT_NPROC`` unset or 1: the script runs in this process (plain ``python``). N > 1: the script runs
under ``torchrun --standalone --nproc_per_node=N``; the sentence-transformers trainer then trains with
DDP (NCCL on GPUs, gloo on CPUs) and only rank 0 (:func:`fewshot.runtime.is_main_process`) writes outputs and logs to
MLflow. N is an environment variable, not a param, so changing it re-runs nothing.
"""

from __future__ import annotations

import os
import runpy
import sys

from fewshot.errors import EXIT_STATUS, FewshotError

ENV = "FEWSHOT_NPROC"


def nproc() -> int:
    raw = os.environ.get(ENV, "1").strip() or "1"
    if raw == "gpu":  # one process per visible GPU
        import torch

        return max(1, torch.cuda.device_count())
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise FewshotError(f"${ENV}='{raw}': expected a positive number of processes (or 'gpu'). Fix: export {ENV}=2")
    return n


def command(script: str, args: list[str], n: int) -> list[str]:
    """The command line that runs ``script`` on ``n`` processes (``torchrun``, from this interpreter)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}", script, *args]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(
            "usage: python -m fewshot.pipeline.launch SCRIPT [ARGS...]   (processes: $FEWSHOT_NPROC, default 1)",
            file=sys.stderr,
        )
        return EXIT_STATUS
    script, args = argv[0], argv[1:]
    try:
        if not os.path.isfile(script):
            raise FewshotError(f"{script}: no such stage script. Fix: run from the project root (dvc repro does)")
        n = nproc()
        if n > 1 and os.path.isfile("params.yaml"):  # bad params here, as one line: under torchrun each
            from fewshot.pipeline.params import load_params  # rank's line would come inside its traceback

            load_params()
    except FewshotError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_STATUS
    if n == 1:
        sys.argv = [script, *args]
        runpy.run_path(script, run_name="__main__")
        return 0
    import torch

    if not torch.cuda.is_available():  # CPU processes: the trainer (accelerate) then uses DDP over gloo
        os.environ.setdefault("ACCELERATE_USE_CPU", "true")
    os.execv(sys.executable, command(script, args, n))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
