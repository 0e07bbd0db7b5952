"""Export a fewshot model for ONNX Runtime: a model directory without the torch body.

The copy holds ``onnx/`` (the body exported by :func:`fewshot.backends.export_body`, or copied from the
model's own ``onnx/`` when it has that backend's file), the head and ``fewshot.json`` recording the backend.
``FewShotModel.load(out)`` and ``fewshot predict --model out`` run it with onnxruntime, tokenizers and numpy:
no torch, sentence-transformers or transformers are imported (with the logistic head; the differentiable
head is a torch module).
"""

from __future__ import annotations

from pathlib import Path

from fewshot.backends import DEFAULT_BACKEND, TORCH
from fewshot.errors import FormatError
from fewshot.formats.setfit import check_out


def export_onnx(model_dir: str | Path, out: str | Path, backend: str | None = None, overwrite: bool = False) -> Path:
    """Write ``out``: ``model_dir`` for ``backend`` (default: the one the model records if an onnx one,
    else :data:`fewshot.backends.DEFAULT_BACKEND`), without ``body/``."""
    from fewshot import model_dir as fmt
    from fewshot.heads import read_head_config

    model_dir, out = fmt.check_model_dir(model_dir), Path(out)
    check_out(model_dir, out, overwrite)
    recorded = fmt.read_config(model_dir).info.get("backend", TORCH)
    backend = backend or (recorded if recorded != TORCH else DEFAULT_BACKEND)
    if backend == TORCH:
        raise FormatError("--backend torch: an ONNX export runs on an onnx backend. Fix: --backend onnx or onnx-int8")
    if read_head_config(model_dir).get("type") == "differentiable":
        raise FormatError(
            f"{model_dir}: its differentiable head is a torch module, so the export would still need torch. "
            "Fix: fit a logistic head (head.type: logistic_regression), or serve the model with torch"
        )
    return fmt.copy_with_backend(model_dir, out, backend, keep_body=False, overwrite=overwrite)
