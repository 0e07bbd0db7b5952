"""Every SetFit training option, on the tiny model: two-phase arguments, heads, multi-label, losses,
labels, class weights, head-phase validation, evaluation metrics."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from fewshot import data, metrics
from fewshot.body import load_body, make_loss, train_body
from fewshot.config import ParamsError, load_params, parse_params
from fewshot.differentiable import DifferentiableHead, class_weights
from fewshot.heads import HeadError, SklearnHead, make_head
from fewshot.losses import LossError, SupConLoss
from fewshot.model import FewShotModel
from fewshot.pairs import generate_pairs

PROBE = ["game team won the cup", "bank oil prices", "nasa space research"]
FAST = {"num_epochs": 4, "batch_size": 4, "head_learning_rate": 5e-2}


def _body_state(body) -> dict:
    return {k: v.clone() for k, v in body.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


# --- two-phase arguments -----------------------------------------------------------------------
def test_two_phase_values_scalar_pair_and_setfit_defaults():
    train = parse_params({"train": {"num_epochs": 3, "batch_size": [8, 4], "body_learning_rate": [3e-5, 1e-6]}}).train
    assert train.phase("num_epochs", 0) == 3
    assert train.head_phase()["num_epochs"] == 16  # a scalar sets the body phase; the head phase keeps setfit's 16
    assert (train.phase("batch_size", 0), train.phase("batch_size", 1)) == (8, 4)
    assert train.head_phase()["body_learning_rate"] == 1e-6
    defaults = parse_params({}).train
    assert defaults.head_phase() == {
        "num_epochs": 16, "batch_size": 2, "body_learning_rate": 1e-5, "head_learning_rate": 1e-2,
        "l2_weight": 1e-2, "end_to_end": False, "max_length": None,
    }
    teacher = parse_params({"teacher": {"num_epochs": [2, 5]}}).teacher  # the teacher inherits the options
    assert teacher.head_phase()["num_epochs"] == 5


def test_two_phase_value_written_by_dvc_exp_run_set_param(tmp_path):
    from dvc.utils.hydra import apply_overrides  # what `dvc exp run -S` calls on params.yaml

    path = tmp_path / "params.yaml"
    path.write_text("train:\n  num_epochs: 5\n  body_learning_rate: 2.0e-05\n")
    apply_overrides(path, ["train.num_epochs=[3,10]", "train.body_learning_rate=[2e-05,1e-05]"])
    train = load_params(path).train
    assert train.num_epochs == (3, 10) and train.body_learning_rate == (2e-5, 1e-5)


@pytest.mark.parametrize("value", [0, [3, 0], [1, 2, 3], "many", 2.5])
def test_bad_two_phase_values_name_the_key(value):
    with pytest.raises(ParamsError, match=r"'train.num_epochs'.*pair \[body_phase, head_phase\]"):
        parse_params({"train": {"num_epochs": value}})


def test_body_phase_uses_the_first_value(tiny_body, texts):
    from fewshot.body import train_from_params
    from fewshot.pairs import with_texts

    pairs = with_texts(generate_pairs(texts.label), texts.text)
    cfg = parse_params({"train": {"num_epochs": [1, 7], "batch_size": [1000, 3]}}).train
    result = train_from_params(tiny_body, pairs, cfg, seed=1)
    assert result.steps == 1  # one epoch of one batch: the body-phase values


# --- differentiable head -------------------------------------------------------------------------
def test_differentiable_head_trains_saves_safetensors_and_reloads(tiny_body, texts, tmp_path):
    before = _body_state(tiny_body)
    model = FewShotModel.fit(tiny_body, texts.text, texts.label, head_type="differentiable",
                             head_params={"temperature": 0.5}, head_training=FAST, seed=3)
    assert _same_state(before, _body_state(tiny_body))  # not end to end: the body is frozen
    head = model.head
    assert head.linear.out_features == 3 and head.linear.in_features == 32
    assert len(head.history) == 4 and head.history[-1]["loss"] < head.history[0]["loss"]
    model.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"head.safetensors", "head.json"} <= files and not any(f.endswith((".pkl", ".skops")) for f in files)
    loaded = FewShotModel.load(tmp_path / "m")
    assert np.allclose(model.predict_proba(PROBE), loaded.predict_proba(PROBE), atol=1e-6)
    proba = loaded.predict_proba(PROBE)
    assert np.allclose(proba.sum(axis=1), 1)
    assert (model.predict(texts.text) == texts.label.to_numpy()).mean() > 0.5


def test_temperature_divides_the_logits(tiny_body, texts):
    x = np.random.default_rng(0).normal(size=(6, 32)).astype(np.float32)
    head = DifferentiableHead({"temperature": 1.0}).fit(x, np.array([0, 1, 2, 0, 1, 2]), training=FAST)
    hot = DifferentiableHead({"temperature": 0.25})
    hot.linear, hot.n_classes = head.linear, 3
    assert hot.predict_proba(x).max(axis=1).mean() > head.predict_proba(x).max(axis=1).mean()


def test_end_to_end_trains_the_body_with_the_head_phase_learning_rate(tiny_body_dir, texts):
    runs = []
    for lr in (1e-3, 1e-3, 1e-12):
        body = load_body(str(tiny_body_dir))
        before = _body_state(body)
        FewShotModel.fit(body, texts.text, texts.label, head_type="differentiable",
                         head_training={**FAST, "num_epochs": 2, "end_to_end": True, "body_learning_rate": lr}, seed=3)
        after = _body_state(body)
        runs.append(max(float((after[k].float() - before[k].float()).abs().max()) for k in before))
        runs.append(body.encode(PROBE))
    assert runs[0] > 1e-4  # the body moved
    assert np.array_equal(runs[1], runs[3])  # deterministic
    assert runs[4] < runs[0] / 100  # the body's step follows train.body_learning_rate[1]


def test_validation_is_reported_per_epoch_and_stops_early(tiny_body, texts):
    # validation labels all wrong: the better the head fits, the worse the validation loss
    wrong = texts.label.map({"sports": "tech", "tech": "business", "business": "sports"})
    seen: list = []
    model = FewShotModel.fit(
        tiny_body, texts.text, texts.label, head_type="differentiable",
        head_training={**FAST, "num_epochs": 10, "early_stopping_patience": 2},
        validation=(texts.text, wrong), seed=3, on_epoch=lambda e, r: seen.append((e, r)),
    )
    history = model.head.history
    assert {"val_loss", "val_accuracy"} <= set(history[0]) and [r for _, r in seen] == history
    assert len(history) < 10  # stopped early
    best = int(np.argmin([r["val_loss"] for r in history])) + 1
    assert len(history) == best + 2  # patience 2
    again = FewShotModel.fit(tiny_body, texts.text, texts.label, head_type="differentiable",
                             head_training={**FAST, "num_epochs": best}, seed=3)
    assert np.allclose(model.predict_proba(PROBE), again.predict_proba(PROBE), atol=1e-6)  # best epoch kept


def test_differentiable_class_weights():
    y = np.array([0] * 9 + [1] * 3)
    assert np.allclose(class_weights("balanced", y, 2).numpy(), [12 / 18, 12 / 6])
    assert np.allclose(class_weights([1, 3], y, 2).numpy(), [1, 3])
    with pytest.raises(HeadError, match="class_weight"):
        class_weights("heavy", y, 2)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 4)), rng.normal(0.7, 1, (6, 4))]).astype(np.float32)
    y = np.array([0] * 60 + [1] * 6)
    args = {"num_epochs": 30, "batch_size": 16, "head_learning_rate": 5e-2}
    plain = DifferentiableHead().fit(x, y, 2, training=args).predict_proba(x).argmax(1).sum()
    balanced = DifferentiableHead({"class_weight": "balanced"}).fit(x, y, 2, training=args).predict_proba(x)
    assert balanced.argmax(1).sum() > plain  # the minority class is predicted more often


def test_unknown_differentiable_param_is_named():
    with pytest.raises(HeadError, match=r"head.params: \['C'\]"):
        make_head("differentiable", {"C": 1.0})


# --- any sklearn classifier ------------------------------------------------------------------------
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
    model = FewShotModel.fit(tiny_body, texts.text, texts.label, head_type=kind, head_params=params)
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
    model = FewShotModel.fit(tiny_body, texts.text, texts.label, head_type="sklearn.svm.LinearSVC")
    x = model.encode(PROBE)
    d = model.head.estimator.decision_function(x)
    expected = np.exp(d - d.max(1, keepdims=True))
    assert np.allclose(model.head.predict_proba(x), expected / expected.sum(1, keepdims=True))
    assert list(model.head.estimator.predict(x)) == list(model.predict_proba(PROBE).argmax(1))


def test_tampered_skops_head_is_refused(tiny_body, texts, tmp_path):
    import skops.io as sio

    FewShotModel.fit(tiny_body, texts.text, texts.label, head_type="sklearn.svm.LinearSVC").save(tmp_path / "m")
    sio.dump({"estimator": os.system}, tmp_path / "m" / "head.skops")  # a crafted file naming a function
    with pytest.raises(HeadError, match=r"refusing to load types outside the allow-list.*posix.system|nt.system"):
        FewShotModel.load(tmp_path / "m")


def test_bad_head_type_and_params_are_named():
    with pytest.raises(HeadError, match=r"head.type: cannot import 'sklearn.svm.NoSuchSVC'"):
        make_head("sklearn.svm.NoSuchSVC")
    with pytest.raises(HeadError, match=r"head.type: 'os.path.join' is not a classifier class"):
        make_head("os.path.join")
    with pytest.raises(HeadError, match=r"head.params: .*LinearSVC"):
        make_head("sklearn.svm.LinearSVC", {"not_a_param": 1})
    with pytest.raises(ParamsError, match=r"'head.type'"):
        parse_params({"head": {"type": "svm"}})


def test_class_weight_balanced_reaches_sklearn_heads():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (200, 4)), rng.normal(0.7, 1, (12, 4))])
    y = np.array([0] * 200 + [1] * 12)
    for kind in ("logistic_regression", "sklearn.svm.LinearSVC"):
        plain = make_head(kind, {}).fit(x, y, 2)
        balanced = make_head(kind, {"class_weight": "balanced"}).fit(x, y, 2)
        assert balanced.estimator.class_weight == "balanced"
        assert balanced.predict_proba(x).argmax(1).sum() > plain.predict_proba(x).argmax(1).sum()


# --- multi-label ---------------------------------------------------------------------------------
def _multi(texts: pd.DataFrame) -> list[list[str]]:
    """Each text keeps its topic; every third also gets 'news'."""
    return [[label, "news"] if i % 3 == 0 else [label] for i, label in enumerate(texts.label)]


@pytest.mark.parametrize("strategy", ["one-vs-rest", "multi-output", "classifier-chain"])
def test_multi_label_strategies_are_saved_and_restored(tiny_body, texts, tmp_path, strategy):
    labels = _multi(texts)
    model = FewShotModel.fit(tiny_body, texts.text, labels, multi_target_strategy=strategy)
    assert model.labels == ["business", "news", "sports", "tech"] and model.multi_label
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "head.json").read_text())["multi_target_strategy"] == strategy
    loaded = FewShotModel.load(tmp_path / "m")
    assert loaded.head.multi_target_strategy == strategy
    wrapper = {"one-vs-rest": "OneVsRestClassifier", "multi-output": "MultiOutputClassifier",
               "classifier-chain": "ClassifierChain"}[strategy]
    assert type(loaded.head.estimator).__name__ == wrapper
    proba = loaded.predict_proba(PROBE)
    assert proba.shape == (3, 4) and np.array_equal(proba, model.predict_proba(PROBE))
    predicted = loaded.predict(texts.text)
    assert all(isinstance(p, list) for p in predicted)
    scores = metrics.classification_metrics(labels, predicted, loaded.labels)
    assert {"f1_micro", "f1_macro", "subset_accuracy", "hamming_loss"} <= set(scores)
    assert scores["hamming_loss"] < 0.3


def test_multi_label_differentiable_head_uses_sigmoid(tiny_body, texts, tmp_path):
    labels = _multi(texts)
    model = FewShotModel.fit(tiny_body, texts.text, labels, head_type="differentiable",
                             head_training={**FAST, "num_epochs": 8}, seed=1)
    proba = model.predict_proba(PROBE)
    assert proba.shape == (3, 4) and not np.allclose(proba.sum(axis=1), 1)  # independent sigmoids
    model.save(tmp_path / "m")
    loaded = FewShotModel.load(tmp_path / "m")
    assert loaded.multi_label and np.allclose(loaded.predict_proba(PROBE), proba, atol=1e-6)


def test_multi_label_pairs_are_positive_when_texts_share_a_label():
    labels = [["a"], ["a", "b"], ["b"], ["c"]]
    pairs = generate_pairs(labels, sampling_strategy="unique")
    got = {(int(i), int(j)): float(y) for i, j, y in pairs[["idx_1", "idx_2", "label"]].itertuples(index=False)}
    assert got == {(0, 1): 1.0, (1, 2): 1.0, (0, 2): 0.0, (0, 3): 0.0, (1, 3): 0.0, (2, 3): 0.0}


def test_multi_label_data_lists_and_multi_hot_rows():
    df = pd.DataFrame({"text": ["x y", "y z", "z w"], "label": [[1, 0, 1], [0, 1, 0], [1, 1, 0]]})
    out = data.validate(df, label_names=["red", "green", "blue"])
    assert list(out.label) == [["blue", "red"], ["green"], ["green", "red"]]
    lists = data.validate(pd.DataFrame({"text": ["a", "b"], "label": [["x", "y"], ["y"]]}))
    assert list(lists.label) == [["x", "y"], ["y"]]
    few = data.sample(pd.DataFrame({"text": list("abcdef"), "label": [["x"], ["y"], ["x", "y"], ["x"], ["y"], ["x"]]}),
                      num_samples=2, seed=0)
    assert all(sum(lab in row for row in few.label) >= 2 for lab in ("x", "y"))


# --- losses ------------------------------------------------------------------------------------
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
    built = make_loss(body, loss, margin, metric)
    if margin is not None:
        assert getattr(built, "triplet_margin", getattr(built, "margin", None)) == margin
    if metric == "manhattan":
        emb = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
        assert torch.equal(built.distance_metric(emb), torch.tensor([[0.0, 3.0], [3.0, 0.0]]))
    before = body.encode(PROBE)
    result = train_body(body, None, num_epochs=2, batch_size=8, body_learning_rate=1e-3, loss=loss, margin=margin,
                        distance_metric=metric, labeled=texts, seed=1)
    assert result.steps == 6  # 24 labelled texts, 8 per batch, 2 epochs: labelled texts, not pairs
    assert not np.allclose(before, body.encode(PROBE))


def test_pair_losses_take_the_distance_metric(tiny_body):
    from sentence_transformers.losses import SiameseDistanceMetric

    wrapped = make_loss(tiny_body, "OnlineContrastiveLoss", margin=0.3, distance_metric="euclidean")
    assert wrapped.loss.distance_metric == SiameseDistanceMetric.EUCLIDEAN and wrapped.loss.margin == 0.3


def test_supcon_prefers_embeddings_clustered_by_label():
    labels = torch.tensor([0, 0, 1, 1])
    loss = SupConLoss(model=None, temperature=0.1)
    clustered = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    assert loss.compute_loss_from_embeddings([clustered], labels) < loss.compute_loss_from_embeddings([mixed], labels)


def test_batch_losses_refuse_multi_label_and_misplaced_settings(tiny_body, texts):
    with pytest.raises(LossError, match="one label per text"):
        train_body(tiny_body, None, loss="BatchHardTripletLoss", labeled=pd.DataFrame(
            {"text": ["a", "b"], "label": [["x"], ["y"]]}))
    with pytest.raises(LossError, match="train.margin"):
        make_loss(tiny_body, "BatchHardSoftMarginTripletLoss", margin=1.0)
    with pytest.raises(ValueError, match="labelled texts"):
        train_body(tiny_body, None, loss="SupConLoss")


# --- labels ----------------------------------------------------------------------------------------
def test_integer_labels_with_names(tiny_body, texts):
    codes = texts.label.map({"business": 0, "sports": 1, "tech": 2})
    named = data.validate(pd.DataFrame({"text": texts.text, "label": codes}),
                          label_names=["business", "sports", "tech"])
    assert list(named.label) == list(texts.label)
    model = FewShotModel.fit(tiny_body, named.text, named.label)
    assert set(model.predict(PROBE)) <= {"business", "sports", "tech"}
    with pytest.raises(data.DataError, match="label 3 has no name"):
        data.validate(pd.DataFrame({"text": ["a", "b"], "label": [0, 3]}), label_names=["x", "y"])


def test_unknown_labels_at_evaluation_are_reported():
    scores = metrics.classification_metrics(["a", "b", "c"], ["a", "a", "b"], ["a", "b"])
    assert scores["unknown_labels"] == {"c": 1} and scores["n"] == 3


# --- evaluation metrics ------------------------------------------------------------------------------
def test_evaluate_metrics_are_chosen_and_default_keys_stay():
    y_true, y_pred = ["a", "b", "b", "a"], ["a", "b", "a", "a"]
    default = metrics.classification_metrics(y_true, y_pred, ["a", "b"])
    assert set(default) == {"accuracy", "f1_macro", "precision_macro", "recall_macro", "n", "per_class",
                            "unknown_labels"}
    names = parse_params({"evaluate": {"metrics": ["f1_weighted", "matthews_corrcoef", "recall_micro"]}}).evaluate.metrics
    chosen = metrics.classification_metrics(y_true, y_pred, ["a", "b"], names)
    from sklearn.metrics import f1_score, matthews_corrcoef

    assert chosen["f1_weighted"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert chosen["matthews_corrcoef"] == pytest.approx(matthews_corrcoef(y_true, y_pred))
    assert "accuracy" not in chosen
    with pytest.raises(ParamsError, match="'evaluate.metrics.0'"):
        parse_params({"evaluate": {"metrics": ["auc"]}})


# --- the stages, with the options from params.yaml -----------------------------------------------------
def test_stages_take_the_options_from_params(tmp_path, tiny_body_dir):
    from test_stages import run_stage, write_params
    from tiny import make_texts

    make_texts(10, seed=1).to_parquet(tmp_path / "train.parquet")
    make_texts(4, seed=2).to_parquet(tmp_path / "test.parquet")
    write_params(tmp_path, {
        "sample": {"validation": 2},
        "train": {"model": str(tiny_body_dir), "loss": "BatchHardTripletLoss", "distance_metric": "cosine",
                  "num_epochs": [1, 3], "batch_size": [6, 4], "end_to_end": True},
        "head": {"type": "differentiable", "early_stopping_patience": 5},
        "evaluate": {"metrics": ["accuracy", "matthews_corrcoef"]},
    })

    def ok(script, *args):
        proc = run_stage(tmp_path, script, *args)
        assert proc.returncode == 0, proc.stderr
        return proc

    ok("sample.py", "fs")
    assert len(pd.read_parquet(tmp_path / "fs" / "validation.parquet")) == 6
    pd.DataFrame({"sentence_1": ["a"], "sentence_2": ["b"], "label": [0.0]}).to_parquet(tmp_path / "pairs.parquet")
    ok("train_body.py", "pairs.parquet", "body", "loss.csv", "fs/train.parquet")
    assert len(pd.read_csv(tmp_path / "loss.csv")) == 2  # 12 labelled texts, batches of 6: not the one pair
    ok("fit_head.py", "body", "fs/train.parquet", "no-embeddings", "model", "fs/validation.parquet")
    head = json.loads((tmp_path / "model" / "head.json").read_text())
    assert head["type"] == "differentiable" and len(head["history"]) == 3 and "val_loss" in head["history"][0]
    out = ok("evaluate.py", "model", "fs/test.parquet", "no-embeddings", "speed.json", "scores.json", "confusion.json",
             "summary.json")
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert {"accuracy", "matthews_corrcoef"} <= set(scores) and "f1_macro" not in scores
    assert "matthews_corrcoef" in out.stdout and "(embedded here)" in out.stdout  # end_to_end: no cache


@pytest.mark.parametrize("kind", ["sklearn.ensemble.RandomForestClassifier", "sklearn.neighbors.KNeighborsClassifier"])
def test_sklearn_head_files_are_byte_identical_across_saves(tmp_path, kind):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    saved = []
    for name in ("a", "b"):
        head = make_head(kind, {"random_state": 0} if "Forest" in kind else {}).fit(x, y, 3)
        (tmp_path / name).mkdir()
        head.save(tmp_path / name)
        saved.append((tmp_path / name / "head.skops").read_bytes())
        loaded = SklearnHead.load(tmp_path / name, json.loads((tmp_path / name / "head.json").read_text()))
        assert np.array_equal(loaded.predict_proba(x), head.predict_proba(x))
    assert saved[0] == saved[1]


def test_multi_label_survives_parquet_between_stages(tiny_body, texts, tmp_path):
    from fewshot.io import write_parquet

    frame = data.validate(pd.DataFrame({"text": texts.text, "label": _multi(texts)}))
    write_parquet(data.sample(frame, 4, seed=0), tmp_path / "train.parquet")
    few = pd.read_parquet(tmp_path / "train.parquet")  # list labels come back as numpy arrays
    assert len(generate_pairs(few["label"])) > 0
    model = FewShotModel.fit(tiny_body, few["text"], few["label"])
    scores = metrics.classification_metrics(few["label"], model.predict(few["text"]), model.labels)
    assert model.multi_label and 0 <= scores["hamming_loss"] <= 1
    assert metrics.confusion_rows(few["label"][:1], model.predict(few["text"][:1]))[0]["actual"] in {
        "|".join(sorted(map(str, few["label"][0])))
    }


def test_end_to_end_head_phase_runs_deterministic_kernels_and_restores_the_setting(tiny_body, texts):
    # as in body training: on 2 CPU threads the body's weights otherwise differ run to run by ~1e-6
    during: list = []
    FewShotModel.fit(tiny_body, texts.text, texts.label, head_type="differentiable",
                     head_training={**FAST, "num_epochs": 2, "end_to_end": True}, seed=3,
                     on_epoch=lambda epoch, record: during.append(torch.are_deterministic_algorithms_enabled()))
    assert during == [True, True]
    assert not torch.are_deterministic_algorithms_enabled()
