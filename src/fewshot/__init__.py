"""fewshot: few-shot text classification the SetFit way.

    from fewshot import FewShotModel, TrainingArguments, generate_pairs, load_body, text_pairs, train_body

The library knows nothing of DVC or MLflow (those live in :mod:`fewshot.pipeline`), and importing it
changes no environment variable. Names load on first use, so ``import fewshot.errors`` (or the params
schema) does not import torch or the modules that train.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DistillationArguments": "fewshot.arguments",
    "HeadArguments": "fewshot.arguments",
    "PairArguments": "fewshot.arguments",
    "SampleArguments": "fewshot.arguments",
    "TeacherArguments": "fewshot.arguments",
    "TrainingArguments": "fewshot.arguments",
    "load_labeled": "fewshot.data",
    "sample": "fewshot.data",
    "unlabeled_pool": "fewshot.data",
    "distill": "fewshot.distill",
    "encode": "fewshot.embeddings",
    "FewshotError": "fewshot.errors",
    "Head": "fewshot.heads",
    "make_head": "fewshot.heads",
    "FewShotModel": "fewshot.model",
    "generate_pairs": "fewshot.pairs",
    "text_pairs": "fewshot.pairs",
    "load_body": "fewshot.sources",
    "resolve_model": "fewshot.sources",
    "save_body": "fewshot.sources",
    "train_body": "fewshot.training",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fewshot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
