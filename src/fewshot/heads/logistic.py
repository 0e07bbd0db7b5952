"""The default head: sklearn's LogisticRegression, saved without pickle.

Its coefficients go to safetensors and its settings to JSON; loading rebuilds the estimator from those
numbers, so a model file can never run code.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.arguments import head_params
from fewshot.classifiers import construct
from fewshot.heads.base import HEAD_WEIGHTS, Examples, fit_estimator, load_tensors, write_config


def _estimator(params: dict[str, Any]):
    from sklearn.linear_model import LogisticRegression

    return construct(LogisticRegression, params)


class LogisticHead:
    """sklearn LogisticRegression; ``params`` go to its constructor (e.g. ``C``, ``max_iter``), over the
    defaults of :data:`fewshot.arguments.HEAD_PARAMS`."""

    type = "logistic_regression"
    multi_label = False

    def __init__(self, params: dict[str, Any] | None = None):
        self.params = head_params(self.type, params)
        self.estimator = None
        self.converged: bool | None = None
        self.n_classes: int | None = None

    def fit(self, examples: Examples) -> LogisticHead:
        """Fit on class indices; ``n_classes`` fixes predict_proba's width, so a class absent from the
        examples still gets its column (of zeros)."""
        self.estimator = _estimator(self.params)
        self.n_classes = int(examples.n_classes)
        self.converged = fit_estimator(self.estimator, examples.features(), np.asarray(examples.y), "head.params")
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

    def n_parameters(self) -> int:
        return int(self.estimator.coef_.size + self.estimator.intercept_.size)

    def config(self) -> dict[str, Any]:
        return {"type": self.type, "params": self.params, "n_classes": self.n_classes}

    def save(self, directory: str | Path) -> None:
        from safetensors.numpy import save_file

        est = self.estimator
        tensors = {
            "coef": np.ascontiguousarray(est.coef_),
            "intercept": np.ascontiguousarray(est.intercept_),
            "classes": np.ascontiguousarray(est.classes_, dtype=np.int64),
        }
        save_file(tensors, str(Path(directory) / HEAD_WEIGHTS))
        write_config(self, directory)

    @classmethod
    def from_weights(
        cls, params: dict[str, Any] | None, coef, intercept, classes, n_classes: int | None
    ) -> LogisticHead:
        """A fitted head rebuilt from its numbers (no pickle)."""
        head = cls(params)
        est = head.estimator = _estimator(head.params)
        est.coef_, est.intercept_ = np.asarray(coef), np.asarray(intercept)
        est.classes_ = np.asarray(classes, dtype=np.int64)
        est.n_features_in_ = int(est.coef_.shape[1])
        est.n_iter_ = np.zeros(1, dtype=np.int32)
        head.n_classes = n_classes
        return head

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any], trusted_types: Sequence[str] = ()) -> LogisticHead:
        t = load_tensors(directory, ("coef", "intercept", "classes"))
        return cls.from_weights(config.get("params"), t["coef"], t["intercept"], t["classes"], config.get("n_classes"))
