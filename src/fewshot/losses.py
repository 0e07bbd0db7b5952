"""Every body loss, and the one registry of their names (the params schema reads it from here).

Pair losses train on the pairs stage's output (``sentence_1``, ``sentence_2``, ``label``):
CosineSimilarityLoss, ContrastiveLoss and OnlineContrastiveLoss (sentence-transformers' own), each wrapped
in :class:`DedupPairLoss` so a batch embeds each distinct text once.
Batch losses train on the few-shot texts with their labels, batch by batch: every two texts of a batch
with the same label are a positive, every two with different labels a negative.
BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss and BatchHardSoftMarginTripletLoss
are sentence-transformers' own; sentence-transformers has no supervised contrastive loss, so
:class:`SupConLoss` (Khosla et al., 2020, as setfit's) is written here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from fewshot.arguments import BATCH_LOSSES, DISTANCE_METRICS, LOSSES, PAIR_LOSSES  # noqa: F401 (re-exported)
from fewshot.errors import LossError
from fewshot.labels import any_multi_label


def is_batch_loss(name: str) -> bool:
    return name in BATCH_LOSSES


def takes_margin(name: str) -> bool:
    """Whether ``train.margin`` reaches this loss."""
    return name in (
        "ContrastiveLoss",
        "OnlineContrastiveLoss",
        "BatchAllTripletLoss",
        "BatchHardTripletLoss",
        "BatchSemiHardTripletLoss",
    )


def takes_distance(name: str) -> bool:
    """Whether ``train.distance_metric`` reaches this loss."""
    return name != "CosineSimilarityLoss" and name != "SupConLoss"


def _manhattan(embeddings: Tensor) -> Tensor:
    return torch.cdist(embeddings, embeddings, p=1)


def batch_distance(metric: str | None):
    """A distance-matrix function for the batch triplet losses (``train.distance_metric``)."""
    from sentence_transformers.losses import BatchHardTripletLossDistanceFunction as D

    euclidean = getattr(D, "euclidean_distance", None) or D.eucledian_distance  # spelled so before ST 6
    table = {"cosine": D.cosine_distance, "euclidean": euclidean, "manhattan": _manhattan}
    return table[metric or "euclidean"]


def pair_distance(metric: str | None):
    """A pairwise distance for ContrastiveLoss / OnlineContrastiveLoss (``train.distance_metric``)."""
    from sentence_transformers.losses import SiameseDistanceMetric as M

    return {"cosine": M.COSINE_DISTANCE, "euclidean": M.EUCLIDEAN, "manhattan": M.MANHATTAN}[metric or "cosine"]


class SupConLoss(nn.Module):
    """Supervised contrastive loss: for each text, pull the batch's texts of its label closer than all
    others, via a softmax over cosine similarities / ``temperature``. Texts whose label has no other text
    in the batch contribute nothing."""

    def __init__(self, body, temperature: float = 0.07):
        super().__init__()
        self.model = body  # sentence-transformers' name for a loss's body
        self.temperature = temperature

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = self.model(next(iter(sentence_features)))["sentence_embedding"]
        return self.compute_loss_from_embeddings([embeddings], labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        z = nn.functional.normalize(embeddings[0], dim=1)
        logits = z @ z.T / self.temperature
        n = len(labels)
        self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
        positives = (labels[:, None] == labels[None, :]) & ~self_mask
        logits = logits.masked_fill(self_mask, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        counts = positives.sum(dim=1)
        has = counts > 0
        if not has.any():
            return (z * 0).sum()  # no positives in this batch: no signal, but a graph for backward
        mean_pos = log_prob.masked_fill(~positives, 0).sum(dim=1)[has] / counts[has]
        return -mean_pos.mean()

    def get_config_dict(self):
        return {"temperature": self.temperature}


def make_batch_loss(body, name: str, margin: float | None = None, distance_metric: str | None = None) -> nn.Module:
    """A loss trained on (text, label) batches, by ``train.loss`` name."""
    from sentence_transformers import losses

    if name == "SupConLoss":
        if margin is not None or distance_metric is not None:
            raise LossError("train.margin and train.distance_metric do not apply to SupConLoss; set them to null")
        return SupConLoss(body)
    if name not in BATCH_LOSSES:
        raise LossError(f"train.loss: unknown batch loss '{name}'; use one of {', '.join(BATCH_LOSSES)}")
    kwargs = {"distance_metric": batch_distance(distance_metric)}
    if margin is not None:
        if name == "BatchHardSoftMarginTripletLoss":
            raise LossError(
                "train.margin: BatchHardSoftMarginTripletLoss has no margin (a soft margin); set it to null"
            )
        kwargs["margin"] = margin
    return getattr(losses, name)(body, **kwargs)


def label_codes(labels) -> np.ndarray:
    """Integer codes of single-label labels, in sorted label order (the batch losses need integers)."""
    values = [str(v) for v in labels]
    if any_multi_label(labels):
        raise LossError(
            "the batch losses need one label per text; multi-label data trains on pairs. "
            "Fix: use CosineSimilarityLoss, ContrastiveLoss or OnlineContrastiveLoss"
        )
    _, codes = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    return codes.astype(np.int64)


def make_loss(
    body, name: str = "CosineSimilarityLoss", margin: float | None = None, distance_metric: str | None = None
) -> nn.Module:
    """A loss by ``train.loss`` name: a pair loss wrapped to encode each distinct text once per batch, or
    a loss on labelled batches."""
    if is_batch_loss(name):
        return make_batch_loss(body, name, margin, distance_metric)
    from sentence_transformers import losses

    if name not in PAIR_LOSSES:
        raise LossError(f"train.loss: unknown loss '{name}'; use one of {', '.join(LOSSES)}")
    kwargs = {}
    if name != "CosineSimilarityLoss":
        if margin is not None:
            kwargs["margin"] = margin
        if distance_metric is not None:
            kwargs["distance_metric"] = pair_distance(distance_metric)
    return DedupPairLoss(getattr(losses, name)(body, **kwargs))


class DedupPairLoss(nn.Module):
    """Wraps a sentence-transformers pair loss so each distinct text of a batch is encoded once.

    A batch of pairs drawn from a few dozen texts repeats texts many times. The two columns are
    merged, identical token rows found, each distinct row run through the body once, and its
    embedding reused for every pair containing it; the wrapped loss then computes exactly what it
    would from per-column embeddings (``compute_loss_from_embeddings``).
    """

    def __init__(self, loss: nn.Module, chunk_size: int = 8):
        super().__init__()
        self.loss = loss
        self.model = loss.model
        self.chunk_size = chunk_size

    def forward(self, sentence_features, labels: Tensor) -> Tensor:
        from sentence_transformers.base.losses.merged_forward import merge_feature_batches

        features = list(sentence_features)
        merged = merge_feature_batches(features) if len(features) > 1 else None
        if merged is None or "input_ids" not in merged:
            return self.loss(features, labels)
        ids, mask = merged["input_ids"], merged["attention_mask"]
        rows = ids.shape[0]
        _, inverse = torch.unique(torch.cat([ids, mask.to(ids.dtype)], dim=1), dim=0, return_inverse=True)
        n_unique = int(inverse.max()) + 1
        first = torch.full((n_unique,), rows, dtype=torch.long, device=ids.device)
        first.scatter_reduce_(0, inverse, torch.arange(rows, device=ids.device), reduce="amin")
        unique_embeddings = self._encode_rows(merged, first, mask.sum(dim=1), rows)
        embeddings = unique_embeddings[inverse]
        columns = list(embeddings.reshape(len(features), -1, embeddings.shape[-1]).unbind(0))
        return self.loss.compute_loss_from_embeddings(columns, labels)

    def _encode_rows(self, merged: dict, picked: Tensor, lengths: Tensor, rows: int) -> Tensor:
        return encode_by_length(self.model, merged, picked, lengths, rows, self.chunk_size)

    def get_config_dict(self):
        return {"loss": type(self.loss).__name__, "dedup": True, "chunk_size": self.chunk_size}


def encode_by_length(model, merged: dict, picked: Tensor, lengths: Tensor, rows: int, chunk_size: int = 8) -> Tensor:
    """Embed rows ``picked`` of a tokenized batch in length-sorted chunks, each padded only to its own
    longest text (AG News lengths vary 3x within a batch, so one padded block wastes most of its work)."""
    # Under DDP ``model`` is the DDP wrapper and the processes may run different numbers of chunks
    # per step. That is safe only because no forward call communicates: sentence-transformers turns off
    # DDP's per-forward buffer broadcast (``ddp_broadcast_buffers=False``); gradients meet once, in backward.
    order = picked[torch.argsort(lengths[picked], stable=True)]
    parts = []
    for chunk in order.split(chunk_size):
        width = int(lengths[chunk].max())
        features = {
            k: (v[chunk][:, :width] if v.ndim >= 2 else v[chunk])
            if isinstance(v, Tensor) and v.ndim >= 1 and v.shape[0] == rows
            else v
            for k, v in merged.items()
        }
        parts.append(model(features)["sentence_embedding"])
    sorted_embeddings = torch.cat(parts)
    # back to the order of ``picked``
    position = torch.empty_like(picked)
    position[torch.argsort(lengths[picked], stable=True)] = torch.arange(len(picked), device=picked.device)
    return sorted_embeddings[position]


class TeacherSimilarityLoss(nn.Module):
    """Grouped distillation's loss: a batch is a group of texts, each embedded once by the student; the
    loss is the mean squared error between the student's cosine similarity and the teacher's of every
    pair among them (as :class:`~sentence_transformers.losses.CosineSimilarityLoss` on those pairs).

    ``teacher_embeddings``: the teacher's embeddings of every text of the dataset, computed once; a
    batch's labels are the rows of its texts in them.
    """

    def __init__(self, model, teacher_embeddings, chunk_size: int = 8):
        super().__init__()
        self.model = model
        unit = torch.nn.functional.normalize(torch.as_tensor(teacher_embeddings, dtype=torch.float32), dim=1)
        self.register_buffer("teacher_unit", unit, persistent=False)
        self.chunk_size = chunk_size

    def forward(self, sentence_features, labels: Tensor) -> Tensor:
        features = dict(next(iter(sentence_features)))
        rows = features["input_ids"].shape[0]
        picked = torch.arange(rows, device=features["input_ids"].device)
        student = encode_by_length(
            self.model, features, picked, features["attention_mask"].sum(dim=1), rows, self.chunk_size
        )
        student = torch.nn.functional.normalize(student, dim=1)
        teacher = self.teacher_unit.to(student.device)[labels.long()]
        i, j = torch.triu_indices(rows, rows, offset=1, device=student.device)
        if len(i) == 0:  # a group of one text has no pair: no gradient, no loss
            return (student * 0).sum()
        predicted = (student[i] * student[j]).sum(dim=1)
        target = (teacher[i] * teacher[j]).sum(dim=1)
        return torch.nn.functional.mse_loss(predicted, target)

    def get_config_dict(self):
        return {"loss": "TeacherSimilarityLoss", "chunk_size": self.chunk_size}
