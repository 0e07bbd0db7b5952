"""Deterministic, atomic writes: an output is complete or absent, never half-written."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a sibling temp directory; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def _atomic_file(path: str | Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet without the pandas index, fixed compression: same frame, same bytes."""
    _atomic_file(path, lambda tmp: df.to_parquet(tmp, index=False, compression="zstd"))


def write_json(obj: Any, path: str | Path) -> None:
    _atomic_file(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    _atomic_file(path, lambda tmp: df.to_csv(tmp, index=False))
