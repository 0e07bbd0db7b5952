"""The differentiable head (fewshot.heads.differentiable): the head phase, end to end, validation,
class weights, multi-label, safetensors."""

import numpy as np
import pytest
import torch
from tiny import PROBE, fit

from fewshot.errors import HeadError
from fewshot.heads import Examples, HeadArguments, make_head
from fewshot.heads.differentiable import DifferentiableHead, class_weights
from fewshot.model import FewShotModel
from fewshot.sources import load_body

FAST = HeadArguments(type="differentiable", num_epochs=4, batch_size=4, head_learning_rate=5e-2, seed=3)


def _body_state(body) -> dict:
    return {k: v.clone() for k, v in body.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def _replace(**changes) -> HeadArguments:
    from dataclasses import replace

    return replace(FAST, **changes)


def test_trains_saves_safetensors_and_reloads(tiny_body, texts, tmp_path):
    before = _body_state(tiny_body)
    model = fit(tiny_body, texts.text, texts.label, "differentiable", {"temperature": 0.5}, FAST)
    assert _same_state(before, _body_state(tiny_body))  # not end to end: the body is frozen
    head = model.head
    assert head.linear.out_features == 3 and head.linear.in_features == 32
    assert len(head.history) == 4 and head.history[-1]["loss"] < head.history[0]["loss"]
    model.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"head.safetensors", "head.json"} <= files and not any(f.endswith((".pkl", ".skops")) for f in files)
    loaded = FewShotModel.load(tmp_path / "m")
    assert np.allclose(model.predict_proba(PROBE), loaded.predict_proba(PROBE), atol=1e-6)
    assert np.allclose(loaded.predict_proba(PROBE).sum(axis=1), 1)
    assert (model.predict(texts.text) == texts.label.to_numpy()).mean() > 0.5


def test_temperature_divides_the_logits():
    x = np.random.default_rng(0).normal(size=(6, 32)).astype(np.float32)
    head = DifferentiableHead({"temperature": 1.0}, FAST).fit(Examples([""] * 6, np.arange(6) % 3, 3, embeddings=x))
    hot = DifferentiableHead({"temperature": 0.25})
    hot.linear, hot.n_classes = head.linear, 3
    assert hot.predict_proba(x).max(axis=1).mean() > head.predict_proba(x).max(axis=1).mean()


@pytest.mark.parametrize(
    "key, value", [("num_epochs", 7), ("batch_size", 3), ("head_learning_rate", 1e-1), ("l2_weight", 0.5)]
)
def test_every_head_phase_knob_changes_the_fitted_head(key, value):
    x = np.random.default_rng(0).normal(size=(12, 8)).astype(np.float32)
    examples = lambda: Examples([""] * 12, np.arange(12) % 3, 3, embeddings=x)  # noqa: E731
    base = DifferentiableHead(None, FAST).fit(examples())
    changed = DifferentiableHead(None, _replace(**{key: value})).fit(examples())
    assert not torch.equal(base.linear.weight, changed.linear.weight)


def test_end_to_end_trains_the_body_with_the_head_phase_learning_rate(tiny_body_dir, texts):
    runs = []
    for lr in (1e-3, 1e-3, 1e-12):
        body = load_body(str(tiny_body_dir))
        before = _body_state(body)
        fit(
            body,
            texts.text,
            texts.label,
            "differentiable",
            phase=_replace(num_epochs=2, end_to_end=True, body_learning_rate=lr),
        )
        after = _body_state(body)
        runs.append(max(float((after[k].float() - before[k].float()).abs().max()) for k in before))
        runs.append(body.encode(PROBE))
    assert runs[0] > 1e-4  # the body moved
    assert np.array_equal(runs[1], runs[3])  # deterministic
    assert runs[4] < runs[0] / 100  # the body's step follows the head phase's body_learning_rate


def test_validation_is_reported_per_epoch_and_stops_early(tiny_body, texts):
    # validation labels all wrong: the better the head fits, the worse the validation loss
    wrong = texts.label.map({"sports": "tech", "tech": "business", "business": "sports"})
    seen: list = []
    model = fit(
        tiny_body,
        texts.text,
        texts.label,
        "differentiable",
        phase=_replace(num_epochs=10, early_stopping_patience=2),
        validation=(texts.text, wrong),
        on_epoch=lambda e, r: seen.append((e, r)),
    )
    history = model.head.history
    assert {"val_loss", "val_accuracy"} <= set(history[0]) and [r for _, r in seen] == history
    assert len(history) < 10  # stopped early
    best = int(np.argmin([r["val_loss"] for r in history])) + 1
    assert len(history) == best + 2  # patience 2
    again = fit(tiny_body, texts.text, texts.label, "differentiable", phase=_replace(num_epochs=best))
    assert np.allclose(model.predict_proba(PROBE), again.predict_proba(PROBE), atol=1e-6)  # best epoch kept


def test_class_weights():
    y = np.array([0] * 9 + [1] * 3)
    assert np.allclose(class_weights("balanced", y, 2).numpy(), [12 / 18, 12 / 6])
    assert np.allclose(class_weights([1, 3], y, 2).numpy(), [1, 3])
    with pytest.raises(HeadError, match="class_weight"):
        class_weights("heavy", y, 2)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 4)), rng.normal(0.7, 1, (6, 4))]).astype(np.float32)
    y = np.array([0] * 60 + [1] * 6)
    phase = HeadArguments(type="differentiable", num_epochs=30, batch_size=16, head_learning_rate=5e-2)
    examples = lambda: Examples([""] * len(y), y, 2, embeddings=x)  # noqa: E731
    plain = DifferentiableHead(None, phase).fit(examples()).predict_proba(x).argmax(1).sum()
    balanced = DifferentiableHead({"class_weight": "balanced"}, phase).fit(examples()).predict_proba(x)
    assert balanced.argmax(1).sum() > plain  # the minority class is predicted more often


def test_constructor_stores_and_fit_validates():
    head = make_head(HeadArguments(type="differentiable", params={"C": 1.0}))  # stored, not checked
    with pytest.raises(HeadError, match=r"head.params: \['C'\]"):
        head.fit(Examples(["a", "b"], np.array([0, 1]), 2, embeddings=np.zeros((2, 4), np.float32)))
    with pytest.raises(HeadError, match="multi_target_strategy"):
        make_head(HeadArguments(type="differentiable", multi_target_strategy="one-vs-rest"))


def test_multi_label_uses_sigmoid(tiny_body, texts, tmp_path):
    from test_heads import multi

    labels = multi(texts)
    model = fit(tiny_body, texts.text, labels, "differentiable", phase=_replace(num_epochs=8, seed=1))
    proba = model.predict_proba(PROBE)
    assert proba.shape == (3, 4) and not np.allclose(proba.sum(axis=1), 1)  # independent sigmoids
    model.save(tmp_path / "m")
    loaded = FewShotModel.load(tmp_path / "m")
    assert loaded.multi_label and np.allclose(loaded.predict_proba(PROBE), proba, atol=1e-6)


def test_end_to_end_runs_deterministic_kernels_and_restores_the_setting(tiny_body, texts):
    # as in body training: on 2 CPU threads the body's weights otherwise differ run to run by ~1e-6
    during: list = []
    fit(
        tiny_body,
        texts.text,
        texts.label,
        "differentiable",
        phase=_replace(num_epochs=2, end_to_end=True),
        on_epoch=lambda epoch, record: during.append(torch.are_deterministic_algorithms_enabled()),
    )
    assert during == [True, True]
    assert not torch.are_deterministic_algorithms_enabled()
