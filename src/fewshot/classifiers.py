"""Head types checked before any work: a classifier class by dotted name, imported, built with its params
and asked whether it is a classifier (scikit-learn's ``is_classifier``).

The params schema checks every head section here (``head``, ``teacher.head``, ``distill.head``) when any
stage reads the params, so a typo in ``teacher.head.type`` stops the first stage, not the teacher after its
body has trained; the sklearn head builds its estimator with the same calls. Errors name the key
(``teacher.head.type``) and, for a class name that is nearly right, the class as it is spelled.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from fewshot.arguments import DIFFERENTIABLE_PARAMS
from fewshot.errors import HeadError

LOGISTIC = "sklearn.linear_model.LogisticRegression"  # the logistic_regression head's estimator
EXAMPLES = "e.g. sklearn.svm.LinearSVC or sklearn.ensemble.RandomForestClassifier"


def _classifier_names(module) -> list[str]:
    """The names of a module's classifier classes (scikit-learn's ClassifierMixin), as they are spelled."""
    from sklearn.base import ClassifierMixin

    return [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, ClassifierMixin)]


def import_class(name: str, field: str = "head.type") -> type:
    """A class by dotted name with ``fit`` and ``predict``, or a HeadError naming ``field``."""
    module, _, attr = name.rpartition(".")
    try:
        found = importlib.import_module(module)
    except (ImportError, ValueError):
        raise HeadError(
            f"{field}: cannot import module '{module}' (of '{name}'). Fix: give the dotted name of a classifier "
            f"class, {EXAMPLES}"
        ) from None
    cls = getattr(found, attr, None)
    if cls is None:
        close = difflib.get_close_matches(attr, _classifier_names(found), n=1, cutoff=0.6)
        fix = f"did you mean '{module}.{close[0]}'?" if close else f"Fix: give a classifier class, {EXAMPLES}"
        raise HeadError(f"{field}: '{module}' has no '{attr}'; {fix}")
    if not (isinstance(cls, type) and hasattr(cls, "fit") and hasattr(cls, "predict")):
        raise HeadError(f"{field}: '{name}' is not a classifier class with fit and predict. Fix: {EXAMPLES}")
    return cls


def construct(cls: type, params: dict[str, Any], field: str = "head.params"):
    """``cls(**params)``; a wrong argument name is a HeadError naming ``field``."""
    try:
        return cls(**params)
    except TypeError as err:
        raise HeadError(f"{field}: {err}. Fix: use {cls.__name__}'s argument names") from None


def classifier(name: str, params: dict[str, Any], field: str = "head"):
    """An unfitted ``name(**params)``, refused (naming ``field.type``) unless scikit-learn calls it a
    classifier: a clusterer such as ``sklearn.cluster.KMeans`` fits and saves, but predicts no class."""
    from sklearn.base import is_classifier

    estimator = construct(import_class(name, f"{field}.type"), params, f"{field}.params")
    try:
        ok = is_classifier(estimator)
    except (TypeError, AttributeError, ValueError):  # no scikit-learn tags: not an sklearn-style estimator
        ok = False
    if not ok:
        raise HeadError(
            f"{field}.type: '{name}' is not a classifier (scikit-learn's is_classifier says no: it predicts no "
            f"class). Fix: give a classifier class, {EXAMPLES}"
        )
    return estimator


def check_head(type: str, params: dict[str, Any], multi_target_strategy: str | None, field: str = "head") -> None:
    """What the head section ``field`` names can be built, before any work (see the module's docstring)."""
    if type == "differentiable":
        unknown = sorted(set(params) - set(DIFFERENTIABLE_PARAMS))
        if unknown:
            raise HeadError(
                f"{field}.params: {unknown} are not differentiable-head params; use {', '.join(DIFFERENTIABLE_PARAMS)}"
            )
        if multi_target_strategy is not None:
            raise HeadError(
                f"{field}.multi_target_strategy wraps sklearn heads; the differentiable head is multi-label by "
                "itself. Fix: set it to null"
            )
        return
    classifier(LOGISTIC if type == "logistic_regression" else type, params, field)
