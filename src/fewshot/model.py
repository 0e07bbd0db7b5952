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


def is_multi_label(labels: Iterable) -> bool:
    """Labels are multi-label when they are lists (or arrays, tuples, sets) of labels."""
    return any(isinstance(v, (list, tuple, set, np.ndarray)) for v in labels)


def label_list(value: Any) -> list:
    """One text's labels as a sorted list of plain values."""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return sorted({_plain(v) for v in value}, key=lambda v: (str(type(v)), v))
    return [_plain(value)]


def _targets(labels: list, index: dict, multi: bool) -> np.ndarray:
    """Class indices (n,), or a multi-hot (n, K) matrix for multi-label."""
    if not multi:
        return np.array([index[label] for label in labels], dtype=np.int64)
    y = np.zeros((len(labels), len(index)), dtype=np.float32)
    for row, names in enumerate(labels):
        y[row, [index[v] for v in names]] = 1.0
    return y


def sorted_labels(labels: Iterable) -> list:
    """A model's labels for these training labels: the distinct values (of lists, for multi-label), sorted."""
    return sorted({v for row in labels for v in label_list(row)}, key=lambda v: (str(type(v)), v))


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
        multi_target_strategy: str | None = None,
        head_training: dict[str, Any] | None = None,
        validation: tuple[Sequence[str], Sequence] | None = None,
        seed: int = 42,
        on_epoch=None,
    ) -> FewShotModel:
        """Embed ``texts`` with ``body`` and fit a head on their labels.

        The model's ``labels`` (predict_proba's column order) are ``label_names`` if given (a class
        with no text then gets a column of zeros), else the sorted distinct labels. Labels that are
        lists (or arrays) of labels make a multi-label model. ``head_training`` (the head phase's
        arguments), ``validation`` (texts, labels), ``seed`` and ``on_epoch`` concern the
        differentiable head, which is trained on the texts (and, end to end, trains the body too).
        ``embeddings`` (``texts`` embedded by ``body``, e.g. from the embed stage's cache) skip the
        embedding pass of the other heads.
        """
        multi = is_multi_label(labels)
        labels = [label_list(v) for v in labels] if multi else [_plain(v) for v in labels]
        flat = [v for row in labels for v in row] if multi else labels
        names = list(label_names) if label_names is not None else sorted(set(flat), key=lambda v: (str(type(v)), v))
        index = {_plain(name): i for i, name in enumerate(names)}
        unknown = sorted({str(label) for label in flat if label not in index})
        if unknown:
            raise ModelError(f"labels {unknown} are not among the model's labels {names}")
        y = _targets(labels, index, multi)
        head = heads.make_head(head_type, head_params, multi_target_strategy, multi_label=multi)
        texts = _as_texts(texts)
        if getattr(head, "needs_body", False):
            val = None
            if validation is not None and len(validation[0]):
                vlabels = [label_list(v) for v in validation[1]] if multi else [_plain(v) for v in validation[1]]
                vtexts = _as_texts(validation[0])
                # validation texts of a label the model does not have cannot be scored: left out
                keep = [i for i, v in enumerate(vlabels) if all(x in index for x in (v if multi else [v]))]
                val = ([vtexts[i] for i in keep], _targets([vlabels[i] for i in keep], index, multi))
            head.fit_texts(body, texts, y, len(names), training=head_training, validation=val, seed=seed,
                           on_epoch=on_epoch)
        else:
            x = embeddings if embeddings is not None else body_lib.encode(body, texts, batch_size=batch_size)
            head.fit(x, y, n_classes=len(names))
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

    @property
    def multi_label(self) -> bool:
        return bool(getattr(self.head, "multi_label", False))

    def labels_from_proba(self, proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """One label name per text; multi-label: a list of the names whose probability reaches ``threshold``."""
        names = np.array(self.labels, dtype=object)
        if self.multi_label:
            out = np.empty(len(proba), dtype=object)
            out[:] = [list(names[row >= threshold]) for row in proba]
            return out
        return names[proba.argmax(axis=1)]

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
    def load(cls, path: str | Path, trusted_types: Sequence[str] = ()) -> FewShotModel:
        """Load a model directory; a sklearn head file holding types outside the allow-list is refused
        unless named in ``trusted_types``."""
        path = Path(path)
        config_path = path / MODEL_CONFIG
        if not config_path.exists():
            raise ModelError(f"{path}: not a fewshot model directory (no {MODEL_CONFIG})")
        config = json.loads(config_path.read_text())
        labels = config.pop("labels")
        config.pop("format", None)
        body = body_lib.load_body(str(path / "body"), field=str(path))
        return cls(body, heads.load_head(path, trusted_types), labels, config)


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
