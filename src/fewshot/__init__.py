"""fewshot: few-shot text classification the SetFit way.

    from fewshot import FewShotModel, load_labeled, sample, generate_pairs, load_body, train_body
"""

from __future__ import annotations

import os as _os
import sys as _sys

# Progress bars are for a person (a terminal or a notebook); keep logs clean in CI and when piped.
_ci = _os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
if _ci or not (_sys.stderr.isatty() or "ipykernel" in _sys.modules):
    _os.environ.setdefault("TQDM_DISABLE", "1")
    _os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    _os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

from fewshot.body import encode, load_body, resolve_model, train_body  # noqa: E402
from fewshot.config import Params, ParamsError, load_params  # noqa: E402
from fewshot.data import DataError, load_labeled, sample, unlabeled_pool  # noqa: E402
from fewshot.model import FewShotModel  # noqa: E402
from fewshot.pairs import generate_pairs  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "FewShotModel",
    "Params",
    "ParamsError",
    "DataError",
    "load_params",
    "load_labeled",
    "sample",
    "unlabeled_pool",
    "generate_pairs",
    "load_body",
    "resolve_model",
    "train_body",
    "encode",
]
