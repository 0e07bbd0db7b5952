"""Heads: classifiers on top of body embeddings, and the one registry that builds and loads them.

- ``logistic_regression`` (:class:`LogisticHead`, the default): safetensors + JSON, no pickle;
- ``differentiable`` (:class:`DifferentiableHead`): a torch linear layer, optionally trained end to end;
- any sklearn-style classifier by dotted class name (:class:`SklearnHead`), saved with skops.

Multi-label data with the logistic head uses sklearn's LogisticRegression through a multi-label wrapper
(:class:`SklearnHead`), which needs a real estimator. The differentiable head's module (torch) is imported
only when that head is made or loaded: a model with any other head predicts without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fewshot.errors import HeadError
from fewshot.heads.base import (
    HEAD_CONFIG,
    HEAD_WEIGHTS,
    Examples,
    Head,
    HeadArguments,
    predict,
)
from fewshot.heads.logistic import AUTO, LogisticHead
from fewshot.heads.sklearn_head import SKOPS_FILE, SklearnHead
from fewshot.io import read_json

DIFFERENTIABLE = "differentiable"
HEAD_TYPES: dict[str, str] = {  # type: its module
    LogisticHead.type: "fewshot.heads.logistic",
    DIFFERENTIABLE: "fewshot.heads.differentiable",
}


def __getattr__(name: str):
    if name == "DifferentiableHead":  # imports torch: on first use only
        from fewshot.heads.differentiable import DifferentiableHead

        return DifferentiableHead
    raise AttributeError(f"module 'fewshot.heads' has no attribute {name!r}")


def _head_class(kind: str) -> type:
    if kind == DIFFERENTIABLE:
        from fewshot.heads.differentiable import DifferentiableHead

        return DifferentiableHead
    return LogisticHead


__all__ = [
    "HEAD_CONFIG",
    "HEAD_WEIGHTS",
    "HEAD_TYPES",
    "SKOPS_FILE",
    "DifferentiableHead",
    "Examples",
    "Head",
    "HeadArguments",
    "LogisticHead",
    "SklearnHead",
    "load_head",
    "make_head",
    "predict",
    "read_head_config",
]


def make_head(args: HeadArguments | None = None, multi_label: bool = False) -> Head:
    """The head ``args`` name, with its training phase where it has one."""
    args = args or HeadArguments()
    if args.type == DIFFERENTIABLE:
        if args.multi_target_strategy is not None:
            raise HeadError(
                "head.multi_target_strategy wraps sklearn heads; the differentiable head is multi-label by itself. "
                "Fix: set it to null"
            )
        return _head_class(DIFFERENTIABLE)(args.params, args)
    if args.type == LogisticHead.type:
        if multi_label or args.multi_target_strategy:  # one binary fit per label: C auto is sklearn's 1.0
            params = {**args.params, "C": 1.0} if args.params.get("C") == AUTO else args.params
            return SklearnHead("sklearn.linear_model.LogisticRegression", params, args.multi_target_strategy)
        return LogisticHead(args.params)
    if "." in args.type:
        return SklearnHead(args.type, args.params, args.multi_target_strategy)
    raise HeadError(
        f"head.type: unknown '{args.type}'; use logistic_regression, differentiable, or a dotted class name "
        "such as sklearn.svm.LinearSVC"
    )


def read_head_config(directory: str | Path) -> dict:
    path = Path(directory) / HEAD_CONFIG
    if not path.exists():
        raise HeadError(f"{directory}: no {HEAD_CONFIG}; not a fewshot model directory")
    return read_json(path, dict, "save the model again, or restore the file")


def load_head(directory: str | Path, trusted_types: Sequence[str] = ()) -> Head:
    """The head saved in a model directory; a type the registry does not know is refused."""
    config = read_head_config(directory)
    kind = config.get("type")
    if kind in HEAD_TYPES and not (Path(directory) / SKOPS_FILE).exists():
        return _head_class(kind).load(directory, config, trusted_types)
    if isinstance(kind, str) and "." in kind:
        return SklearnHead.load(directory, config, trusted_types)
    raise HeadError(f"{Path(directory) / HEAD_CONFIG}: unknown head type {kind!r}; refusing to load it")
