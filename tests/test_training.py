"""Body training (fewshot.training): train_body and its arguments object, on the tiny model."""

import gc
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from tiny import PROBE

from fewshot.arguments import TrainingArguments
from fewshot.errors import LossError, TrainingError
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import tokenize_distinct, train_body


def test_training_lowers_the_loss_and_is_deterministic(tiny_body_dir, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    args = TrainingArguments(
        batching="pairs", max_steps=-1, num_epochs=2, batch_size=16, body_learning_rate=1e-3, seed=3
    )
    runs = []
    for _ in range(2):
        body = load_body(str(tiny_body_dir))
        result = train_body(body, pairs, args)
        runs.append((result, body.encode(["game team won", "market stock"])))
    (first, emb1), (second, emb2) = runs
    assert first.steps == second.steps > 0
    assert np.mean([loss for _, loss in first.losses[-3:]]) < np.mean([loss for _, loss in first.losses[:3]])
    assert [loss for _, loss in first.losses] == [loss for _, loss in second.losses]
    assert np.array_equal(emb1, emb2)


def test_fields_override_the_arguments_object(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    result = train_body(tiny_body, pairs, TrainingArguments(max_steps=7), max_steps=2)
    assert result.steps == 2
    with pytest.raises(TypeError):
        train_body(tiny_body, pairs, max_step=2)


@pytest.mark.parametrize(
    "change",
    [
        {"num_epochs": 4},
        {"max_steps": 2},
        {"body_learning_rate": 1e-3},
        {"warmup_proportion": 0.5},
        {"batch_size": 8},
        {"batching": "pairs"},
        {"mixed_precision": "bf16"},
    ],
)
def test_every_length_and_rate_knob_changes_the_trained_body(tiny_body_dir, texts, change):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    base = TrainingArguments(num_epochs=3, batch_size=24, body_learning_rate=1e-4, seed=1)
    trained = []
    for args in (base, replace(base, **change)):
        body = load_body(str(tiny_body_dir))
        train_body(body, pairs, args)
        trained.append(body.encode(PROBE))
    assert not np.array_equal(trained[0], trained[1])


def test_num_epochs_is_the_training_length_with_groups(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)  # 24 texts, 12 a group: 2 steps an epoch
    steps = [train_body(tiny_body, pairs, num_epochs=n, batch_size=12).steps for n in (1, 3, 5)]
    assert steps == [2, 6, 10]
    assert train_body(tiny_body, pairs, num_epochs=5, batch_size=12, max_steps=3).steps == 3  # the override


def test_the_recorded_arguments_hold_only_what_shaped_the_body(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    used = train_body(tiny_body, pairs, num_epochs=2, margin=0.3).arguments
    assert used["epochs"] == 2 and used["steps"] == 2 and used["batching"] == "groups"
    assert "margin" not in used and "num_epochs" not in used  # CosineSimilarityLoss has no margin
    assert used["mixed_precision"] == "fp32"
    contrastive = train_body(tiny_body, pairs, num_epochs=1, loss="ContrastiveLoss", margin=0.3).arguments
    assert contrastive["margin"] == 0.3


def test_tokenizing_distinct_texts_gives_the_whole_columns_tokens(tiny_body):
    column = ["market stock", "game team won today", "market stock", "nasa", "game team won today"]
    calls = []

    def preprocess(texts, **kw):
        calls.append(list(texts))
        return tiny_body.preprocess(texts, **kw)

    once = tokenize_distinct(preprocess)(column)
    whole = tiny_body.preprocess(column)
    assert calls == [["market stock", "game team won today", "nasa"]]
    assert once.keys() == whole.keys()
    for key, value in whole.items():
        assert torch.equal(once[key], value) if isinstance(value, torch.Tensor) else once[key] == value, key


def test_training_leaves_the_garbage_collector_as_it_found_it(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    train_body(tiny_body, pairs, max_steps=2, batch_size=16, seed=0, batching="groups")
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_training_runs_deterministic_kernels_and_restores_the_setting(tiny_body, texts):
    # on 2 CPU threads the default body's weights otherwise differ by ~1e-6 between fresh processes
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    during = []
    train_body(
        tiny_body,
        pairs,
        max_steps=2,
        batch_size=16,
        seed=0,
        batching="groups",
        on_log=lambda step, loss: during.append(torch.are_deterministic_algorithms_enabled()),
    )
    assert during == [True, True]
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize(
    "loss, margin, metric",
    [
        ("BatchAllTripletLoss", 0.5, "cosine"),
        ("BatchHardTripletLoss", 0.5, "euclidean"),
        ("BatchSemiHardTripletLoss", 0.5, "manhattan"),
        ("BatchHardSoftMarginTripletLoss", None, "cosine"),
        ("SupConLoss", None, None),
    ],
)
def test_batch_losses_train_on_labelled_texts(tiny_body_dir, texts, loss, margin, metric):
    body = load_body(str(tiny_body_dir))
    before = body.encode(PROBE)
    args = TrainingArguments(
        max_steps=-1,
        num_epochs=2,
        batch_size=8,
        body_learning_rate=1e-3,
        loss=loss,
        margin=margin,
        distance_metric=metric,
        seed=1,
    )
    result = train_body(body, None, args, labeled=texts)
    assert result.steps == 6  # 24 labelled texts, 8 per batch, 2 epochs: labelled texts, not pairs
    assert not np.allclose(before, body.encode(PROBE))


def test_batch_losses_refuse_multi_label_and_missing_texts(tiny_body):
    with pytest.raises(LossError, match="one label per text"):
        train_body(
            tiny_body,
            None,
            loss="BatchHardTripletLoss",
            labeled=pd.DataFrame({"text": ["a", "b"], "label": [["x"], ["y"]]}),
        )
    with pytest.raises(TrainingError, match="labelled texts"):
        train_body(tiny_body, None, loss="SupConLoss")
    with pytest.raises(TrainingError, match="no pairs"):
        train_body(tiny_body, pd.DataFrame({"sentence_1": [], "sentence_2": [], "label": []}))


@pytest.mark.parametrize(
    "change", [{"num_epochs": 3}, {"body_learning_rate": 1e-3}, {"max_steps": 3}, {"mixed_precision": "fp32"}]
)
def test_the_teachers_length_and_rate_knobs_change_its_body(tiny_body_dir, texts, change):
    from fewshot.arguments import TeacherArguments

    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    base = TeacherArguments(model=str(tiny_body_dir), num_epochs=2, batch_size=64, seed=1)  # grouped: a step an epoch
    trained = []
    for args in (base, replace(base, **change)):
        body = load_body(args.model)
        train_body(body, pairs, args)
        trained.append(body.encode(PROBE))
    assert not np.array_equal(trained[0], trained[1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 autocast trains on a GPU")
def test_fp16_without_a_gpu_is_one_training_error_naming_bf16(tiny_body, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    with pytest.raises(TrainingError, match="mixed_precision: fp16 needs a GPU. Fix: use bf16"):
        train_body(tiny_body, pairs, max_steps=1, mixed_precision="fp16")


@pytest.mark.parametrize(
    "change, said", [({"batch_size": 0}, "batch_size should be a positive"), ({"body_learning_rate": -1.0}, "-1.0")]
)
def test_settings_the_trainer_refuses_are_one_training_error(tiny_body, texts, change, said):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    with pytest.raises(TrainingError, match=rf"body training of .* cannot use these settings \(.*{said}"):
        train_body(tiny_body, pairs, batching="pairs", max_steps=1, **change)
