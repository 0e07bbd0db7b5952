"""The differentiable head: a torch linear layer on the body's embeddings (setfit's ``SetFitHead``).

``out_features`` is the number of labels; logits are divided by ``temperature``; single-label heads
use softmax + cross-entropy, multi-label heads sigmoid + binary cross-entropy (one column per label).
It is trained after the body phase, in the head phase (:class:`~fewshot.arguments.HeadArguments`:
``num_epochs``, ``batch_size``, ``head_learning_rate`` and ``l2_weight``, AdamW's weight decay). With
``end_to_end`` the body is unfrozen too, at ``body_learning_rate``; otherwise only the layer learns, on
the texts' embeddings.
With validation texts it reports validation loss and accuracy each epoch and, given a patience, stops
when the validation loss has not improved for that many epochs, keeping the best epoch's weights.
Saved as safetensors (weights) + JSON (settings); loading never unpickles.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fewshot.classifiers import check_head
from fewshot.embeddings import embedding_dim, encode
from fewshot.errors import HeadError
from fewshot.heads.base import HEAD_CONFIG, HEAD_WEIGHTS, Examples, HeadArguments, load_tensors, write_config
from fewshot.runtime import deterministic


def class_weights(spec: Any, y: np.ndarray, n_classes: int) -> torch.Tensor | None:
    """``None``; ``"balanced"`` (sklearn's n / (K · count), multi-label: negatives / positives per label);
    or one weight per class (a list in label order)."""
    if spec is None:
        return None
    if spec == "balanced":
        if y.ndim == 2:
            pos = y.sum(axis=0)
            return torch.tensor((len(y) - pos) / np.clip(pos, 1, None), dtype=torch.float32)
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        return torch.tensor(len(y) / (n_classes * np.clip(counts, 1, None)), dtype=torch.float32)
    if isinstance(spec, (list, tuple)) and len(spec) == n_classes:
        return torch.tensor([float(v) for v in spec], dtype=torch.float32)
    raise HeadError(
        f"head.params.class_weight: {spec!r}; use 'balanced' or a list of {n_classes} weights in label order"
    )


class DifferentiableHead:
    type = "differentiable"

    def __init__(self, params: dict[str, Any] | None = None, phase: HeadArguments | None = None):
        self.params = {"temperature": 1.0, "bias": True, "class_weight": None, **(params or {})}
        self.phase = phase or HeadArguments(type=self.type)
        self.linear: nn.Linear | None = None
        self.multi_label = False
        self.n_classes: int | None = None
        self.history: list[dict[str, float]] = []
        self.converged = None

    def _check(self) -> None:
        check_head(self.type, self.params, None)
        if not float(self.params["temperature"]) > 0:
            raise HeadError("head.params.temperature must be > 0")

    # --- training ---------------------------------------------------------------------------
    def fit(self, examples: Examples) -> DifferentiableHead:
        """The head phase (``phase``: its num_epochs, batch_size, learning rates, l2_weight, end_to_end,
        early_stopping_patience, seed); with ``end_to_end`` and a body, the body is trained too (in place)."""
        self._check()
        with deterministic():  # same params and inputs, byte-identical head (and end-to-end body) weights
            return self._fit(examples)

    def _fit(self, examples: Examples) -> DifferentiableHead:
        args, body, texts = self.phase, examples.body, list(examples.texts)
        y = np.asarray(examples.y)
        self.multi_label = examples.multi_label
        self.n_classes = int(examples.n_classes)
        end_to_end = bool(args.end_to_end) and body is not None
        x = None if end_to_end else examples.features()
        torch.manual_seed(args.seed)
        generator = torch.Generator().manual_seed(args.seed)
        dim = x.shape[1] if x is not None else embedding_dim(body)
        device = next(body.parameters()).device if body is not None else torch.device("cpu")
        self.linear = nn.Linear(dim, self.n_classes, bias=bool(self.params["bias"])).to(device)
        groups = [{"params": self.linear.parameters(), "lr": float(args.head_learning_rate)}]
        if end_to_end:
            groups.append({"params": body.parameters(), "lr": float(args.body_learning_rate)})
        optimizer = torch.optim.AdamW(groups, weight_decay=float(args.l2_weight))
        weight = class_weights(self.params.get("class_weight"), y, self.n_classes)
        loss_fn = self._loss(weight.to(device) if weight is not None else None)
        target = torch.tensor(y, dtype=torch.float32 if self.multi_label else torch.long, device=device)
        features = torch.tensor(x, device=device) if x is not None else None

        def embed(rows: torch.Tensor, grad: bool) -> torch.Tensor:
            if not end_to_end:
                return features[rows.to(device)]
            tokenize = getattr(body, "preprocess", None) or body.tokenize  # renamed in ST 6
            batch = tokenize([texts[i] for i in rows.tolist()])
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            with torch.set_grad_enabled(grad):
                return body(batch)["sentence_embedding"]

        validation = examples.validation
        patience = args.early_stopping_patience
        best, best_loss, waited = None, float("inf"), 0
        self.history = []
        for epoch in range(1, int(args.num_epochs) + 1):
            if end_to_end:
                body.train()
            total, seen = 0.0, 0
            for rows in torch.randperm(len(y), generator=generator).split(int(args.batch_size)):
                loss = loss_fn(self._logits(embed(rows, True)), target[rows.to(device)])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, seen = total + float(loss.detach()) * len(rows), seen + len(rows)
            if end_to_end:
                body.eval()
            record = {"epoch": epoch, "loss": total / seen}
            if validation is not None and len(validation[0]):
                record.update(self._validate(body, validation, loss_fn, device))
            self.history.append(record)
            if examples.on_epoch:
                examples.on_epoch(epoch, record)
            if "val_loss" in record and patience:
                if record["val_loss"] < best_loss - 1e-12:
                    best_loss, waited = record["val_loss"], 0
                    best = (
                        copy.deepcopy(self.linear.state_dict()),
                        copy.deepcopy(body.state_dict()) if end_to_end else None,
                    )
                else:
                    waited += 1
                    if waited >= patience:
                        break
        if best is not None:
            self.linear.load_state_dict(best[0])
            if best[1] is not None:
                body.load_state_dict(best[1])
        self.linear.eval()
        if body is not None:
            body.eval()
        return self

    def _loss(self, weight: torch.Tensor | None) -> nn.Module:
        if self.multi_label:
            return nn.BCEWithLogitsLoss(pos_weight=weight)
        return nn.CrossEntropyLoss(weight=weight)

    def _logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.linear(embeddings) / float(self.params["temperature"])

    def _validate(self, body, validation, loss_fn, device) -> dict[str, float]:
        texts, y = list(validation[0]), np.asarray(validation[1])
        with torch.no_grad():
            emb = torch.tensor(encode(body, texts), device=device)
            logits = self._logits(emb)
            target = torch.tensor(y, dtype=torch.float32 if self.multi_label else torch.long, device=device)
            loss = float(loss_fn(logits, target))
        if self.multi_label:
            accuracy = float(((logits > 0).cpu().numpy() == (y > 0.5)).all(axis=1).mean())
        else:
            accuracy = float((logits.argmax(dim=1).cpu().numpy() == y).mean())
        return {"val_loss": loss, "val_accuracy": accuracy}

    # --- inference --------------------------------------------------------------------------
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        if self.linear is None:
            raise HeadError("the differentiable head is not fitted")
        with torch.no_grad():
            device = self.linear.weight.device
            logits = self._logits(torch.as_tensor(np.asarray(x, np.float32), device=device))
            proba = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=1)
        return proba.cpu().numpy().astype(np.float64)

    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.linear.parameters())) if self.linear is not None else 0

    # --- persistence ------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "params": self.params,
            "n_classes": self.n_classes,
            "multi_label": self.multi_label,
            "in_features": self.linear.in_features if self.linear is not None else None,
            "history": self.history,
        }

    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        tensors = {k: v.detach().cpu().contiguous() for k, v in self.linear.state_dict().items()}
        save_file(tensors, str(Path(directory) / HEAD_WEIGHTS))
        write_config(self, directory)

    @classmethod
    def load(
        cls, directory: str | Path, config: dict[str, Any], trusted_types: Sequence[str] = ()
    ) -> DifferentiableHead:
        tensors = load_tensors(directory)
        head = cls(config.get("params"))
        try:
            head.n_classes = int(config["n_classes"])
            head.multi_label = bool(config.get("multi_label"))
            head.history = list(config.get("history") or [])
            head.linear = nn.Linear(int(config["in_features"]), head.n_classes, bias=bool(head.params["bias"]))
            head.linear.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
        except (RuntimeError, KeyError, TypeError, ValueError) as err:
            raise HeadError(
                f"{Path(directory) / HEAD_WEIGHTS}: the weights do not match {HEAD_CONFIG} "
                f"({str(err).strip().splitlines()[0]}). Fix: save the model again"
            ) from None
        head.linear.eval()
        return head
