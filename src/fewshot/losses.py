"""Body losses on labelled texts (not pairs): the batch triplet losses and a supervised contrastive loss.

Pair losses (CosineSimilarityLoss, ContrastiveLoss, OnlineContrastiveLoss) train on the pairs stage's
output; the losses here train on the few-shot texts with their labels, batch by batch: every two texts
of a batch with the same label are a positive, every two with different labels a negative.
BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss and BatchHardSoftMarginTripletLoss
are sentence-transformers' own; sentence-transformers has no supervised contrastive loss, so
:class:`SupConLoss` (Khosla et al., 2020, as setfit's) is written here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from fewshot.config import BATCH_LOSSES
from fewshot.errors import FewshotError

PAIR_LOSSES = ("CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss")


class LossError(FewshotError):
    """A loss name or setting that cannot be used."""


def is_batch_loss(name: str) -> bool:
    return name in BATCH_LOSSES


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

    def __init__(self, model, temperature: float = 0.07):
        super().__init__()
        self.model = model
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


def make_batch_loss(model, name: str, margin: float | None = None, distance_metric: str | None = None) -> nn.Module:
    """A loss trained on (text, label) batches, by ``train.loss`` name."""
    from sentence_transformers import losses

    if name == "SupConLoss":
        if margin is not None or distance_metric is not None:
            raise LossError("train.margin and train.distance_metric do not apply to SupConLoss; set them to null")
        return SupConLoss(model)
    if name not in BATCH_LOSSES:
        raise LossError(f"train.loss: unknown batch loss '{name}'; use one of {', '.join(BATCH_LOSSES)}")
    kwargs = {"distance_metric": batch_distance(distance_metric)}
    if margin is not None:
        if name == "BatchHardSoftMarginTripletLoss":
            raise LossError("train.margin: BatchHardSoftMarginTripletLoss has no margin (a soft margin); set it to null")
        kwargs["margin"] = margin
    return getattr(losses, name)(model, **kwargs)


def label_codes(labels) -> np.ndarray:
    """Integer codes of single-label labels, in sorted label order (the batch losses need integers)."""
    values = [str(v) for v in labels]
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in labels):
        raise LossError(
            "the batch losses need one label per text; multi-label data trains on pairs. "
            "Fix: use CosineSimilarityLoss, ContrastiveLoss or OnlineContrastiveLoss"
        )
    _, codes = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    return codes.astype(np.int64)
