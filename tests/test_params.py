"""The params schema (fewshot.pipeline.params): params.yaml validated and mapped onto the library's
arguments objects, which hold the only defaults."""

import dataclasses

import pytest
from conftest import ROOT
from ruamel.yaml import YAML

from fewshot.arguments import (
    DistillationArguments,
    HeadArguments,
    PairArguments,
    SampleArguments,
    TeacherArguments,
    TrainingArguments,
)
from fewshot.errors import ParamsError
from fewshot.pipeline.params import Params, load_params, parse_params


def _shipped() -> dict:
    return YAML(typ="safe", pure=True).load((ROOT / "params.yaml").read_text())


def leaves(mapping: dict, prefix: str = "") -> dict:
    """Every leaf key of a params mapping as ``section.key``; ``*.params`` (a free mapping) is a leaf."""
    out = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "params":
            out.update(leaves(value, f"{name}."))
        else:
            out[name] = value
    return out


def _without(mapping: dict, dotted: str) -> dict:
    import copy

    out = copy.deepcopy(mapping)
    *parents, last = dotted.split(".")
    node = out
    for part in parents:
        node = node[part]
    del node[last]
    return out


def test_the_shipped_params_equal_the_library_defaults():
    assert load_params(ROOT / "params.yaml") == Params()
    assert set(leaves(_shipped())) == set(leaves(Params().model_dump()))  # every knob is shown


@pytest.mark.parametrize("key", sorted(leaves(_shipped())))
def test_removing_any_key_changes_nothing(key):
    assert parse_params(_without(_shipped(), key)) == Params()


def test_the_schema_keeps_no_defaults_of_its_own():
    params = Params()
    seed = params.seed
    assert params.train.arguments(seed) == TrainingArguments()
    assert params.teacher.arguments(seed) == TeacherArguments()
    assert params.distill.arguments(seed) == DistillationArguments()
    assert params.head.arguments(seed) == HeadArguments()
    assert params.sample.arguments(seed) == SampleArguments()
    assert params.pairs.arguments(seed) == PairArguments()
    assert seed == TrainingArguments.seed


def test_the_shared_seed_reaches_every_arguments_object():
    params = parse_params({"seed": 7})
    for args in (
        params.train.arguments(7),
        params.teacher.arguments(7),
        params.distill.arguments(7),
        params.sample.arguments(7),
        params.pairs.arguments(7),
        params.head.arguments(7),
        params.teacher.arguments(7).head,
    ):
        assert args.seed == 7


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
    with pytest.raises(ParamsError, match=r"'head.type'"):
        parse_params({"head": {"type": "svm"}})
    with pytest.raises(ParamsError, match="'evaluate.metrics.0'"):
        parse_params({"evaluate": {"metrics": ["auc"]}})
    with pytest.raises(ParamsError, match="'train.loss'"):
        parse_params({"train": {"loss": "NoLoss"}})


def test_dvc_style_scientific_notation_is_a_float(tmp_path):
    # `dvc exp run -S train.body_learning_rate=2e-05` writes this; PyYAML would read a string
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  body_learning_rate: 2e-05\n")
    assert load_params(path).train.body_learning_rate == 2e-5


def test_head_params_are_a_free_mapping():
    assert parse_params({"head": {"params": {"C": 0.5, "class_weight": "balanced"}}}).head.params["C"] == 0.5


def test_setfits_two_phases_are_the_train_and_head_sections():
    params = parse_params({"train": {"num_epochs": 3}, "head": {"num_epochs": 7, "body_learning_rate": 1e-6}})
    assert params.train.arguments(1).num_epochs == 3
    assert params.head.arguments(1).num_epochs == 7 and params.head.arguments(1).body_learning_rate == 1e-6
    assert dataclasses.asdict(HeadArguments()) == {
        "type": "logistic_regression",
        "params": {"C": "auto", "max_iter": 1000},  # C chosen by cross-validation
        "multi_target_strategy": None,
        "num_epochs": 16,  # setfit's head-phase defaults
        "batch_size": 2,
        "body_learning_rate": 1e-5,
        "head_learning_rate": 1e-2,
        "l2_weight": 1e-2,
        "end_to_end": False,
        "early_stopping_patience": None,
        "seed": 42,
    }
    assert parse_params({"teacher": {"head": {"num_epochs": 5}}}).teacher.arguments(1).head.num_epochs == 5


@pytest.mark.parametrize("key", ["num_epochs", "batch_size", "body_learning_rate"])
def test_a_setfit_pair_names_where_the_head_phase_goes(key):
    with pytest.raises(ParamsError, match=rf"'train.{key}'.*head.{key}"):
        parse_params({"train": {key: [1, 16]}})


def test_num_epochs_takes_auto_or_a_count_and_max_steps_overrides():
    assert parse_params({"train": {"num_epochs": "auto"}}).train.num_epochs == "auto"
    assert parse_params({"train": {"num_epochs": 3}}).train.num_epochs == 3
    assert parse_params({"teacher": {"max_steps": 7}}).teacher.max_steps == 7
    for bad in (0, "many", 2.5):
        with pytest.raises(ParamsError, match="'train.num_epochs'"):
            parse_params({"train": {"num_epochs": bad}})
    for bad in (0, -2, "auto"):
        with pytest.raises(ParamsError, match="'train.max_steps'"):
            parse_params({"train": {"max_steps": bad}})


def test_batching_param_is_validated_and_the_teacher_has_it():
    params = parse_params({"train": {"batching": "pairs"}})
    assert params.train.batching == "pairs" and params.teacher.batching == "groups"
    assert parse_params({"teacher": {"batching": "pairs"}}).teacher.batching == "pairs"
    assert parse_params({"distill": {"batching": "pairs"}}).distill.arguments(0).batching == "pairs"
    for section in ("train", "teacher", "distill"):
        with pytest.raises(ParamsError, match=f"{section}.batching"):
            parse_params({section: {"batching": "triples"}})


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"teacher": {"head": {"type": "sklearn.svm.LinearSVX"}}}, r"teacher.head.type: .*'sklearn.svm.LinearSVC'"),
        ({"distill": {"head": {"type": "nope.Classifier"}}}, r"distill.head.type: cannot import module 'nope'"),
        ({"head": {"type": "sklearn.cluster.KMeans"}}, r"head.type: 'sklearn.cluster.KMeans' is not a classifier"),
        ({"teacher": {"head": {"params": {"Cee": 1}}}}, r"teacher.head.params: .*LogisticRegression"),
        ({"distill": {"head": {"type": "differentiable", "params": {"temp": 2}}}}, r"distill.head.params: \['temp'\]"),
        ({"sample": {"num_samples": True}}, r"'sample.num_samples' input should be a valid integer"),
    ],
)
def test_every_head_section_is_checked_when_the_params_are_read(raw, match):
    with pytest.raises(ParamsError, match=match):
        parse_params(raw)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", r"params.yaml: the file is empty. Fix: .*write \{\}"),
        ("# only a comment\n", r"the file is empty"),
        ("sample:\n  num_samples: 4\n   unlabeled: 3\n", r"params.yaml: line 3, column 13: not valid YAML"),
        ("seed: 1\nseed: 2\n", r"line 2, column 1: not valid YAML: found duplicate key"),
        ("- 1\n- 2\n", r"expected a mapping of sections at the top level, got a list"),
    ],
)
def test_a_params_file_that_is_no_mapping_names_the_file_and_line(tmp_path, text, match):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match=match):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("{}\n")
    assert load_params(tmp_path / "params.yaml") == Params()
