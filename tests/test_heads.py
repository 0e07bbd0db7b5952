"""Heads (fewshot.heads): one protocol, one registry; logistic regression, any sklearn classifier, skops."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from tiny import PROBE, fit

from fewshot import metrics
from fewshot.errors import HeadError
from fewshot.heads import (
    HEAD_TYPES,
    DifferentiableHead,
    Examples,
    Head,
    HeadArguments,
    LogisticHead,
    SklearnHead,
    load_head,
    make_head,
)
from fewshot.model import FewShotModel


def multi(texts: pd.DataFrame) -> list[list[str]]:
    """Each text keeps its topic; every third also gets 'news'."""
    return [[label, "news"] if i % 3 == 0 else [label] for i, label in enumerate(texts.label)]


def _examples(x, y, n_classes):
    return Examples([""] * len(y), np.asarray(y), n_classes, embeddings=np.asarray(x, dtype=np.float32))


@pytest.mark.parametrize("head", [LogisticHead(), DifferentiableHead(), SklearnHead("sklearn.svm.LinearSVC")])
def test_every_head_follows_the_protocol(head):
    assert isinstance(head, Head)
    x, y = np.random.default_rng(0).normal(size=(12, 4)), np.arange(12) % 3
    head.fit(_examples(x, y, 3))
    assert head.predict_proba(x).shape == (12, 3) and head.n_parameters() > 0
    assert head.config()["type"] == head.type


def test_the_registry_builds_each_type():
    assert set(HEAD_TYPES) == {"logistic_regression", "differentiable"}
    assert isinstance(make_head(), LogisticHead)
    assert isinstance(make_head(HeadArguments(type="differentiable")), DifferentiableHead)
    assert isinstance(make_head(HeadArguments(type="sklearn.svm.LinearSVC")), SklearnHead)
    assert isinstance(make_head(multi_label=True), SklearnHead)  # the multi-label wrapper needs an estimator
    with pytest.raises(HeadError, match="head.type: unknown 'svm'"):
        make_head(HeadArguments(type="svm"))


@pytest.mark.parametrize(
    "kind, params",
    [
        ("sklearn.svm.LinearSVC", {"C": 0.5}),
        ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 5, "random_state": 0}),
        ("sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": 3}),
        ("sklearn.neural_network.MLPClassifier", {"hidden_layer_sizes": [8], "max_iter": 300, "random_state": 0}),
    ],
)
def test_sklearn_heads_fit_save_with_skops_and_reload(tiny_body, texts, tmp_path, kind, params):
    model = fit(tiny_body, texts.text, texts.label, kind, params)
    assert type(model.head.estimator).__name__ == kind.rsplit(".", 1)[1]
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "head.skops").exists()
    loaded = FewShotModel.load(tmp_path / "m")
    proba = loaded.predict_proba(PROBE)
    assert np.array_equal(model.predict_proba(PROBE), proba)
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1)
    assert list(loaded.predict(PROBE)) == [loaded.labels[i] for i in proba.argmax(axis=1)]
    assert (loaded.predict(texts.text) == texts.label.to_numpy()).mean() > 0.5


def test_linear_svc_proba_is_a_softmax_of_its_decision_function(tiny_body, texts):
    model = fit(tiny_body, texts.text, texts.label, "sklearn.svm.LinearSVC")
    x = model.encode(PROBE)
    d = model.head.estimator.decision_function(x)
    expected = np.exp(d - d.max(1, keepdims=True))
    assert np.allclose(model.head.predict_proba(x), expected / expected.sum(1, keepdims=True))
    assert list(model.head.estimator.predict(x)) == list(model.predict_proba(PROBE).argmax(1))


def test_tampered_skops_head_is_refused(tiny_body, texts, tmp_path):
    import skops.io as sio

    fit(tiny_body, texts.text, texts.label, "sklearn.svm.LinearSVC").save(tmp_path / "m")
    sio.dump({"estimator": os.system}, tmp_path / "m" / "head.skops")  # a crafted file naming a function
    with pytest.raises(HeadError, match=r"refusing to load types outside the allow-list.*posix.system|nt.system"):
        FewShotModel.load(tmp_path / "m")


def test_tampered_head_type_is_refused(tmp_path):
    (tmp_path / "head.json").write_text(json.dumps({"type": "os.system", "params": {}}))
    with pytest.raises(HeadError, match="refusing to load"):
        load_head(tmp_path)


def test_constructors_store_and_fit_validates():
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    for args, match in [
        (HeadArguments(type="sklearn.svm.NoSuchSVC"), r"head.type: 'sklearn.svm' has no 'NoSuchSVC'; did you mean"),
        (HeadArguments(type="sklearn.svm.LinearSVX"), r"did you mean 'sklearn.svm.LinearSVC'\?"),  # its case kept
        (HeadArguments(type="sklearn.cluster.KMeans"), r"head.type: 'sklearn.cluster.KMeans' is not a classifier"),
        (HeadArguments(type="os.path.join"), r"head.type: 'os.path.join' is not a classifier class"),
        (HeadArguments(type="sklearn.svm.LinearSVC", params={"not_a_param": 1}), r"head.params: .*LinearSVC"),
        (HeadArguments(params={"not_a_param": 1}), r"head.params: .*LogisticRegression"),
        (HeadArguments(type="sklearn.svm.LinearSVC", multi_target_strategy="sideways"), "multi_target_strategy"),
    ]:
        head = make_head(args)  # stores
        with pytest.raises(HeadError, match=match):
            head.fit(_examples(x, y, 2))


def test_params_reach_the_estimator():
    head = LogisticHead({"C": 0.5}).fit(_examples(np.eye(4), [0, 1, 0, 1], 2))
    assert head.estimator.C == 0.5 and head.estimator.max_iter == 1000  # the logistic head's own default


def _many_classes(k=30, per_class=8, dim=32, seed=0):
    """Overlapping clusters of many classes: C=1 regularises too hard for them, a larger C fits better."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    x = np.concatenate([c + 1.2 * rng.normal(size=(per_class, dim)) for c in centers])
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(k), per_class)


def test_C_auto_chooses_by_cross_validation_and_keeps_its_scores(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from fewshot.heads.logistic import C_GRID
    from fewshot.metrics import standard_error

    x, y = _many_classes()
    head = LogisticHead().fit(_examples(x, y, 30))  # the default: C auto
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    expected = {c: cross_val_score(LogisticRegression(C=c, max_iter=1000), x, y, cv=folds).mean() for c in C_GRID}
    # LogisticRegressionCV warm-starts along the Cs: within a text of fresh fits on the same folds
    assert head.auto["scores"] == pytest.approx({f"{c:g}": s for c, s in expected.items()}, abs=1 / 48)
    scores = {float(c): s for c, s in head.auto["scores"].items()}
    best = max(scores.values())  # the smallest C within one standard error of the best
    within = [c for c in C_GRID if scores[c] >= best - standard_error(best, len(y))]
    assert head.auto["C"] == min(within) > 1  # C=1 under-fits 30 classes by more than the noise
    assert head.estimator.C == head.auto["C"] and head.params["C"] == "auto"
    head.save(tmp_path)
    loaded = load_head(tmp_path)
    assert loaded.auto == head.auto and loaded.estimator.C == head.auto["C"]
    np.testing.assert_array_equal(loaded.predict_proba(x), head.predict_proba(x))
    assert LogisticHead({"C": 1.0}).fit(_examples(x, y, 30)).auto is None  # a number is used as given


def test_C_auto_folds_follow_the_heads_random_state():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from fewshot.heads.logistic import C_GRID

    x, y = _many_classes()
    seeded = LogisticHead({"random_state": 7}).fit(_examples(x, y, 30))
    folds = StratifiedKFold(5, shuffle=True, random_state=7)
    expected = {
        f"{c:g}": cross_val_score(LogisticRegression(C=c, max_iter=1000), x, y, cv=folds).mean() for c in C_GRID
    }
    assert seeded.auto["scores"] == pytest.approx(expected, abs=1 / 48)
    assert seeded.auto["scores"] != LogisticHead().fit(_examples(x, y, 30)).auto["scores"]


def test_C_auto_breaks_ties_towards_the_strongest_regularisation():
    x = np.eye(4)[[0, 1, 0, 1, 0, 1, 0, 1]] + 0.01 * np.arange(8)[:, None]  # every C separates these perfectly
    head = LogisticHead().fit(_examples(x, [0, 1] * 4, 2))
    assert set(head.auto["scores"].values()) == {1.0} and head.auto["C"] == 1.0


def test_C_auto_on_multi_label_data_is_sklearns_default(texts):
    head = make_head(HeadArguments(), multi_label=True)
    assert isinstance(head, SklearnHead) and head.params["C"] == 1.0


def test_class_weight_balanced_reaches_sklearn_heads():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (200, 4)), rng.normal(0.7, 1, (12, 4))])
    y = np.array([0] * 200 + [1] * 12)
    for kind in ("logistic_regression", "sklearn.svm.LinearSVC"):
        plain = make_head(HeadArguments(type=kind)).fit(_examples(x, y, 2))
        balanced = make_head(HeadArguments(type=kind, params={"class_weight": "balanced"})).fit(_examples(x, y, 2))
        assert balanced.estimator.class_weight == "balanced"
        assert balanced.predict_proba(x).argmax(1).sum() > plain.predict_proba(x).argmax(1).sum()


@pytest.mark.parametrize("kind", ["sklearn.ensemble.RandomForestClassifier", "sklearn.neighbors.KNeighborsClassifier"])
def test_sklearn_head_files_are_byte_identical_across_saves(tmp_path, kind):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    saved = []
    for name in ("a", "b"):
        args = HeadArguments(type=kind, params={"random_state": 0} if "Forest" in kind else {})
        head = make_head(args).fit(_examples(x, y, 3))
        (tmp_path / name).mkdir()
        head.save(tmp_path / name)
        saved.append((tmp_path / name / "head.skops").read_bytes())
        loaded = load_head(tmp_path / name)
        assert np.array_equal(loaded.predict_proba(x), head.predict_proba(x))
    assert saved[0] == saved[1]


@pytest.mark.parametrize("strategy", ["one-vs-rest", "multi-output", "classifier-chain"])
def test_multi_label_strategies_are_saved_and_restored(tiny_body, texts, tmp_path, strategy):
    labels = multi(texts)
    model = fit(tiny_body, texts.text, labels, multi_target_strategy=strategy)
    assert model.labels == ["business", "news", "sports", "tech"] and model.multi_label
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "head.json").read_text())["multi_target_strategy"] == strategy
    loaded = FewShotModel.load(tmp_path / "m")
    assert loaded.head.multi_target_strategy == strategy
    wrapper = {
        "one-vs-rest": "OneVsRestClassifier",
        "multi-output": "MultiOutputClassifier",
        "classifier-chain": "ClassifierChain",
    }[strategy]
    assert type(loaded.head.estimator).__name__ == wrapper
    proba = loaded.predict_proba(PROBE)
    assert proba.shape == (3, 4) and np.array_equal(proba, model.predict_proba(PROBE))
    predicted = loaded.predict(texts.text)
    assert all(isinstance(p, list) for p in predicted)
    scores = metrics.classification_metrics(labels, predicted, loaded.labels)
    assert {"f1_micro", "f1_macro", "subset_accuracy", "hamming_loss"} <= set(scores)
    assert scores["hamming_loss"] < 0.3


def test_predict_gives_class_indices_or_a_multi_hot_matrix():
    from fewshot.heads import predict

    x, y = np.random.default_rng(0).normal(size=(12, 4)), np.arange(12) % 3
    head = LogisticHead().fit(_examples(x, y, 3))
    assert np.array_equal(predict(head, x), head.predict_proba(x).argmax(axis=1))
    multi = make_head(multi_label=True).fit(_examples(x, np.eye(3)[y], 3))
    assert np.array_equal(predict(multi, x), (multi.predict_proba(x) >= 0.5).astype(np.int64))
