"""Synthetic examples from the label names (fewshot.synthetic, sample.synthetic/templates): setfit's
get_templated_dataset semantics, the zero-shot split, and the sample stage's refusals."""

import pandas as pd
import pytest
from tiny import make_texts

from fewshot import data
from fewshot.arguments import SampleArguments
from fewshot.errors import DataError
from fewshot.pipeline.params import parse_params
from fewshot.synthetic import label_set, templated_examples


def test_the_examples_equal_setfits_templated_dataset():
    from setfit import get_templated_dataset

    names = ["sports", "business", "tech"]
    theirs = get_templated_dataset(candidate_labels=names, template="A story about {}.", sample_size=3).to_pandas()
    ours = templated_examples(names, ["A story about {}."], per_class=3)
    assert list(ours.text) == list(theirs.text)
    assert [names[i] for i in theirs.label] == list(ours.label)
    multi = templated_examples(names, per_class=1, multi_label=True)
    assert list(multi.label) == [["sports"], ["business"], ["tech"]]
    assert list(multi.text) == [f"This sentence is {n}" for n in names]  # setfit's default template


def test_several_templates_are_taken_in_turn():
    out = templated_examples(["pos", "neg"], ["{} it was", "so {}"], per_class=3)
    assert list(out.text) == ["pos it was", "so pos", "pos it was", "neg it was", "so neg", "neg it was"]


@pytest.mark.parametrize("templates", [["no slot"], ["two {} {}"], []])
def test_a_template_without_one_slot_is_refused(templates):
    with pytest.raises(DataError, match="sample.templates"):
        templated_examples(["a", "b"], templates)


def test_the_label_set_is_the_labels_seen_or_the_names_given():
    assert label_set(pd.Series(["b", "a", "b"])) == ["a", "b"]
    assert label_set(pd.Series([["b"], ["a", "c"]])) == ["a", "b", "c"]
    assert label_set(pd.Series(["b"]), ["x", "y"]) == ["x", "y"]


def test_zero_labelled_texts_train_on_the_label_names_only():
    train = make_texts(20, seed=0)
    sets = data.split(train, SampleArguments(num_samples=0, synthetic=4, unlabeled=10, validation=2))
    assert sets.n_synthetic == 12 and len(sets.train) == 12
    assert sorted(set(sets.train.text)) == [f"This sentence is {t}" for t in ("business", "sports", "tech")]
    assert len(sets.unlabeled) == 10 and len(sets.validation) == 6  # drawn from the labelled data as before


def test_priming_adds_the_examples_after_the_unchanged_draw():
    train = make_texts(20, seed=0)
    plain = data.split(train, SampleArguments(num_samples=5))
    primed = data.split(train, SampleArguments(num_samples=5, synthetic=2, templates=("news on {}",)))
    assert plain.n_synthetic == 0
    pd.testing.assert_frame_equal(primed.train.iloc[:15], plain.train)
    assert list(primed.train.text.iloc[15:]) == ["news on business"] * 2 + ["news on sports"] * 2 + ["news on tech"] * 2
    pd.testing.assert_frame_equal(primed.unlabeled, plain.unlabeled)


def test_nothing_to_train_on_is_refused():
    with pytest.raises(DataError, match="sample.num_samples and sample.synthetic are both 0"):
        data.split(make_texts(5), SampleArguments(num_samples=0))


def test_the_params_map_onto_the_arguments():
    params = parse_params({"sample": {"num_samples": 0, "synthetic": 8, "templates": ["{}!", "about {}"]}})
    args = params.sample.arguments(3)
    assert args == SampleArguments(num_samples=0, synthetic=8, templates=("{}!", "about {}"), seed=3)
