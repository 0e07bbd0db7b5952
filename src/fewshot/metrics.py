"""Classification metrics (sklearn, offline) and confusion rows for ``dvc plots``.

Every model's metrics file has the same keys, so ``dvc exp show`` and MLflow line them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fewshot.labels import any_multi_label, is_multi_label

METRICS = (
    "accuracy",
    "f1_micro",
    "f1_macro",
    "f1_weighted",
    "precision_micro",
    "precision_macro",
    "precision_weighted",
    "recall_micro",
    "recall_macro",
    "recall_weighted",
    "matthews_corrcoef",
)
DEFAULT_METRICS = ("accuracy", "f1_macro", "precision_macro", "recall_macro")


def _chosen(y_true, y_pred, labels: list[str], names: Sequence[str], multi: bool) -> dict[str, float]:
    """The metrics named in ``names`` (``evaluate.metrics``), all sklearn."""
    from sklearn.metrics import accuracy_score, matthews_corrcoef, precision_recall_fscore_support

    out: dict[str, float] = {}
    for name in names:
        if name == "accuracy":
            out[name] = float(accuracy_score(y_true, y_pred))  # multi-label: subset accuracy
        elif name == "matthews_corrcoef":
            if multi:  # on the flattened label decisions
                out[name] = float(matthews_corrcoef(np.ravel(y_true), np.ravel(y_pred)))
            else:
                out[name] = float(matthews_corrcoef(y_true, y_pred))
        else:
            kind, _, average = name.partition("_")
            p, r, f, _ = precision_recall_fscore_support(
                y_true, y_pred, labels=None if multi else labels, average=average, zero_division=0
            )
            out[name] = float({"precision": p, "recall": r, "f1": f}[kind])
    return out


def classification_metrics(
    y_true: Sequence, y_pred: Sequence, labels: Sequence, metrics: Sequence[str] = DEFAULT_METRICS
) -> dict[str, Any]:
    """The chosen ``metrics`` (default: accuracy, macro precision/recall/F1), per-class precision/recall/F1/
    support, n.

    Test labels the model does not know count as errors and are listed under ``unknown_labels``.
    Multi-label (lists of labels): ``accuracy`` is subset accuracy, and ``f1_micro``, ``f1_macro``,
    ``subset_accuracy`` and ``hamming_loss`` are always reported.
    """
    from sklearn.metrics import precision_recall_fscore_support

    if any_multi_label(y_true) or any_multi_label(y_pred):
        return multilabel_metrics(y_true, y_pred, labels, metrics)
    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    known = [str(label) for label in labels]
    unknown = sorted(set(y_true) - set(known))
    all_labels = known + unknown
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=all_labels, zero_division=0)
    per_class = {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(all_labels)
    }
    return {
        **_chosen(y_true, y_pred, all_labels, metrics, multi=False),
        "n": len(y_true),
        "unknown_labels": {label: int(s[all_labels.index(label)]) for label in unknown},
        "per_class": per_class,
    }


def multilabel_metrics(
    y_true: Sequence, y_pred: Sequence, labels: Sequence, metrics: Sequence[str] = DEFAULT_METRICS
) -> dict[str, Any]:
    """Multi-label metrics on label sets, over the model's labels plus any unknown test labels."""
    from sklearn.metrics import hamming_loss, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    def sets(values):
        return [[str(x) for x in v] if is_multi_label(v) else [str(v)] for v in values]

    true_sets, pred_sets = sets(y_true), sets(y_pred)
    known = [str(label) for label in labels]
    unknown = sorted({x for row in true_sets for x in row} - set(known))
    all_labels = known + unknown
    binarizer = MultiLabelBinarizer(classes=all_labels)
    t, pr = binarizer.fit_transform(true_sets), binarizer.transform(pred_sets)
    p, r, f, s = precision_recall_fscore_support(t, pr, zero_division=0)
    per_class = {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(all_labels)
    }
    always = ("f1_micro", "f1_macro")
    scores = _chosen(t, pr, all_labels, list(metrics) + [m for m in always if m not in metrics], multi=True)
    return {
        **scores,
        "subset_accuracy": float((t == pr).all(axis=1).mean()),
        "hamming_loss": float(hamming_loss(t, pr)),
        "n": len(true_sets),
        "unknown_labels": {label: int(s[all_labels.index(label)]) for label in unknown},
        "per_class": per_class,
    }


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Numeric metrics flattened with '.' (per_class.World.f1), as logged to MLflow."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix] = float(value)

    walk("", metrics)
    return flat


def _cell(value: Any) -> str:
    if is_multi_label(value):
        return "|".join(sorted(str(v) for v in value))  # a multi-label set as one category
    return str(value)


def confusion_rows(y_true: Sequence, y_pred: Sequence) -> list[dict[str, str]]:
    """One row per text, the shape DVC's ``confusion`` plot template reads."""
    return [{"actual": _cell(a), "predicted": _cell(b)} for a, b in zip(y_true, y_pred)]


def confusion_figure(y_true: Sequence, y_pred: Sequence, labels: Sequence):
    """A matplotlib confusion-matrix figure (for the MLflow UI; DVC renders confusion_rows itself)."""
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.metrics import ConfusionMatrixDisplay

    y_true, y_pred = [_cell(v) for v in y_true], [_cell(v) for v in y_pred]
    names = [str(label) for label in labels]
    extra = sorted(set(y_true) - set(names))
    if any_multi_label(labels) or any("|" in v for v in y_true + y_pred):
        names, extra = sorted(set(y_true) | set(y_pred)), []
    disp = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=names + extra, xticks_rotation=45, colorbar=False
    )
    disp.figure_.tight_layout()
    return disp.figure_


def standard_error(accuracy: float, n: int) -> float:
    """The standard error of an accuracy measured on ``n`` texts."""
    return float(np.sqrt(accuracy * (1 - accuracy) / max(1, n)))
