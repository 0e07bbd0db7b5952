"""FewShotModel: a body, a head and the label names; predict, predict_proba, save, load.

A saved model is one self-contained directory::

    body/             the Sentence-Transformers body
    head.safetensors  head weights (no pickle)
    head.json         head type and params
    fewshot.json      labels (the order of predict_proba's columns), base model, training facts
    README.md         model card
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot import body as body_lib
from fewshot import heads
from fewshot.io import atomic_dir

MODEL_CONFIG = "fewshot.json"
FORMAT_VERSION = 1


class ModelError(FewshotError):
    """A model directory that cannot be loaded, or inputs a model cannot take."""


def _as_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if hasattr(texts, "tolist") and not isinstance(texts, list):
        texts = texts.tolist()
    return [str(t) for t in texts]


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so labels round-trip through JSON with their type."""
    return value.item() if isinstance(value, np.generic) else value


def sorted_labels(labels: Iterable) -> list:
    """A model's labels for these training labels: the distinct values, sorted (predict_proba's columns)."""
    return sorted({_plain(label) for label in labels}, key=lambda v: (str(type(v)), v))


class FewShotModel:
    def __init__(self, body, head, labels: Sequence, info: dict[str, Any] | None = None):
        self.body = body
        self.head = head
        self.labels = [_plain(label) for label in labels]
        self.info = dict(info or {})

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        body,
        texts: Sequence[str],
        labels: Sequence,
        head_type: str = "logistic_regression",
        head_params: dict[str, Any] | None = None,
        batch_size: int = 64,
        info: dict[str, Any] | None = None,
        label_names: Sequence | None = None,
        embeddings: np.ndarray | None = None,
    ) -> FewShotModel:
        """Embed ``texts`` with ``body`` and fit a head on their labels.

        The model's ``labels`` (predict_proba's column order) are ``label_names`` if given (a class
        with no text then gets a column of zeros), else the sorted distinct labels. ``embeddings``
        (``texts`` embedded by ``body``, e.g. from the embed stage's cache) skip the embedding pass.
        """
        names = list(label_names) if label_names is not None else sorted_labels(labels)
        index = {_plain(name): i for i, name in enumerate(names)}
        unknown = sorted({str(_plain(label)) for label in labels if _plain(label) not in index})
        if unknown:
            raise ModelError(f"labels {unknown} are not among the model's labels {names}")
        y = np.array([index[_plain(label)] for label in labels], dtype=np.int64)
        x = embeddings if embeddings is not None else body_lib.encode(body, _as_texts(texts), batch_size=batch_size)
        head = heads.make_head(head_type, head_params).fit(x, y, n_classes=len(names))
        return cls(body, head, names, {**(info or {}), "n_train": len(y)})

    # --- inference ------------------------------------------------------------------------------
    def encode(self, texts: Iterable[str], batch_size: int = 64, show_progress_bar: bool | None = None) -> np.ndarray:
        return body_lib.encode(self.body, _as_texts(texts), batch_size=batch_size, show_progress_bar=show_progress_bar)

    def predict_proba(
        self, texts: Iterable[str], batch_size: int = 64, show_progress_bar: bool | None = None
    ) -> np.ndarray:
        """(n, len(labels)) probabilities; column k belongs to ``self.labels[k]``."""
        return self.proba_from_embeddings(self.encode(texts, batch_size, show_progress_bar))

    def predict(self, texts: Iterable[str], batch_size: int = 64, show_progress_bar: bool | None = None) -> np.ndarray:
        """Label names, one per text."""
        return self.labels_from_proba(self.predict_proba(texts, batch_size, show_progress_bar))

    def proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        return self.head.predict_proba(embeddings)

    def labels_from_proba(self, proba: np.ndarray) -> np.ndarray:
        return np.array(self.labels, dtype=object)[proba.argmax(axis=1)]

    def num_params(self) -> int:
        return body_lib.count_params(self.body) + self.head.num_params()

    # --- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model directory atomically: a sibling temp dir, renamed into place at the end."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            body_lib.save_body(self.body, tmp / "body")
            self.head.save(tmp)
            config = {"format": FORMAT_VERSION, "labels": self.labels, **self.info}
            (tmp / MODEL_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
            (tmp / "README.md").write_text(model_card(self, path.name))

    @classmethod
    def load(cls, path: str | Path) -> FewShotModel:
        path = Path(path)
        config_path = path / MODEL_CONFIG
        if not config_path.exists():
            raise ModelError(f"{path}: not a fewshot model directory (no {MODEL_CONFIG})")
        config = json.loads(config_path.read_text())
        labels = config.pop("labels")
        config.pop("format", None)
        body = body_lib.load_body(str(path / "body"), field=str(path))
        return cls(body, heads.load_head(path), labels, config)


def model_card(model: FewShotModel, name: str, metrics: dict[str, Any] | None = None) -> str:
    """A README for the model directory, written without any network call; ``metrics`` (as in
    ``metrics/<model>.json``) add a section when given."""
    info = model.info
    lines = [
        f"# {name}",
        "",
        "A few-shot text classifier trained with [fewshot](https://pypi.org/project/fewshot/) the SetFit way:",
        "a Sentence-Transformers body fine-tuned contrastively on pairs, and a classification head.",
        "",
        f"- Base model: `{info.get('base_model', 'unknown')}`",
        f"- Head: `{model.head.type}` with params `{json.dumps(model.head.params, sort_keys=True)}`",
        f"- Labels ({len(model.labels)}): {', '.join(f'`{label}`' for label in model.labels)}",
        f"- Training texts: {info.get('n_train', 'unknown')}",
    ]
    if info.get("train"):
        lines.append(f"- Body training params: `{json.dumps(info['train'], sort_keys=True)}`")
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
