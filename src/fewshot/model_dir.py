"""The model directory format, owned here: nothing else reads or writes these files.

A saved model is one self-contained directory::

    body/             the Sentence-Transformers body (absent in an ONNX-only export)
    onnx/             the body exported for ONNX Runtime (fewshot.backends), when the model serves with it
    head.json         head type and params (+ head.safetensors or head.skops: the head's weights)
    fewshot.json      format version, labels (the order of predict_proba's columns), training facts, and
                      ``backend``: the backend the model serves with by default (the one it was evaluated with)
    README.md         model card, rendered from fewshot.json and head.json
    metrics.json      evaluation metrics (only in a registered copy)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fewshot.errors import ModelError
from fewshot.io import atomic_dir, read_json, write_json

MODEL_CONFIG = "fewshot.json"
BODY_DIR = "body"
ONNX_DIR = "onnx"
CARD = "README.md"
METRICS = "metrics.json"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    """What ``fewshot.json`` holds: the labels and the training facts (base model, training arguments...)."""

    labels: list
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return (
            json.dumps({"format": FORMAT_VERSION, "labels": self.labels, **self.info}, indent=2, sort_keys=True) + "\n"
        )


def check_model_dir(path: str | Path, what: str = "") -> Path:
    """``path`` if it is a model directory, else a ModelError naming it (``what``: e.g. ``--model``)."""
    path = Path(path)
    where = f"{what} '{path}'" if what else str(path)
    if not path.is_dir():
        raise ModelError(f"{where}: no such directory. Fix: give a model directory the pipeline wrote")
    if not (path / MODEL_CONFIG).is_file():
        raise ModelError(
            f"{where}: not a fewshot model directory (no {MODEL_CONFIG}). Fix: give a directory like models/distilled"
        )
    return path


RESTORE = "save the model again, or restore the file from the directory the pipeline wrote"


def read_config(path: str | Path) -> ModelConfig:
    """``fewshot.json``, checked: an object whose ``labels`` are a list of at least two distinct labels."""
    path = check_model_dir(path)
    file = path / MODEL_CONFIG
    raw = read_json(file, dict, RESTORE)
    raw.pop("format", None)
    labels = raw.pop("labels", None)
    if not isinstance(labels, list) or len(labels) < 2:
        found = "none" if labels is None else repr(labels)[:80]
        raise ModelError(f"{file}: 'labels' must list the model's classes (found {found}). Fix: {RESTORE}")
    if len({json.dumps(label, sort_keys=True) for label in labels}) < len(labels):
        raise ModelError(f"{file}: 'labels' lists a class twice ({labels}). Fix: {RESTORE}")
    return ModelConfig(labels=labels, info=raw)


def write(
    path: str | Path, body, head, config: ModelConfig, metrics: dict | None = None, overwrite: bool = True
) -> None:
    """Write a model directory atomically: a sibling temp dir, renamed into place at the end. An existing
    non-empty ``path`` is replaced only when ``overwrite``.

    A torch body is saved to ``body/``, and exported to ``onnx/`` when ``config.info['backend']`` names an
    onnx backend; an exported body (:class:`fewshot.backends.OnnxBody`) is copied to ``onnx/`` (no ``body/``).
    """
    from fewshot.backends import TORCH, export_body

    path = Path(path)
    backend = config.info.get("backend", TORCH)
    with atomic_dir(path, replace=overwrite) as tmp:
        if getattr(body, "torch_free", False):
            copy_onnx(body.directory, tmp / ONNX_DIR, body.backend)
        else:
            from fewshot.sources import save_body

            save_body(body, tmp / BODY_DIR)
            if backend != TORCH:
                export_body(body, tmp / ONNX_DIR, [backend])
        head.save(tmp)
        (tmp / MODEL_CONFIG).write_text(config.to_json())
        (tmp / CARD).write_text(render_card(path.name, config, head.config(), metrics))


def copy_onnx(src: str | Path, out: str | Path, backend: str) -> None:
    """Copy an exported body's files for ``backend`` (not the other precision's model file)."""
    from fewshot.backends import MODEL_FILES, ONNX_CONFIG, TOKENIZER

    Path(out).mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILES[backend], ONNX_CONFIG, TOKENIZER):
        shutil.copyfile(Path(src) / name, Path(out) / name)


def read(path: str | Path, trusted_types: Sequence[str] = (), backend: str | None = None):
    """(body, head, config) of a model directory; the body runs on ``backend`` (default: the one
    ``fewshot.json`` records, else torch). The onnx backends need neither torch nor ``body/``."""
    from fewshot.backends import TORCH, OnnxBody, check_backend
    from fewshot.heads import load_head

    config = read_config(path)
    backend = check_backend(backend or config.info.get("backend", TORCH))
    body_dir = Path(path) / BODY_DIR
    if backend != TORCH:
        body = OnnxBody(Path(path) / ONNX_DIR, backend)
    elif not body_dir.is_dir():
        raise ModelError(
            f"{BODY_DIR}/ missing in {path}: the model has no torch body. Fix: load it with its ONNX backend "
            f"({config.info.get('backend', 'onnx-int8')}), or {RESTORE}"
        )
    else:
        from fewshot.sources import load_body

        body = load_body(str(body_dir), field=str(body_dir))
    head = load_head(path, trusted_types)
    check_head(path, head, body, config.labels)
    return body, head, config


def check_head(path: str | Path, head, body, labels: Sequence) -> None:
    """The head takes the body's embeddings and scores one column per label; else a ModelError naming its
    file (a head saved for another body, or a ``fewshot.json`` whose labels were edited)."""
    import numpy as np

    from fewshot.embeddings import embedding_dim
    from fewshot.heads import HEAD_CONFIG, HEAD_WEIGHTS, SKOPS_FILE

    path = Path(path)
    file = next((path / f for f in (SKOPS_FILE, HEAD_WEIGHTS) if (path / f).is_file()), path / HEAD_CONFIG)
    dim = embedding_dim(body)
    if dim is None:
        return
    try:
        proba = np.asarray(head.predict_proba(np.zeros((1, dim), dtype=np.float32)))
    except Exception as err:  # sklearn and torch say it in their own words and types
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(
            f"{file}: the head does not take the body's {dim}-wide embeddings ({detail}). "
            f"Fix: use the head saved with this body; {RESTORE}"
        ) from None
    if proba.shape != (1, len(labels)):
        raise ModelError(
            f"{file}: the head scores {proba.shape[-1]} classes but {path / MODEL_CONFIG} lists {len(labels)} "
            f"labels. Fix: {RESTORE}"
        )


def copy_with_backend(
    path: str | Path,
    out: str | Path,
    backend: str,
    onnx_dir: str | Path | None = None,
    keep_body: bool = True,
    overwrite: bool = True,
    name: str | None = None,
) -> Path:
    """A copy of a model directory at ``out`` that serves with ``backend`` by default: its exported body
    is copied from ``onnx_dir`` (an export of the same body, e.g. the one the embed stage ran) or, without
    one, exported here from ``body/`` (needs torch). ``keep_body=False`` leaves ``body/`` out: the copy
    loads and predicts without torch, on the onnx backend only. ``name``: the card's title (default: out's)."""
    from fewshot.backends import TORCH, check_backend, export_body
    from fewshot.heads import read_head_config

    path, out = Path(path), Path(out)
    config = read_config(path)
    backend = check_backend(backend)
    if backend == TORCH and not keep_body:
        raise ModelError("a copy without body/ cannot serve with backend torch. Fix: name an onnx backend")
    with atomic_dir(out, replace=overwrite) as tmp:
        for item in path.iterdir():
            if item.name in (ONNX_DIR, MODEL_CONFIG, CARD) or (item.name == BODY_DIR and not keep_body):
                continue
            (shutil.copytree if item.is_dir() else shutil.copyfile)(item, tmp / item.name)
        if backend != TORCH:
            if onnx_dir is not None:
                copy_onnx(onnx_dir, tmp / ONNX_DIR, backend)
            elif (path / ONNX_DIR / _model_file(backend)).is_file():
                copy_onnx(path / ONNX_DIR, tmp / ONNX_DIR, backend)
            else:
                from fewshot.sources import load_body

                export_body(load_body(str(path / BODY_DIR), field=str(path / BODY_DIR)), tmp / ONNX_DIR, [backend])
        config.info["backend"] = backend
        (tmp / MODEL_CONFIG).write_text(config.to_json())
        metrics = read_json(path / METRICS, dict) if (path / METRICS).is_file() else None
        (tmp / CARD).write_text(render_card(name or out.name, config, read_head_config(path), metrics))
    return out


def _model_file(backend: str) -> str:
    from fewshot.backends import MODEL_FILES

    return MODEL_FILES[backend]


def copy_with_metrics(path: str | Path, metrics: dict[str, Any] | None, out: str | Path) -> Path:
    """A copy of a model directory at ``out`` whose card and ``metrics.json`` carry ``metrics``."""
    from fewshot.heads import read_head_config

    path, out = Path(path), Path(out)
    config = read_config(path)
    with atomic_dir(out) as tmp:
        shutil.copytree(path, tmp, dirs_exist_ok=True)
        (tmp / CARD).write_text(render_card(path.name, config, read_head_config(path), metrics))
        if metrics:
            write_json(metrics, tmp / METRICS)
    return out


def facts(path: str | Path, metrics_path: str | Path | None = None) -> dict[str, Any]:
    """What a model is, read from its JSON files (the body is not loaded).

    Metrics come from ``metrics_path``, else ``metrics/<dir name>.json`` if it exists (the pipeline's),
    else ``metrics.json`` in the model directory (the registered copy's)."""
    from fewshot.heads import HEAD_CONFIG, read_head_config

    path = check_model_dir(path, "--model")
    config = read_config(path)
    head = read_head_config(path) if (path / HEAD_CONFIG).is_file() else {}
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    if metrics_path and not Path(metrics_path).is_file():
        raise ModelError(
            f"--metrics '{metrics_path}': no such file. Fix: give the metrics JSON the evaluate stage wrote"
        )
    candidates = [Path(metrics_path)] if metrics_path else [Path("metrics") / f"{path.name}.json", path / METRICS]
    found = next((p for p in candidates if p.is_file()), None)
    metrics = read_json(found, dict, "give the metrics JSON the evaluate stage wrote") if found else None
    return {
        "path": str(path),
        "base_model": config.info.get("base_model", "unknown"),
        "labels": config.labels,
        "n_train": config.info.get("n_train"),
        "head": {"type": head.get("type"), "params": head.get("params", {})},
        "backend": config.info.get("backend", "torch"),
        "train": config.info.get("train") or {},
        "size_mb": round(size / 2**20, 1),
        "metrics": metrics,
        "metrics_from": str(found) if found else None,
    }


def render_card(name: str, config: ModelConfig, head: dict[str, Any], metrics: dict[str, Any] | None = None) -> str:
    """A README for the model directory, written without any network call; ``metrics`` (as in
    ``metrics/<model>.json``) add a section when given."""
    info = config.info
    lines = [
        f"# {name}",
        "",
        "A few-shot text classifier trained with [fewshot](https://pypi.org/project/fewshot/) the SetFit way:",
        "a Sentence-Transformers body fine-tuned contrastively on pairs, and a classification head.",
        "",
        f"- Base model: `{info.get('base_model', 'unknown')}`",
        f"- Head: `{head.get('type')}` with params `{json.dumps(head.get('params', {}), sort_keys=True)}`",
        f"- Labels ({len(config.labels)}): {', '.join(f'`{label}`' for label in config.labels)}",
        f"- Training texts: {info.get('n_train', 'unknown')}",
    ]
    if info.get("train"):
        lines.append(f"- Body training arguments: `{json.dumps(info['train'], sort_keys=True)}`")
    if info.get("backend"):
        lines.append(f"- Serves with backend `{info['backend']}` (the one it was evaluated with)")
    if metrics:
        lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in metrics.items() if isinstance(v, (int, float, str))]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from fewshot import FewShotModel",
        "",
        f'model = FewShotModel.load("{name}")',
        'model.predict(["some text"])        # label names',
        'model.predict_proba(["some text"])  # columns follow model.labels',
        "```",
        "",
        "From the shell: `fewshot predict --model DIR --input texts.csv --output labels.csv`; "
        "`fewshot info DIR` shows this card's facts.",
        "",
    ]
    return "\n".join(lines)
