"""Atomic writes (fewshot.io): complete or absent, nothing left behind, nothing deleted that they did not create."""

import os

import pandas as pd
import pytest

from fewshot.errors import FewshotError
from fewshot.io import atomic_dir, write_json, write_parquet


def _listing(path):
    return sorted(p.name for p in path.iterdir())


def test_a_directory_appears_whole_and_replaces_the_old_one_only_when_complete(tmp_path):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("2")
        raise RuntimeError("failed half way")
    assert (tmp_path / "out" / "a.txt").read_text() == "1" and _listing(tmp_path) == ["out"]
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "b.txt").write_text("3")
    assert _listing(tmp_path / "out") == ["b.txt"] and _listing(tmp_path) == ["out"]
    assert oct((tmp_path / "out").stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_rename_leaves_nothing_and_keeps_the_old_output(tmp_path, monkeypatch):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("1")
    real = os.replace
    calls = []

    def fail_final(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the first moves the old output aside, the second would put the new one in place
            raise OSError("rename failed")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_final)
    with pytest.raises(OSError), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("2")
    monkeypatch.setattr(os, "replace", real)
    assert (tmp_path / "out" / "a.txt").read_text() == "1" and _listing(tmp_path) == ["out"]


def test_a_file_in_the_way_and_a_non_empty_directory_are_refused(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(FewshotError, match="a file is in the way"), atomic_dir(tmp_path / "out"):
        pass
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep").write_text("mine")
    with pytest.raises(FewshotError, match="exists and is not empty"), atomic_dir(tmp_path / "dir", replace=False):
        pass
    assert (tmp_path / "out").read_text() == "a file" and (tmp_path / "dir" / "keep").read_text() == "mine"
    assert _listing(tmp_path) == ["dir", "out"]


def test_file_writes_are_atomic_and_leave_nothing_on_failure(tmp_path):
    write_json({"a": 1}, tmp_path / "m.json")
    with pytest.raises(TypeError):
        write_json({"a": object()}, tmp_path / "m.json")
    assert (tmp_path / "m.json").read_text() == '{\n  "a": 1\n}\n' and _listing(tmp_path) == ["m.json"]
    (tmp_path / "d.parquet").mkdir()
    with pytest.raises(FewshotError, match="a directory is in the way"):
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "d.parquet")
    assert _listing(tmp_path) == ["d.parquet", "m.json"]
