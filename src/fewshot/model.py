"""FewShotModel: a body, a head and the label names; fit, predict, predict_proba, save, load.

The directory it saves to and loads from is :mod:`fewshot.model_dir`'s format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot import model_dir
from fewshot.embeddings import encode
from fewshot.heads import Examples, Head, HeadArguments, make_head
from fewshot.labels import any_multi_label, known, plain, sorted_labels, targets
from fewshot.sources import n_parameters


def as_texts(texts: Any) -> list[str]:
    """A list of texts from a string, a list, an array, a pandas Series or a datasets column."""
    if isinstance(texts, str):
        return [texts]
    if hasattr(texts, "tolist") and not isinstance(texts, list):
        texts = texts.tolist()
    return [str(t) for t in texts]


class FewShotModel:
    def __init__(self, body, head: Head, labels: Sequence, info: dict[str, Any] | None = None):
        self.body = body
        self.head = head
        self.labels = [plain(label) for label in labels]
        self.info = dict(info or {})

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        body,
        texts: Sequence[str],
        labels: Sequence,
        head: Head | HeadArguments | None = None,
        *,
        label_names: Sequence | None = None,
        embeddings: np.ndarray | None = None,
        validation: tuple[Sequence[str], Sequence] | None = None,
        on_epoch=None,
        info: dict[str, Any] | None = None,
        batch_size: int | None = None,
    ) -> FewShotModel:
        """Fit a head on ``texts`` embedded by ``body``; ``head``: a head from :func:`fewshot.heads.make_head`,
        or its arguments (default: logistic regression).

        The model's ``labels`` (predict_proba's column order) are ``label_names`` if given (a class
        with no text then gets a column of zeros), else the sorted distinct labels. Labels that are
        lists (or arrays) of labels make a multi-label model. ``embeddings`` (``texts`` embedded by
        ``body``, e.g. the embed stage's cache) spare the embedding pass. ``validation`` (texts, labels)
        and ``on_epoch`` concern heads that train in epochs (the differentiable head).
        """
        labels = list(labels)
        names = list(label_names) if label_names is not None else sorted_labels(labels)
        if head is None or isinstance(head, HeadArguments):
            head = make_head(head, multi_label=any_multi_label(labels))
        texts = as_texts(texts)
        val = None
        if validation is not None and len(validation[0]):
            vtexts, vlabels = as_texts(validation[0]), list(validation[1])
            keep = known(vlabels, names)  # validation texts of a label the model does not have: left out
            val = ([vtexts[i] for i in keep], targets([vlabels[i] for i in keep], names))
        examples = Examples(
            texts,
            targets(labels, names),
            len(names),
            body=body,
            embeddings=embeddings,
            validation=val,
            on_epoch=on_epoch,
            batch_size=batch_size,
        )
        head.fit(examples)
        return cls(body, head, names, {**(info or {}), "n_train": len(texts)})

    # --- inference ------------------------------------------------------------------------------
    def encode(
        self, texts: Iterable[str], batch_size: int | None = None, show_progress_bar: bool | None = None
    ) -> np.ndarray:
        return encode(self.body, as_texts(texts), batch_size=batch_size, show_progress_bar=show_progress_bar)

    def predict_proba(
        self, texts: Iterable[str], batch_size: int | None = None, show_progress_bar: bool | None = None
    ) -> np.ndarray:
        """(n, len(labels)) probabilities; column k belongs to ``self.labels[k]`` (no texts: no rows)."""
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.proba_from_embeddings(self.encode(texts, batch_size, show_progress_bar))

    def predict(
        self, texts: Iterable[str], batch_size: int | None = None, show_progress_bar: bool | None = None
    ) -> np.ndarray:
        """Label names, one per text."""
        return self.labels_from_proba(self.predict_proba(texts, batch_size, show_progress_bar))

    def proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        return self.head.predict_proba(embeddings)

    @property
    def multi_label(self) -> bool:
        return bool(self.head.multi_label)

    def labels_from_proba(self, proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """One label name per text; multi-label: a list of the names whose probability reaches ``threshold``."""
        names = np.array(self.labels, dtype=object)
        if self.multi_label:
            out = np.empty(len(proba), dtype=object)
            out[:] = [list(names[row >= threshold]) for row in proba]
            return out
        return names[proba.argmax(axis=1)]

    def n_parameters(self) -> int:
        body = self.body.n_parameters() if getattr(self.body, "torch_free", False) else n_parameters(self.body)
        return body + self.head.n_parameters()

    @property
    def backend(self) -> str:
        """What runs the body: ``torch``, ``onnx`` or ``onnx-int8`` (:mod:`fewshot.backends`)."""
        return getattr(self.body, "backend", None) if getattr(self.body, "torch_free", False) else "torch"

    # --- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path, overwrite: bool = True, backend: str | None = None) -> None:
        """Write the model directory atomically (:mod:`fewshot.model_dir`); an existing non-empty one is
        replaced, once the new one is complete, unless ``overwrite=False``. ``backend``: the backend it
        serves with by default (an onnx one exports the body to ``onnx/``); default: the one it runs on."""
        info = {k: v for k, v in self.info.items() if k != "backend"}
        chosen = backend or self.backend
        if getattr(self.body, "torch_free", False) and chosen != self.backend:
            raise model_dir.ModelError(
                f"save: this model's body is its {self.backend} export; it cannot be saved for backend {chosen}. "
                "Fix: load the model with that backend (or torch) first"
            )
        if chosen != "torch":
            info["backend"] = chosen
        model_dir.write(path, self.body, self.head, model_dir.ModelConfig(self.labels, info), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, trusted_types: Sequence[str] = (), backend: str | None = None) -> FewShotModel:
        """Load a model directory; a sklearn head file holding types outside the allow-list is refused
        unless named in ``trusted_types``. ``backend`` (``torch``, ``onnx``, ``onnx-int8``): what runs the
        body; default: the one the directory records (the one it was evaluated with), else torch. The
        onnx backends import no torch (with the logistic head)."""
        body, head, config = model_dir.read(path, trusted_types, backend)
        config.info.pop("backend", None)
        return cls(body, head, config.labels, config.info)
