"""What every head shares: the :class:`Head` protocol, what it is fitted on, its files.

A head is fitted on class indices ``0..K-1`` into the model's labels (or, multi-label, on a multi-hot
matrix with one column per label), so ``predict_proba``'s columns always follow the model's labels.
Constructors store their arguments; ``fit`` validates them (scikit-learn's convention).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fewshot.arguments import HeadArguments
from fewshot.errors import HeadError

__all__ = ["HEAD_CONFIG", "HEAD_WEIGHTS", "Examples", "Head", "HeadArguments"]

HEAD_WEIGHTS, HEAD_CONFIG = "head.safetensors", "head.json"


@dataclass
class Examples:
    """What a head is fitted on: the texts, their targets, and the means to embed them.

    ``y``: class indices (n,) or a multi-hot (n, K) matrix. ``embeddings``: ``texts`` embedded by ``body``
    (e.g. the embed stage's cache); :meth:`features` embeds them once when not given. ``validation``:
    (texts, targets) scored after each epoch by heads that train in epochs.
    """

    texts: list[str]
    y: np.ndarray
    n_classes: int
    body: Any = None
    embeddings: np.ndarray | None = None
    validation: tuple[list[str], np.ndarray] | None = None
    on_epoch: Callable[[int, dict[str, float]], None] | None = None
    batch_size: int | None = None  # None: the body's backend's

    @property
    def multi_label(self) -> bool:
        return np.asarray(self.y).ndim == 2

    def features(self) -> np.ndarray:
        if self.embeddings is None:
            if self.body is None:
                raise HeadError("a head needs the texts' embeddings or a body to embed them")
            from fewshot.embeddings import encode

            self.embeddings = encode(self.body, self.texts, batch_size=self.batch_size)
        return np.asarray(self.embeddings, dtype=np.float32)


@runtime_checkable
class Head(Protocol):
    """A classifier on body embeddings. ``predict_proba``'s column k is class (or label) index k."""

    type: str
    params: dict[str, Any]
    n_classes: int | None
    multi_label: bool
    converged: bool | None

    def fit(self, examples: Examples) -> Head: ...

    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...

    def n_parameters(self) -> int: ...

    def config(self) -> dict[str, Any]:
        """What ``head.json`` holds: the type and what loading needs besides the weights."""
        ...

    def save(self, directory: str | Path) -> None: ...

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any], trusted_types: Sequence[str] = ()) -> Head: ...


def predict(head: Head, x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class indices (n,), or a multi-hot (n, K) matrix of the labels whose probability reaches ``threshold``."""
    proba = head.predict_proba(x)
    if head.multi_label:
        return (proba >= threshold).astype(np.int64)
    return proba.argmax(axis=1)


def load_tensors(directory: str | Path, names: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The arrays of a head's ``head.safetensors`` (``names``: those it must hold); a missing, truncated or
    foreign file is a HeadError naming it."""
    from safetensors.numpy import load_file

    file = Path(directory) / HEAD_WEIGHTS
    fix = "Fix: save the model again, or restore the file"
    if not file.is_file():
        raise HeadError(f"{file}: missing; the head's weights are not there. {fix}")
    try:
        tensors = load_file(str(file))
    except Exception as err:  # safetensors raises its own error type for a truncated or foreign file
        raise HeadError(f"{file}: not a readable safetensors file ({str(err).strip()[:200]}). {fix}") from None
    missing = [name for name in names if name not in tensors]
    if missing:
        raise HeadError(f"{file}: no {', '.join(missing)} in it. {fix}")
    return tensors


def write_config(head: Head, directory: str | Path) -> None:
    (Path(directory) / HEAD_CONFIG).write_text(json.dumps(head.config(), indent=2, sort_keys=True) + "\n")


def fit_estimator(estimator, x: np.ndarray, y: np.ndarray, what: str) -> bool:
    """Fit an sklearn estimator; a bad param becomes a HeadError starting with ``what``. True if it converged."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            estimator.fit(x, y)
        except (ValueError, TypeError) as err:
            raise HeadError(f"{what}: {err}") from None
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)
