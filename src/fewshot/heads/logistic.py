"""The default head: sklearn's LogisticRegression, saved without pickle.

Its coefficients go to safetensors and its settings to JSON; loading rebuilds the estimator from those
numbers, so a model file can never run code.

``C: auto`` (the default) chooses the inverse regularisation strength from the training texts themselves:
sklearn's LogisticRegressionCV over :data:`C_GRID`, stratified folds, accuracy; the smallest C (the most
regularised) within one standard error of the best mean wins, as for ``num_epochs: auto``. C=1 is right for
a few texts of a few classes and far too strong for many classes (banking77's 77 intents at 8 texts each:
bench/RESULTS.md). The chosen C and each candidate's cross-validated accuracy are kept in ``head.json``
(``auto``). Multi-label data (one binary LogisticRegression per label,
:class:`~fewshot.heads.sklearn_head.SklearnHead`) takes ``auto`` as 1.0.
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
from fewshot.metrics import standard_error

AUTO = "auto"
C_GRID = (1.0, 10.0, 100.0)  # C: auto's candidates, most regularised first
AUTO_FOLDS = 5  # at most; fewer when no class has that many texts


def _estimator(params: dict[str, Any], C: float | None = None):
    """A LogisticRegression with ``params``; ``C: auto`` becomes ``C`` (the chosen one; 1.0 before fitting)."""
    from sklearn.linear_model import LogisticRegression

    if params.get("C") == AUTO:
        params = {**params, "C": C if C is not None else 1.0}
    return construct(LogisticRegression, params)


def choose_C(params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
    """``C: auto``: the smallest C of :data:`C_GRID` within one standard error of the best stratified-fold
    accuracy on ``(x, y)`` (sklearn's LogisticRegressionCV, the other ``params`` as given; the folds shuffled
    with ``params["random_state"]``, 0 when unset); returns it and each candidate's mean accuracy, keyed
    ``"1"``, ``"10"``, ``"100"``."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2 or counts.max() < 2:
        return 1.0, {}  # nothing to cross-validate: sklearn's default
    folds = StratifiedKFold(
        min(AUTO_FOLDS, int(counts.max())), shuffle=True, random_state=params.get("random_state") or 0
    )
    rest = {k: v for k, v in params.items() if k != "C"}
    search = construct(
        LogisticRegressionCV, {**rest, "Cs": list(C_GRID), "cv": folds, "scoring": "accuracy", "refit": False}
    )
    fit_estimator(search, x, y, "head.params")  # a class with fewer texts than folds: a warning, kept quiet
    scores = np.mean(next(iter(search.scores_.values())), axis=0)  # (folds, Cs) -> per C
    # the one-standard-error rule (as num_epochs: auto): the smallest C within one standard error of the
    # best mean, since a few dozen held-out texts cannot tell closer scores apart
    error = standard_error(float(scores.max()), len(y))
    chosen = next(c for c, s in zip(C_GRID, scores) if s >= scores.max() - error - 1e-9)
    return float(chosen), {f"{c:g}": round(float(s), 6) for c, s in zip(C_GRID, scores)}


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
        self.auto: dict[str, Any] | None = None  # C: auto's choice: {"C": chosen, "scores": {C: accuracy}}

    def fit(self, examples: Examples) -> LogisticHead:
        """Fit on class indices; ``n_classes`` fixes predict_proba's width, so a class absent from the
        examples still gets its column (of zeros)."""
        x, y = examples.features(), np.asarray(examples.y)
        C = None
        if self.params.get("C") == AUTO:
            C, scores = choose_C(self.params, x, y)
            self.auto = {"C": C, "scores": scores}
        self.estimator = _estimator(self.params, C)
        self.n_classes = int(examples.n_classes)
        self.converged = fit_estimator(self.estimator, x, y, "head.params")
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
        config = {"type": self.type, "params": self.params, "n_classes": self.n_classes}
        if self.auto is not None:
            config["auto"] = self.auto
        return config

    def estimator_params(self) -> dict[str, Any]:
        """The params the fitted estimator has: ``C: auto`` resolved to the chosen C."""
        return {**self.params, "C": self.estimator.C} if self.params.get("C") == AUTO else dict(self.params)

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
        cls, params: dict[str, Any] | None, coef, intercept, classes, n_classes: int | None, auto: dict | None = None
    ) -> LogisticHead:
        """A fitted head rebuilt from its numbers (no pickle); ``auto``: ``C: auto``'s choice, as fitted."""
        head = cls(params)
        head.auto = auto
        est = head.estimator = _estimator(head.params, (auto or {}).get("C"))
        est.coef_, est.intercept_ = np.asarray(coef), np.asarray(intercept)
        est.classes_ = np.asarray(classes, dtype=np.int64)
        est.n_features_in_ = int(est.coef_.shape[1])
        est.n_iter_ = np.zeros(1, dtype=np.int32)
        head.n_classes = n_classes
        return head

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any], trusted_types: Sequence[str] = ()) -> LogisticHead:
        t = load_tensors(directory, ("coef", "intercept", "classes"))
        return cls.from_weights(
            config.get("params"), t["coef"], t["intercept"], t["classes"], config.get("n_classes"), config.get("auto")
        )
