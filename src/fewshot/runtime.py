"""Process-wide concerns of training: determinism, progress bars, and the rank and world size of a
torchrun job. Nothing here changes ``os.environ``."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def progress_enabled() -> bool:
    """Progress bars only for a person (a terminal or a notebook): never in CI or when output is piped."""
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return (sys.stderr.isatty() or "ipykernel" in sys.modules) and not ci


def quiet_libraries() -> None:
    """Silence transformers' info logs, and its progress bars unless a person is watching."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if not progress_enabled():
        hf_logging.disable_progress_bar()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def rank() -> int:
    """This process's rank in a torchrun job (0 without one)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """The number of processes of a torchrun job (1 without one)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0 of a torchrun job, and always without one: only this process writes and tracks."""
    return rank() == 0


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Keep the objects alive before training out of the garbage collector's scans while it runs.

    transformers' ``Trainer.train`` starts with ``gc.collect()``; with torch, pandas and sklearn loaded
    that walks the whole heap, a noticeable share of a few-step run.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def deterministic() -> Iterator[None]:
    """Run torch's deterministic kernels while training, then restore the setting as found.

    Same params and inputs must give byte-identical weights (DVC hashes them). On 2 CPU threads some
    backward kernels of the default body are not: two fresh processes training the same steps gave
    weights that differ by ~1e-6. ``warn_only``: an op without a deterministic kernel (some CUDA ones)
    warns, not fails.
    """
    import torch

    was, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn)
