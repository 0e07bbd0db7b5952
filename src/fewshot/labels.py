"""Labels: the one multi-label predicate, label order, and training targets.

A text's label is one value (single-label) or a list of values (multi-label). A model's ``labels`` fix the
order of ``predict_proba``'s columns; heads train on class indices ``0..K-1`` into them, or on a multi-hot
matrix with one column per label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

_MULTI = (list, tuple, set, np.ndarray)


def is_multi_label(value: Any) -> bool:
    """True for one text's label given as several labels (a list, tuple, set or array)."""
    return isinstance(value, _MULTI)


def any_multi_label(values: Iterable) -> bool:
    """True when any text's label is multi-label: the data is then multi-label."""
    return any(is_multi_label(v) for v in values)


def plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so labels round-trip through JSON with their type."""
    return value.item() if isinstance(value, np.generic) else value


def _order(value: Any) -> tuple[str, Any]:
    return (str(type(value)), value)


def label_list(value: Any) -> list:
    """One text's labels as a sorted list of plain values."""
    if is_multi_label(value):
        return sorted({plain(v) for v in value}, key=_order)
    return [plain(value)]


def sorted_labels(labels: Iterable) -> list:
    """A model's labels for these training labels: the distinct values (of lists, for multi-label), sorted."""
    return sorted({v for row in labels for v in label_list(row)}, key=_order)


def targets(labels: Sequence, names: Sequence) -> np.ndarray:
    """Class indices into ``names`` (n,), or a multi-hot (n, K) matrix for multi-label ``labels``."""
    from fewshot.errors import ModelError

    index = {plain(name): i for i, name in enumerate(names)}
    multi = any_multi_label(labels)
    rows = [label_list(v) for v in labels] if multi else [[plain(v)] for v in labels]
    unknown = sorted({str(v) for row in rows for v in row if v not in index})
    if unknown:
        raise ModelError(f"labels {unknown} are not among the model's labels {list(names)}")
    if not multi:
        return np.array([index[row[0]] for row in rows], dtype=np.int64)
    y = np.zeros((len(rows), len(index)), dtype=np.float32)
    for i, row in enumerate(rows):
        y[i, [index[v] for v in row]] = 1.0
    return y


def known(labels: Sequence, names: Sequence) -> list[int]:
    """Positions of the labels whose every value is among ``names`` (others cannot be scored)."""
    index = {plain(name) for name in names}
    return [i for i, v in enumerate(labels) if all(x in index for x in label_list(v))]
