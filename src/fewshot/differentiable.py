"""The differentiable head: a torch linear layer on the body's embeddings (setfit's ``SetFitHead``).

``out_features`` is the number of labels; logits are divided by ``temperature``; single-label heads
use softmax + cross-entropy, multi-label heads sigmoid + binary cross-entropy (one column per label).
It is trained after the body phase, with the head-phase values of the two-phase arguments
(``train.num_epochs[1]``, ``train.batch_size[1]``), ``train.head_learning_rate`` and ``train.l2_weight``
(AdamW weight decay). With ``train.end_to_end`` the body is unfrozen too, at
``train.body_learning_rate[1]``; otherwise the texts are embedded once and only the layer learns.
With validation texts it reports validation loss and accuracy each epoch and, given a patience, stops
when the validation loss has not improved for that many epochs, keeping the best epoch's weights.
Saved as safetensors (weights) + JSON (settings); loading never unpickles.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fewshot.heads import HEAD_CONFIG, HEAD_WEIGHTS, HeadError

DEFAULT_TRAINING = {
    "num_epochs": 16, "batch_size": 2, "body_learning_rate": 1e-5, "head_learning_rate": 1e-2,
    "l2_weight": 1e-2, "end_to_end": False, "max_length": None, "early_stopping_patience": None,
}
PARAMS = ("temperature", "bias", "class_weight")


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
    needs_body = True

    def __init__(self, params: dict[str, Any] | None = None, multi_target_strategy: str | None = None):
        self.params = {"temperature": 1.0, "bias": True, "class_weight": None, **(params or {})}
        unknown = sorted(set(self.params) - set(PARAMS))
        if unknown:
            raise HeadError(f"head.params: {unknown} are not differentiable-head params; use {', '.join(PARAMS)}")
        if not float(self.params["temperature"]) > 0:
            raise HeadError("head.params.temperature must be > 0")
        self.linear: nn.Linear | None = None
        self.multi_label = False
        self.n_classes: int | None = None
        self.history: list[dict[str, float]] = []
        self.converged = None

    # --- training ---------------------------------------------------------------------------
    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int | None = None, training: dict | None = None,
            seed: int = 42) -> DifferentiableHead:
        """Fit on fixed embeddings (no body): the head phase without ``end_to_end``."""
        return self._train(None, None, np.asarray(x, np.float32), y, n_classes, training, None, seed, None)

    def fit_texts(
        self, body, texts: Sequence[str], y: np.ndarray, n_classes: int | None = None, training: dict | None = None,
        validation: tuple[Sequence[str], np.ndarray] | None = None, seed: int = 42,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    ) -> DifferentiableHead:
        """The head phase on texts; the body is trained too (in place) when ``training['end_to_end']``."""
        return self._train(body, list(texts), None, y, n_classes, training, validation, seed, on_epoch)

    def _train(self, *args) -> DifferentiableHead:
        from fewshot.body import deterministic

        with deterministic():  # same params and inputs, byte-identical head (and end-to-end body) weights
            return self._fit(*args)

    def _fit(self, body, texts, x, y, n_classes, training, validation, seed, on_epoch) -> DifferentiableHead:
        from fewshot.body import encode

        args = {**DEFAULT_TRAINING, **(training or {})}
        y = np.asarray(y)
        self.multi_label = y.ndim == 2
        self.n_classes = int(y.shape[1] if self.multi_label else (n_classes if n_classes is not None else y.max() + 1))
        end_to_end = bool(args["end_to_end"]) and body is not None
        if body is not None and args.get("max_length"):
            body.max_seq_length = int(args["max_length"])
        if x is None and not end_to_end:
            x = encode(body, texts)
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        dim = x.shape[1] if x is not None else _embedding_dim(body)
        device = next(body.parameters()).device if body is not None else torch.device("cpu")
        self.linear = nn.Linear(dim, self.n_classes, bias=bool(self.params["bias"])).to(device)
        groups = [{"params": self.linear.parameters(), "lr": float(args["head_learning_rate"])}]
        if end_to_end:
            groups.append({"params": body.parameters(), "lr": float(args["body_learning_rate"])})
        optimizer = torch.optim.AdamW(groups, weight_decay=float(args["l2_weight"]))
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

        patience = args.get("early_stopping_patience")
        best, best_loss, waited = None, float("inf"), 0
        self.history = []
        for epoch in range(1, int(args["num_epochs"]) + 1):
            if end_to_end:
                body.train()
            total, seen = 0.0, 0
            for rows in torch.randperm(len(y), generator=generator).split(int(args["batch_size"])):
                loss = loss_fn(self._logits(embed(rows, True)), target[rows.to(device)])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, seen = total + float(loss.detach()) * len(rows), seen + len(rows)
            if end_to_end:
                body.eval()
            record = {"epoch": epoch, "loss": total / seen}
            if validation is not None and len(validation[0]):
                record.update(self._validate(body, end_to_end, validation, loss_fn, device))
            self.history.append(record)
            if on_epoch:
                on_epoch(epoch, record)
            if "val_loss" in record and patience:
                if record["val_loss"] < best_loss - 1e-12:
                    best_loss, waited = record["val_loss"], 0
                    best = (copy.deepcopy(self.linear.state_dict()),
                            copy.deepcopy(body.state_dict()) if end_to_end else None)
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

    def _validate(self, body, end_to_end, validation, loss_fn, device) -> dict[str, float]:
        from fewshot.body import encode

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

    def num_params(self) -> int:
        return int(sum(p.numel() for p in self.linear.parameters())) if self.linear is not None else 0

    # --- persistence ------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.linear.state_dict().items()}
        save_file(tensors, str(directory / HEAD_WEIGHTS))
        config = {
            "type": self.type, "params": self.params, "n_classes": self.n_classes, "multi_label": self.multi_label,
            "in_features": self.linear.in_features, "history": self.history,
        }
        (directory / HEAD_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: str | Path, config: dict[str, Any]) -> DifferentiableHead:
        from safetensors.torch import load_file

        head = cls(config.get("params"))
        head.n_classes = int(config["n_classes"])
        head.multi_label = bool(config.get("multi_label"))
        head.history = list(config.get("history") or [])
        head.linear = nn.Linear(int(config["in_features"]), head.n_classes, bias=bool(head.params["bias"]))
        try:
            head.linear.load_state_dict(load_file(str(Path(directory) / HEAD_WEIGHTS)))
        except (RuntimeError, KeyError) as err:
            raise HeadError(f"{directory}: head weights do not match head.json ({err})") from None
        head.linear.eval()
        return head


def _embedding_dim(body) -> int:
    getter = getattr(body, "get_embedding_dimension", None) or body.get_sentence_embedding_dimension  # ST < 6
    return int(getter())
