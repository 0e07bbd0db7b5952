"""Deterministic, atomic writes: an output is complete or absent, never half-written, and a failed write
leaves nothing behind and deletes nothing it did not create."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from fewshot.errors import FewshotError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sibling(path: Path, kind: str) -> Path:
    """A fresh hidden temp name beside ``path`` (a directory, or a reserved file name), ours alone, with the
    permissions a plain ``mkdir`` or ``open`` would give (tempfile's are private)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        return tmp
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path, replace: bool = True) -> Iterator[Path]:
    """Yield a fresh sibling temp directory; on success it becomes ``path``, on any failure it is removed.

    An existing directory at ``path`` is replaced only when ``replace`` (a stage output, a model saved
    again), and only once the new one is complete; a file at ``path`` is never replaced by a directory.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FewshotError(f"{path}: a file is in the way of the directory to write. Fix: move it, or write elsewhere")
    if path.exists() and not replace and any(path.iterdir()):
        raise FewshotError(f"{path}: exists and is not empty. Fix: choose another path, or pass --overwrite")
    tmp = _sibling(path, "dir")
    old = None
    try:
        yield tmp
        if path.exists():
            old = _sibling(path, "dir")
            os.replace(path, old)  # aside, so a failed rename below can put it back
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
                old = None
            raise
    finally:
        _remove(tmp)
        if old is not None:
            _remove(old)


def atomic_file(path: str | Path, write) -> None:
    """``write(tmp)`` to a fresh sibling, renamed to ``path`` when complete; removed on any failure."""
    path = Path(path)
    if path.is_dir():
        raise FewshotError(f"{path}: a directory is in the way of the file to write. Fix: write elsewhere")
    tmp = _sibling(path, "file")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet without the pandas index, fixed compression: same frame, same bytes."""
    atomic_file(path, lambda tmp: df.to_parquet(tmp, index=False, compression="zstd"))


def write_json(obj: Any, path: str | Path) -> None:
    atomic_file(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    atomic_file(path, lambda tmp: df.to_csv(tmp, index=False))


def write_jsonl(df: pd.DataFrame, path: str | Path) -> None:
    atomic_file(path, lambda tmp: df.to_json(tmp, orient="records", lines=True, force_ascii=False))
