"""Metrics (fewshot.metrics): chosen metrics, the same keys for every model, unknown test labels."""

import pytest

from fewshot import metrics


def test_unknown_labels_at_evaluation_are_reported():
    scores = metrics.classification_metrics(["a", "b", "c"], ["a", "a", "b"], ["a", "b"])
    assert scores["unknown_labels"] == {"c": 1} and scores["n"] == 3


def test_evaluate_metrics_are_chosen_and_default_keys_stay():
    from sklearn.metrics import f1_score, matthews_corrcoef

    y_true, y_pred = ["a", "b", "b", "a"], ["a", "b", "a", "a"]
    default = metrics.classification_metrics(y_true, y_pred, ["a", "b"])
    assert set(default) == {
        "accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "n",
        "per_class",
        "unknown_labels",
    }
    chosen = metrics.classification_metrics(y_true, y_pred, ["a", "b"], ["f1_weighted", "matthews_corrcoef"])
    assert chosen["f1_weighted"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert chosen["matthews_corrcoef"] == pytest.approx(matthews_corrcoef(y_true, y_pred))
    assert "accuracy" not in chosen
    assert set(metrics.DEFAULT_METRICS) <= set(metrics.METRICS)


def test_flat_metrics_and_confusion_rows():
    flat = metrics.flat_metrics({"accuracy": 0.5, "per_class": {"a": {"f1": 1.0}}, "note": "x"})
    assert flat == {"accuracy": 0.5, "per_class.a.f1": 1.0}
    assert metrics.confusion_rows([["b", "a"]], [["a"]]) == [{"actual": "a|b", "predicted": "a"}]
