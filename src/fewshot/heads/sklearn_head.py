"""Any sklearn-style classifier as a head, by dotted class name, saved with skops (no pickle).

Loading refuses every type in the file outside an explicit allow-list (:data:`TRUSTED_PREFIXES`), so a
crafted file cannot make loading run code. Multi-label data wraps the estimator by
``multi_target_strategy`` (default ``one-vs-rest``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.classifiers import classifier, import_class
from fewshot.errors import HeadError
from fewshot.heads.base import Examples, fit_estimator, write_config

SKOPS_FILE = "head.skops"
# Types a skops head file may hold. Anything else (a function, a class of another package) is refused on
# load unless the caller names it in ``trusted_types``: a crafted file cannot make loading run code.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
TRUSTED_BUILTINS = (
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.slice",
    "builtins.NoneType",
)
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
    """

    def __init__(self, type: str, params: dict[str, Any] | None = None, multi_target_strategy: str | None = None):
        self.type = type
        self.params = dict(params or {})
        self.multi_target_strategy = multi_target_strategy
        self.estimator = None
        self.multi_label = False
        self.n_classes: int | None = None
        self.converged: bool | None = None

    def fit(self, examples: Examples) -> SklearnHead:
        """Fit on class indices (n,), or on a multi-hot (n, K) matrix for multi-label."""
        strategy = self.multi_target_strategy
        if strategy is not None and strategy not in MULTI_TARGET:
            raise HeadError(f"head.multi_target_strategy: unknown '{strategy}'; use one of {', '.join(MULTI_TARGET)}")
        self.estimator = classifier(self.type, self.params)
        y = np.asarray(examples.y)
        self.multi_label = examples.multi_label
        self.n_classes = int(examples.n_classes)
        if self.multi_label:
            self.multi_target_strategy = strategy or "one-vs-rest"
            self.estimator = import_class(MULTI_TARGET[self.multi_target_strategy])(self.estimator)
            y = y.astype(np.int64)
        self.converged = fit_estimator(self.estimator, examples.features(), y, f"head: {self.type} cannot be fitted")
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

    def n_parameters(self) -> int:
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

    def config(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "params": self.params,
            "n_classes": self.n_classes,
            "multi_label": self.multi_label,
            "multi_target_strategy": self.multi_target_strategy,
        }

    def save(self, directory: str | Path) -> None:
        import skops.io as sio

        (Path(directory) / SKOPS_FILE).write_bytes(_canonical_skops(sio.dumps(self.estimator)))
        write_config(self, directory)

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
        head = cls(config["type"], config.get("params"), config.get("multi_target_strategy"))
        head.n_classes = config.get("n_classes")
        head.multi_label = bool(config.get("multi_label"))
        head.estimator = sio.load(file, trusted=list(found))
        return head
