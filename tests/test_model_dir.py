"""The model directory format (fewshot.model_dir): its one owner writes, reads, validates and describes it."""

import json

import pytest

from fewshot import model_dir
from fewshot.errors import ModelError


def test_the_directory_holds_body_head_config_and_a_card(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {model_dir.BODY_DIR, model_dir.MODEL_CONFIG, model_dir.CARD, "head.json", "head.safetensors"} <= names
    config = model_dir.read_config(tiny_model_dir)
    assert config.labels == ["business", "sports", "tech"] and config.info["base_model"] == "tiny-bert"
    raw = json.loads((tiny_model_dir / model_dir.MODEL_CONFIG).read_text())
    assert raw["format"] == model_dir.FORMAT_VERSION


def test_the_card_renders_from_the_config_without_loading_the_body(tiny_model_dir):
    config = model_dir.read_config(tiny_model_dir)
    card = model_dir.render_card("m", config, {"type": "logistic_regression", "params": {"C": 1.0}}, {"accuracy": 0.9})
    assert "Base model: `tiny-bert`" in card and "| accuracy | 0.9 |" in card and "`logistic_regression`" in card


def test_a_copy_carries_the_metrics(tiny_model_dir, tmp_path):
    out = model_dir.copy_with_metrics(tiny_model_dir, {"accuracy": 0.75}, tmp_path / "copy")
    assert json.loads((out / model_dir.METRICS).read_text()) == {"accuracy": 0.75}
    assert "| accuracy | 0.75 |" in (out / model_dir.CARD).read_text()
    assert not (tiny_model_dir / model_dir.METRICS).exists()


def test_facts_read_the_json_files(tiny_model_dir):
    facts = model_dir.facts(tiny_model_dir)
    assert facts["labels"] == ["business", "sports", "tech"] and facts["head"]["type"] == "logistic_regression"
    assert facts["size_mb"] > 0 and facts["metrics"] is None


def test_what_is_not_a_model_directory_is_named(tmp_path):
    with pytest.raises(ModelError, match="no such directory"):
        model_dir.check_model_dir(tmp_path / "missing")
    with pytest.raises(ModelError, match=r"--model '.*': not a fewshot model directory \(no fewshot.json\)"):
        model_dir.check_model_dir(tmp_path, "--model")
