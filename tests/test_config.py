import pytest

from fewshot.config import ParamsError, load_params, parse_params
from conftest import ROOT


def test_project_params_file_validates():
    params = load_params(ROOT / "params.yaml")
    # the default body training: groups of 64 texts with all their pairs, one step per 2 texts per class
    # (at least 5) at 1e-4 (bench/RESULTS.md)
    assert params.train.batching == "groups" and params.train.batch_size == 64 and params.train.max_steps == "auto"
    assert params.sample.num_samples == 16 and params.seed == 42
    assert params.train.body_learning_rate == 1e-4
    assert params.teacher.batching == "pairs"


def test_typo_in_a_key_names_it_and_suggests_the_fix():
    with pytest.raises(ParamsError, match=r"unknown key 'train.num_epoch': did you mean 'num_epochs'\?"):
        parse_params({"train": {"num_epoch": 3}})
    with pytest.raises(ParamsError, match=r"unknown key 'sampel': did you mean 'sample'\?"):
        parse_params({"sampel": {}})


def test_bad_value_names_the_key():
    with pytest.raises(ParamsError, match=r"'pairs.sampling_strategy'.*'random'"):
        parse_params({"pairs": {"sampling_strategy": "random"}})
    with pytest.raises(ParamsError, match=r"'train.num_epochs'"):
        parse_params({"train": {"num_epochs": 0}})


def test_dvc_style_scientific_notation_is_a_float(tmp_path):
    # `dvc exp run -S train.body_learning_rate=2e-05` writes this; PyYAML would read a string
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  body_learning_rate: 2e-05\n")
    assert load_params(path).train.body_learning_rate == 2e-5


def test_head_params_are_a_free_mapping():
    assert parse_params({"head": {"params": {"C": 0.5, "class_weight": "balanced"}}}).head.params["C"] == 0.5
