"""Heads: classifiers on top of body embeddings, saved and loaded without pickle.

The logistic-regression head stores its coefficients in safetensors and its settings in JSON; loading
rebuilds the sklearn estimator from those numbers, so a model file can never run code.
Heads are trained on class indices ``0..K-1`` into the model's ``labels``, so ``predict_proba``
columns always follow ``labels``.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HEAD_WEIGHTS, HEAD_CONFIG = "head.safetensors", "head.json"


class HeadError(FewshotError):
    """A head that cannot be built, fitted or loaded."""


class LogisticHead:
    """sklearn LogisticRegression; ``params`` go to its constructor (e.g. ``C``, ``max_iter``)."""

    type = "logistic_regression"
    defaults: dict[str, Any] = {"max_iter": 1000}

    def __init__(self, params: dict[str, Any] | None = None):
        from sklearn.linear_model import LogisticRegression

        self.params = {**self.defaults, **(params or {})}
        try:
            self.estimator = LogisticRegression(**self.params)
        except TypeError as err:
            raise HeadError(f"head.params: {err}. Fix: use LogisticRegression's argument names") from None
        self.converged: bool | None = None
        self.n_classes: int | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> LogisticHead:
        """Fit on class indices ``y``; ``n_classes`` (default: max(y)+1) fixes predict_proba's width,
        so a class absent from ``y`` still gets its column (of zeros)."""
        self.n_classes = int(n_classes if n_classes is not None else y.max() + 1)
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                self.estimator.fit(x, y)
            except (ValueError, TypeError) as err:
                raise HeadError(f"head.params: {err}") from None
        self.converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if not self.converged:
            warnings.warn(
                f"the logistic head did not converge in max_iter={self.params.get('max_iter')} iterations; "
                "raise head.params.max_iter",
                stacklevel=2,
            )
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, K) probabilities; column k is class index k (the model's ``labels[k]``)."""
        proba = self.estimator.predict_proba(x)
        classes = self.estimator.classes_
        width = self.n_classes or int(classes.max()) + 1
        if proba.shape[1] == width:
            return proba
        out = np.zeros((proba.shape[0], width), dtype=proba.dtype)
        out[:, classes] = proba
        return out

    def num_params(self) -> int:
        return int(self.estimator.coef_.size + self.estimator.intercept_.size)

    def save(self, directory: str | Path) -> None:
        from safetensors.numpy import save_file

        directory = Path(directory)
        est = self.estimator
        save_file(
            {
                "coef": np.ascontiguousarray(est.coef_),
                "intercept": np.ascontiguousarray(est.intercept_),
                "classes": np.ascontiguousarray(est.classes_, dtype=np.int64),
            },
            str(directory / HEAD_WEIGHTS),
        )
        config = {"type": self.type, "params": self.params, "n_classes": self.n_classes}
        (directory / HEAD_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any]) -> LogisticHead:
        from safetensors.numpy import load_file

        head = cls(config.get("params"))
        tensors = load_file(str(Path(directory) / HEAD_WEIGHTS))
        est = head.estimator
        est.coef_ = tensors["coef"]
        est.intercept_ = tensors["intercept"]
        est.classes_ = tensors["classes"]
        est.n_features_in_ = int(tensors["coef"].shape[1])
        est.n_iter_ = np.zeros(1, dtype=np.int32)
        head.n_classes = config.get("n_classes")
        return head


HEAD_TYPES = {LogisticHead.type: LogisticHead}


def make_head(type: str = "logistic_regression", params: dict[str, Any] | None = None):
    if type not in HEAD_TYPES:
        raise HeadError(f"head.type: unknown '{type}'; use one of {', '.join(HEAD_TYPES)}")
    return HEAD_TYPES[type](params)


def load_head(directory: str | Path):
    path = Path(directory) / HEAD_CONFIG
    if not path.exists():
        raise HeadError(f"{directory}: no {HEAD_CONFIG}; not a fewshot model directory")
    config = json.loads(path.read_text())
    kind = config.get("type")
    if kind not in HEAD_TYPES:
        raise HeadError(f"{path}: unknown head type {kind!r}; refusing to load it")
    return HEAD_TYPES[kind].load(directory, config)
