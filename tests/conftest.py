import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tiny import build_tiny_body, make_texts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_body_dir(tmp_path_factory) -> Path:
    return build_tiny_body(tmp_path_factory.mktemp("tiny"))


@pytest.fixture()
def tiny_body(tiny_body_dir):
    from fewshot.sources import load_body

    return load_body(str(tiny_body_dir))


@pytest.fixture()
def texts():
    return make_texts(8, seed=3)


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path, monkeypatch):
    """Each test tracks into its own SQLite store, never the project's."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_body_dir, tmp_path_factory) -> Path:
    """A saved FewShotModel (tiny body + logistic head on three topics), shared by the usage tests."""
    from fewshot.model import FewShotModel
    from fewshot.sources import load_body

    train = make_texts(10, seed=1)
    model = FewShotModel.fit(load_body(str(tiny_body_dir)), train.text, train.label, info={"base_model": "tiny-bert"})
    out = tmp_path_factory.mktemp("usage") / "distilled"
    model.save(out)
    return out
