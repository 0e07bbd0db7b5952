"""Losses (fewshot.losses): the registry of names, the dedup pair loss, the batch losses, SupCon."""

import pytest
import torch

from fewshot.errors import LossError
from fewshot.losses import BATCH_LOSSES, LOSSES, PAIR_LOSSES, DedupPairLoss, SupConLoss, make_loss


def _features(body, texts):
    return body.tokenize(texts)


def test_one_registry_of_names():
    assert LOSSES == PAIR_LOSSES + BATCH_LOSSES and len(set(LOSSES)) == len(LOSSES)
    with pytest.raises(LossError, match="train.loss: unknown loss 'NoLoss'"):
        make_loss(None, "NoLoss")


def test_dedup_loss_equals_the_plain_loss(tiny_body):
    tiny_body.eval()  # no dropout, so both paths see the same embeddings
    a = ["game team won", "market stock", "game team won", "nasa space"]
    b = ["market stock", "market stock", "nasa space", "game team won"]
    labels = torch.tensor([0.0, 1.0, 0.0, 0.0])
    for name in PAIR_LOSSES:
        wrapped = make_loss(tiny_body, name)
        assert isinstance(wrapped, DedupPairLoss)
        dedup = wrapped([_features(tiny_body, a), _features(tiny_body, b)], labels)
        plain = wrapped.loss([_features(tiny_body, a), _features(tiny_body, b)], labels)
        assert torch.allclose(dedup, plain, atol=1e-5), name


def test_dedup_loss_encodes_each_distinct_text_once(tiny_body):
    seen = []
    hook = tiny_body[0].register_forward_hook(lambda m, i, o: seen.append(o["token_embeddings"].shape[0]))
    try:
        a = ["game team won"] * 3 + ["market stock"]
        b = ["market stock"] * 4
        make_loss(tiny_body)([_features(tiny_body, a), _features(tiny_body, b)], torch.zeros(4))
    finally:
        hook.remove()
    assert seen == [2]  # 8 texts in the batch, 2 distinct


@pytest.mark.parametrize(
    "loss, margin, metric",
    [
        ("BatchAllTripletLoss", 0.5, "cosine"),
        ("BatchHardTripletLoss", 0.5, "euclidean"),
        ("BatchSemiHardTripletLoss", 0.5, "manhattan"),
    ],
)
def test_batch_losses_take_margin_and_distance(tiny_body, loss, margin, metric):
    built = make_loss(tiny_body, loss, margin, metric)
    assert getattr(built, "triplet_margin", getattr(built, "margin", None)) == margin
    if metric == "manhattan":
        emb = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
        assert torch.equal(built.distance_metric(emb), torch.tensor([[0.0, 3.0], [3.0, 0.0]]))


def test_pair_losses_take_the_distance_metric(tiny_body):
    from sentence_transformers.losses import SiameseDistanceMetric

    wrapped = make_loss(tiny_body, "OnlineContrastiveLoss", margin=0.3, distance_metric="euclidean")
    assert wrapped.loss.distance_metric == SiameseDistanceMetric.EUCLIDEAN and wrapped.loss.margin == 0.3


def test_supcon_prefers_embeddings_clustered_by_label():
    labels = torch.tensor([0, 0, 1, 1])
    loss = SupConLoss(None, temperature=0.1)
    clustered = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    assert loss.compute_loss_from_embeddings([clustered], labels) < loss.compute_loss_from_embeddings([mixed], labels)


def test_misplaced_settings_are_named(tiny_body):
    with pytest.raises(LossError, match="train.margin"):
        make_loss(tiny_body, "BatchHardSoftMarginTripletLoss", margin=1.0)
    with pytest.raises(LossError, match="SupConLoss"):
        make_loss(tiny_body, "SupConLoss", margin=1.0)
