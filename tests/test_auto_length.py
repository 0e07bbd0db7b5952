"""num_epochs: auto (fewshot.auto_length): the training length chosen by k-fold cross-validation."""

import numpy as np
import pytest
from tiny import PROBE

from fewshot.arguments import TrainingArguments
from fewshot.auto_length import checkpoints, choose_steps, fold_indices, improves, pick, probe
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import train_body


def test_checkpoints_double_up_to_the_cap_and_try_the_cap():
    assert checkpoints(64) == [4, 8, 16, 32, 64]
    assert checkpoints(20) == [4, 8, 16, 20]
    assert checkpoints(3, first=3) == [3]


def test_folds_are_stratified_and_cover_every_text_once():
    labels = ["a"] * 6 + ["b"] * 4 + ["c"] * 2
    folds = fold_indices(labels, 2, seed=0)
    assert len(folds) == 2
    held = np.concatenate([h for _, h in folds])
    assert sorted(held) == list(range(12))
    for train, held_out in folds:
        assert set(train).isdisjoint(held_out)
        assert {labels[i] for i in held_out} == {"a", "b", "c"}
    assert len(fold_indices(labels, 5, seed=0)) == 2  # no more folds than the smallest class has texts


def test_pick_carries_stopped_folds_forward_and_takes_the_shortest_within_one_standard_error():
    folds = [{4: 0.5, 8: 0.7, 16: 0.6}, {4: 0.6, 8: 0.8}]
    steps, mean = pick(folds, n_held_out=1000)
    assert mean == {4: 0.55, 8: 0.75, 16: 0.7}  # the second fold stopped at 8: its 0.8 carried to 16
    assert steps == 8  # 0.75 ± 0.014 over 1,000 texts: 0.55 is far below
    assert pick(folds, n_held_out=4)[0] == 4  # over 4 texts the error is 0.22: 0.55 is within it
    assert pick([{4: 0.7, 8: 0.7}], 1000)[0] == 4  # a tie: the shorter run
    assert pick([{4: 0.5}, {8: 0.9}], 1000) == (4, {4: 0.7, 8: 0.7})  # a fold not yet at 4: its first score
    # the question-type case: a longer run far better than the short one is chosen even over 48 texts
    assert pick([{4: 0.45, 8: 0.6, 16: 0.75, 32: 0.7}, {4: 0.5, 8: 0.65, 16: 0.8}], 48)[0] == 16


def test_a_fold_goes_on_only_while_a_longer_run_beats_its_best():
    assert improves(0.75, 0.5)  # the question-type case
    assert improves(0.844, 0.828)  # the default task: 8 steps beat 4 by less than one standard error
    assert not improves(0.5, 0.55)
    assert not improves(1.0, 1.0)  # a tie: no better


def test_the_probe_gives_each_held_out_text_its_true_label_probability(tiny_body, texts):
    train, held = texts.iloc[::2], texts.iloc[1::2]
    held_labels = list(held.label[:-1]) + ["a label no training text has"]
    right, p_true = probe(tiny_body, train.text, train.label, held.text, held_labels, seed=0)
    assert right.dtype == bool and len(right) == len(p_true) == len(held)
    assert np.all((p_true >= 0) & (p_true <= 1))
    assert p_true[-1] == 0.0 and not right[-1]  # a label the probe never saw: probability 0, labelled wrong
    n_classes = texts.label.nunique()
    assert np.all(p_true[right] >= 1 / n_classes - 1e-9)  # labelled right: the true label has the most mass
    assert np.all(p_true[~right][:-1] <= 0.5 + 1e-9)  # labelled wrong: another label has more


def test_the_search_is_deterministic_and_leaves_the_body_untouched(tiny_body_dir, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    args = TrainingArguments(body_learning_rate=1e-3, seed=2)
    choices = []
    for _ in range(2):
        body = load_body(str(tiny_body_dir))
        before = body.encode(PROBE)
        choices.append(choose_steps(train_body, body, pairs, texts, args, folds=2, max_steps=16))
        assert np.array_equal(body.encode(PROBE), before)
    first, second = choices
    assert first.scores == second.scores and first.steps == second.steps
    assert first.folds == 2 and first.steps in first.scores
    assert set(first.scores) <= {4, 8, 16}
    assert all(0.0 <= v <= 1.0 for v in first.scores.values())


def test_auto_trains_the_chosen_steps_and_records_the_choice(tiny_body_dir, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    args = TrainingArguments(body_learning_rate=1e-3, auto_max_steps=8, seed=2)
    result = train_body(load_body(str(tiny_body_dir)), pairs, args, labeled=texts)
    assert result.auto is not None and result.steps == result.auto.steps
    assert result.arguments["auto"] == result.auto.as_dict()
    assert result.arguments["auto"]["scores"] == {str(k): v for k, v in result.auto.scores.items()}


def test_auto_trains_the_whole_set_at_the_rate_it_validated(tiny_body_dir, texts):
    # the folds train at a constant rate from the first step; the chosen length trains the same way, not
    # with a warm-up and a decay (which would train the body about half as far as the run that scored best)
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    args = TrainingArguments(body_learning_rate=1e-3, auto_max_steps=8, seed=2)
    auto = load_body(str(tiny_body_dir))
    result = train_body(auto, pairs, args, labeled=texts)
    assert result.arguments["warmup_proportion"] == 0.0
    bodies = {}
    for schedule, warmup in (("constant", 0.0), ("linear", args.warmup_proportion)):
        body = load_body(str(tiny_body_dir))
        train_body(body, pairs, args, max_steps=result.steps, warmup_proportion=warmup, schedule=schedule)
        bodies[schedule] = body.encode(PROBE)
    assert np.array_equal(auto.encode(PROBE), bodies["constant"])
    assert not np.allclose(bodies["constant"], bodies["linear"])


def test_a_batch_loss_cross_validates_its_length_in_labelled_batches(tiny_body_dir, texts):
    # SupConLoss trains on labelled batches of the texts, not on pairs: each fold trains on its own texts,
    # and the length it chooses is trained (without the search, auto would be a single pass over the texts)
    args = TrainingArguments(loss="SupConLoss", batch_size=12, body_learning_rate=1e-3, auto_max_steps=16, seed=2)
    result = train_body(load_body(str(tiny_body_dir)), None, args, labeled=texts)  # no pairs: not needed
    assert result.auto is not None and result.auto.folds == 2
    assert result.steps == result.auto.steps and result.auto.steps in result.auto.scores
    # each fold holds half the texts: half the batches per epoch, so a fold step counts as two whole-set steps
    assert min(result.auto.scores) == 8 and set(result.auto.scores) <= {8, 16}
    single_pass = train_body(load_body(str(tiny_body_dir)), None, args, labeled=texts, auto_folds=1)
    assert single_pass.auto is None and single_pass.steps == -(-len(texts) // 12)


@pytest.mark.parametrize(
    "change", [{"num_epochs": 3}, {"max_steps": 3}, {"batching": "pairs"}, {"auto_folds": 1}, "no texts"]
)
def test_the_search_runs_only_for_auto_grouped_steps_or_a_batch_loss_with_labelled_texts(tiny_body, texts, change):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    args = TrainingArguments(batch_size=16, auto_max_steps=8)
    if change == "no texts":  # the rule of thumb of fewshot.batching.resolve_epochs
        result = train_body(tiny_body, pairs, args)
    else:
        result = train_body(tiny_body, pairs, args, labeled=texts, **change)
    assert result.auto is None and "auto" not in result.arguments


def test_stop_at_ends_training_after_the_step_it_returns_true_for(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    seen = []
    result = train_body(tiny_body, pairs, max_steps=10, stop_at=lambda step: seen.append(step) or step == 3)
    assert result.steps == 3 and seen == [1, 2, 3]
