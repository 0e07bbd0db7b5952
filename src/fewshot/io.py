"""Tables read with one-line errors, and deterministic, atomic writes.

Reading: a Parquet, CSV, JSON Lines or text file that cannot be read is one :class:`DataError` naming the
file (and the line where the parser knows it), what is wrong and the fix. Writing: an output is complete or
absent, never half-written, and a failed write leaves nothing behind and deletes nothing it did not create.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from fewshot.errors import DataError, FewshotError, ParamsError

# what each file suffix is read as (``txt``: one text per non-blank line, in a column ``text``)
TABLE_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "txt",
}


def not_utf8(path: Path) -> str:
    """Where a file's bytes stop being UTF-8: ``line N`` (decoded whole, as a parser reading in chunks
    cannot say)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return f"line {line}: bytes that are not UTF-8 ({err.reason})"
    return "bytes that are not UTF-8"


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _bad_json_line(text: str) -> tuple[int, str] | None:
    """The first line of a JSON Lines text that is not one JSON object: (its number from 1, what is wrong)."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            return number, f"{err.msg} at column {err.colno}"
        if not isinstance(value, dict):
            return number, f"a JSON {type(value).__name__}, not an object"
    return None


def _parse(path: Path, kind: str) -> pd.DataFrame:
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind == "csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    if kind == "txt":
        return pd.DataFrame({"text": [line.rstrip("\r") for line in text.split("\n") if line.strip()]})
    bad = _bad_json_line(text)
    if bad:
        raise DataError(f"line {bad[0]}: not a JSON object ({bad[1]}). Fix: one JSON object per line")
    return pd.read_json(StringIO(text), lines=True, dtype=False) if text.strip() else pd.DataFrame()


def read_json(path: str | Path, kind: type = dict, fix: str = "write the file again") -> Any:
    """A JSON file's value, which must be a ``kind`` (a dict: an object); a file that is missing, not
    UTF-8, not JSON or of another kind is one DataError naming it (and the line where known) and ``fix``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file. Fix: {fix}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: {not_utf8(path)}. Fix: {fix}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: line {err.lineno}: not valid JSON ({err.msg}). Fix: {fix}") from None
    if not isinstance(value, kind):
        names = {dict: "object", list: "list", str: "string", int: "number", float: "number", bool: "boolean"}
        found = names.get(type(value), "null")
        raise DataError(f"{path}: expected a JSON {names.get(kind, kind.__name__)}, found a {found}. Fix: {fix}")
    return value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The params mapping of a YAML file; a file that is not one (missing, not UTF-8, bad YAML syntax, empty,
    or not a mapping) is one ParamsError naming it, with the line where the parser knows it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found; run from the project root or pass its path")
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: {not_utf8(path)}. Fix: save the file as UTF-8") from None
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ParamsError(
            f"{path}: {where}not valid YAML: {err.problem or err.context}. "
            "Fix: correct the YAML there (indentation, a missing ':' or space after it, an unclosed quote, "
            "a key given twice)"
        ) from None
    except YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({err}). Fix: correct the YAML") from None
    if data is None:
        raise ParamsError(
            f"{path}: the file is empty. Fix: restore the shipped params.yaml (git checkout params.yaml); "
            "to run every default on purpose, write {}"
        )
    if not isinstance(data, dict):
        raise ParamsError(
            f"{path}: expected a mapping of sections at the top level, got a {type(data).__name__}. "
            "Fix: write 'section:' lines with indented 'key: value' lines under them"
        )
    return data


def read_table(path: str | Path, what: str = "") -> pd.DataFrame:
    """A Parquet, CSV (UTF-8), JSON Lines or text file as a frame, by its suffix (:data:`TABLE_SUFFIXES`).

    Anything that keeps it from being read (no such file, no bytes, a truncated Parquet file, a CSV row
    with extra fields, bytes that are not UTF-8, a broken JSON line) is one DataError that names the file
    (``what``: the key or option it came from, e.g. ``data.train``), the line where known, and the fix.
    """
    path = Path(path)
    where = f"{what} '{path}'" if what else str(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise DataError(f"{where}: unknown file type '{path.suffix or '(none)'}'. Fix: use one of {known}")
    if not path.is_file():
        raise DataError(f"{where}: no such file. Fix: check the path")
    if path.stat().st_size == 0:
        raise DataError(f"{where}: the file is empty (0 bytes). Fix: write the data to it again")
    try:
        return _parse(path, kind)
    except DataError as err:
        raise DataError(f"{where}: {err}") from None
    except UnicodeDecodeError:
        raise DataError(f"{where}: {not_utf8(path)}. Fix: save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: no header row and no data. Fix: write the data to it again") from None
    except pd.errors.ParserError as err:
        detail = _first_line(err).split("C error: ")[-1]
        raise DataError(
            f"{where}: not valid CSV ({detail}). Fix: give every row the header's number of fields "
            "(quote texts that hold a comma)"
        ) from None
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError: truncated, or not Parquet
        name = {"parquet": "Parquet", "csv": "CSV", "jsonl": "JSON Lines", "txt": "text"}[kind]
        raise DataError(
            f"{where}: not a readable {name} file ({_first_line(err)}). Fix: write the file again"
        ) from None


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
