"""Classification metrics (sklearn, offline) and confusion rows for ``dvc plots``.

Every model's metrics file has the same keys, so ``dvc exp show`` and MLflow line them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> dict[str, Any]:
    """accuracy, macro precision/recall/F1, per-class precision/recall/F1/support, n.

    Test labels the model does not know count as errors and are listed under ``unknown_labels``.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    known = [str(label) for label in labels]
    unknown = sorted(set(y_true) - set(known))
    all_labels = known + unknown
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=all_labels, zero_division=0)
    pm, rm, fm, _ = precision_recall_fscore_support(y_true, y_pred, labels=all_labels, average="macro", zero_division=0)
    per_class = {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(all_labels)
    }
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(fm),
        "precision_macro": float(pm),
        "recall_macro": float(rm),
        "n": len(y_true),
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


def confusion_rows(y_true: Sequence, y_pred: Sequence) -> list[dict[str, str]]:
    """One row per text, the shape DVC's ``confusion`` plot template reads."""
    return [{"actual": str(a), "predicted": str(b)} for a, b in zip(y_true, y_pred)]


def confusion_figure(y_true: Sequence, y_pred: Sequence, labels: Sequence):
    """A matplotlib confusion-matrix figure (for the MLflow UI; DVC renders confusion_rows itself)."""
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.metrics import ConfusionMatrixDisplay

    names = [str(label) for label in labels]
    extra = sorted({str(v) for v in y_true} - set(names))
    disp = ConfusionMatrixDisplay.from_predictions(
        [str(v) for v in y_true], [str(v) for v in y_pred], labels=names + extra, xticks_rotation=45, colorbar=False
    )
    disp.figure_.tight_layout()
    return disp.figure_
