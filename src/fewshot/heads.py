"""Heads: classifiers on top of body embeddings, saved and loaded without pickle.

The logistic-regression head stores its coefficients in safetensors and its settings in JSON; loading
rebuilds the sklearn estimator from those numbers, so a model file can never run code.
Any other sklearn-style classifier (``head.type: sklearn.svm.LinearSVC``) is saved with skops and loaded
only if every type in the file is on an explicit allow-list (:data:`TRUSTED_PREFIXES`).
The differentiable (torch) head lives in :mod:`fewshot.differentiable`.
Heads are trained on class indices ``0..K-1`` into the model's ``labels`` (or, multi-label, on a
multi-hot matrix with one column per label), so ``predict_proba`` columns always follow ``labels``.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HEAD_WEIGHTS, HEAD_CONFIG = "head.safetensors", "head.json"


class HeadError(FewshotError):
    """A head that cannot be built, fitted or loaded."""


def _fit(estimator, x: np.ndarray, y: np.ndarray, what: str) -> bool:
    """Fit an sklearn estimator; a bad param becomes a HeadError starting with ``what``. True if it converged."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            estimator.fit(x, y)
        except (ValueError, TypeError) as err:
            raise HeadError(f"{what}: {err}") from None
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


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
        self.converged = _fit(self.estimator, x, y, "head.params")
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


SKOPS_FILE = "head.skops"
# Types a skops head file may hold. Anything else (a function, a class of another package) is refused on
# load unless the caller names it in ``trusted_types``: a crafted file cannot make loading run code.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
TRUSTED_BUILTINS = ("builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int",
                    "builtins.float", "builtins.bool", "builtins.slice", "builtins.NoneType")
MULTI_TARGET = {
    "one-vs-rest": "sklearn.multiclass.OneVsRestClassifier",
    "multi-output": "sklearn.multioutput.MultiOutputClassifier",
    "classifier-chain": "sklearn.multioutput.ClassifierChain",
}


def _allowed_type(name: str) -> bool:
    """On the allow-list: a few builtins, and *classes* (never functions) of sklearn, numpy, scipy.sparse."""
    import importlib

    if name in TRUSTED_BUILTINS:
        return True
    if not name.startswith(TRUSTED_PREFIXES):
        return False
    module, _, attr = name.rpartition(".")
    try:
        return isinstance(getattr(importlib.import_module(module), attr), type)
    except (ImportError, AttributeError, ValueError):
        return False


def _import_class(name: str, field: str = "head.type"):
    import importlib

    module, _, attr = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise HeadError(
            f"{field}: cannot import '{name}'. Fix: give the dotted name of a classifier class, "
            "e.g. sklearn.svm.LinearSVC or sklearn.ensemble.RandomForestClassifier"
        ) from None
    if not (isinstance(cls, type) and hasattr(cls, "fit") and hasattr(cls, "predict")):
        raise HeadError(f"{field}: '{name}' is not a classifier class with fit and predict")
    return cls


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _class_scores(est, x: np.ndarray) -> np.ndarray:
    """Per-class probabilities of a single-label estimator, in ``est.classes_`` order: ``predict_proba``
    if it has one, else a softmax of ``decision_function`` (binary: a sigmoid), else one-hot ``predict``."""
    if hasattr(est, "predict_proba"):
        try:
            return np.asarray(est.predict_proba(x), dtype=np.float64)
        except AttributeError:  # e.g. SVC(probability=False) has the method but refuses
            pass
    if hasattr(est, "decision_function"):
        d = np.asarray(est.decision_function(x), dtype=np.float64)
        if d.ndim == 1:
            p = _sigmoid(d)
            return np.stack([1 - p, p], axis=1)
        return _softmax(d)
    pred = np.asarray(est.predict(x))
    return (pred[:, None] == np.asarray(est.classes_)[None, :]).astype(np.float64)


def _label_scores(est, x: np.ndarray, n_labels: int) -> np.ndarray:
    """(n, K) probability that each label applies, for a multi-label estimator (any strategy)."""
    try:
        proba = est.predict_proba(x)
    except AttributeError:
        proba = None
    if isinstance(proba, list):  # MultiOutputClassifier: one (n, 2) array per label
        cols = []
        for p, sub in zip(proba, est.estimators_):
            classes = list(sub.classes_)
            cols.append(p[:, classes.index(1)] if 1 in classes else np.zeros(len(x)))
        return np.stack(cols, axis=1)
    if proba is not None:
        return np.asarray(proba, dtype=np.float64)
    if hasattr(est, "decision_function"):
        try:
            return _sigmoid(np.asarray(est.decision_function(x), dtype=np.float64).reshape(len(x), n_labels))
        except AttributeError:
            pass
    return np.asarray(est.predict(x), dtype=np.float64)


def _canonical_skops(raw: bytes) -> bytes:
    """The same skops archive with reproducible bytes: skops names members and memo ids after ``id()``
    and stamps the time; here they are numbered in order of appearance and the time fixed."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(raw))
    members = set(src.namelist()) - {"schema.json"}
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = ids.setdefault(value, len(ids))
                elif isinstance(value, str) and value in members:
                    out[key] = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    schema = walk(json.loads(src.read("schema.json")))
    if set(files) != members:
        raise HeadError(f"skops archive: members {sorted(members - set(files))} not referenced by its schema")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as out:
        stamp = (1980, 1, 1, 0, 0, 0)
        out.writestr(zipfile.ZipInfo("schema.json", stamp), json.dumps(schema, indent=2))
        for old, new in sorted(files.items(), key=lambda kv: int(kv[1].split(".")[0])):
            out.writestr(zipfile.ZipInfo(new, stamp), src.read(old))
    return buffer.getvalue()


class SklearnHead:
    """Any sklearn-style classifier, by dotted class name; ``params`` go to its constructor.

    ``predict_proba`` is the estimator's own; for one without it (``LinearSVC``) a softmax of its
    ``decision_function`` (a sigmoid for two classes); for one with neither, one-hot ``predict``.
    Multi-label: the estimator is wrapped by ``multi_target_strategy`` (default ``one-vs-rest``).
    """

    def __init__(self, type: str, params: dict[str, Any] | None = None, multi_target_strategy: str | None = None):
        self.type = type
        self.params = dict(params or {})
        if multi_target_strategy is not None and multi_target_strategy not in MULTI_TARGET:
            raise HeadError(
                f"head.multi_target_strategy: unknown '{multi_target_strategy}'; use one of {', '.join(MULTI_TARGET)}"
            )
        self.multi_target_strategy = multi_target_strategy
        cls = _import_class(type)
        try:
            self.estimator = cls(**self.params)
        except TypeError as err:
            raise HeadError(f"head.params: {err}. Fix: use {cls.__name__}'s argument names") from None
        self.multi_label = False
        self.n_classes: int | None = None
        self.converged: bool | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> SklearnHead:
        """``y``: class indices (n,), or a multi-hot (n, K) matrix for multi-label."""
        y = np.asarray(y)
        self.multi_label = y.ndim == 2
        self.n_classes = int(y.shape[1] if self.multi_label else (n_classes if n_classes is not None else y.max() + 1))
        if self.multi_label:
            strategy = self.multi_target_strategy or "one-vs-rest"
            self.multi_target_strategy = strategy
            self.estimator = _import_class(MULTI_TARGET[strategy])(self.estimator)
            y = y.astype(np.int64)
        self.converged = _fit(self.estimator, x, y, f"head: {self.type} cannot be fitted")
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, K); column k is class (or label) index k, the model's ``labels[k]``."""
        if self.multi_label:
            return _label_scores(self.estimator, x, self.n_classes)
        proba = _class_scores(self.estimator, x)
        classes = np.asarray(self.estimator.classes_, dtype=np.int64)
        out = np.zeros((proba.shape[0], self.n_classes), dtype=proba.dtype)
        out[:, classes] = proba
        return out

    def num_params(self) -> int:
        """Numbers in the fitted estimator's array attributes (coefficients, tree nodes, stored samples)."""

        def count(obj, depth=0) -> int:
            if isinstance(obj, np.ndarray) and obj.dtype.kind in "fiub":
                return int(obj.size)
            if depth > 3:
                return 0
            if isinstance(obj, (list, tuple)):
                return sum(count(o, depth + 1) for o in obj)
            if hasattr(obj, "__dict__") and not isinstance(obj, type):
                return sum(count(v, depth + 1) for k, v in vars(obj).items() if k.endswith("_"))
            return 0

        return count(self.estimator)

    def save(self, directory: str | Path) -> None:
        import skops.io as sio

        directory = Path(directory)
        (directory / SKOPS_FILE).write_bytes(_canonical_skops(sio.dumps(self.estimator)))
        config = {
            "type": self.type,
            "params": self.params,
            "n_classes": self.n_classes,
            "multi_label": self.multi_label,
            "multi_target_strategy": self.multi_target_strategy,
        }
        (directory / HEAD_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any], trusted_types: Sequence[str] = ()) -> SklearnHead:
        import skops.io as sio

        file = Path(directory) / SKOPS_FILE
        if not file.exists():
            raise HeadError(f"{directory}: no {SKOPS_FILE} for head type {config.get('type')!r}; refusing to load it")
        try:
            found = sio.get_untrusted_types(file=file)
        except Exception as err:  # a corrupt or foreign file
            raise HeadError(f"{file}: not a readable skops file ({type(err).__name__}: {err})") from None
        allowed = set(trusted_types)
        refused = [t for t in found if t not in allowed and not _allowed_type(t)]
        if refused:
            raise HeadError(
                f"{file}: refusing to load types outside the allow-list ({', '.join(TRUSTED_PREFIXES)}): "
                f"{', '.join(sorted(refused))}. Fix: if you trust this file, pass "
                "trusted_types=[...] naming them to FewShotModel.load"
            )
        head = cls.__new__(cls)
        head.type = config["type"]
        head.params = dict(config.get("params") or {})
        head.n_classes = config.get("n_classes")
        head.multi_label = bool(config.get("multi_label"))
        head.multi_target_strategy = config.get("multi_target_strategy")
        head.converged = None
        head.estimator = sio.load(file, trusted=list(found))
        return head


HEAD_TYPES = {LogisticHead.type: LogisticHead}


def make_head(
    type: str = "logistic_regression", params: dict[str, Any] | None = None, multi_target_strategy: str | None = None,
    multi_label: bool = False,
):
    """A head by ``head.type``: ``logistic_regression``, ``differentiable``, or a dotted classifier class."""
    if type == "differentiable":
        from fewshot.differentiable import DifferentiableHead

        return DifferentiableHead(params)
    if type == LogisticHead.type and (multi_label or multi_target_strategy):
        # the multi-label wrappers need a real estimator; saved with skops
        return SklearnHead("sklearn.linear_model.LogisticRegression", {**LogisticHead.defaults, **(params or {})},
                           multi_target_strategy)
    if type in HEAD_TYPES:
        return HEAD_TYPES[type](params)
    if "." in type:
        return SklearnHead(type, params, multi_target_strategy)
    raise HeadError(
        f"head.type: unknown '{type}'; use logistic_regression, differentiable, or a dotted class name "
        "such as sklearn.svm.LinearSVC"
    )


def load_head(directory: str | Path, trusted_types: Sequence[str] = ()):
    path = Path(directory) / HEAD_CONFIG
    if not path.exists():
        raise HeadError(f"{directory}: no {HEAD_CONFIG}; not a fewshot model directory")
    config = json.loads(path.read_text())
    kind = config.get("type")
    if kind == "differentiable":
        from fewshot.differentiable import DifferentiableHead

        return DifferentiableHead.load(directory, config)
    if kind in HEAD_TYPES and not (Path(directory) / SKOPS_FILE).exists():
        return HEAD_TYPES[kind].load(directory, config)
    if isinstance(kind, str) and "." in kind:
        return SklearnHead.load(directory, config, trusted_types)
    raise HeadError(f"{path}: unknown head type {kind!r}; refusing to load it")
