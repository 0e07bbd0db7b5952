"""Contrastive pairs from a few labelled texts, without materialising all n² candidates.

Every candidate pair (i < j) is numbered: positives class by class, negatives class-pair by
class-pair. Pairs are drawn as numbers and decoded to (i, j) on the fly, so memory grows with
the pairs written, not with the candidates.

Pair counts follow setfit 1.2.0 (``setfit.sampler.ContrastiveDataset``), over the candidate sets:

- ``oversampling`` (default): max(#pos, #neg) positives and as many negatives, the smaller set
  cycled;
- ``undersampling``: min(#pos, #neg) of each;
- ``unique``: every candidate once;
- ``num_iterations=k`` (overrides the strategy): k·n positives and k·n negatives;
- ``max_pairs=m``: at most m//2 distinct positive and m//2 distinct negative candidates.

Positives and negatives alternate (pos, neg, pos, neg, ...), as in setfit. Self-pairs (a text with
itself) are excluded unless ``include_self_pairs``: setfit includes them by accident (its
issues #578 and #620); they teach nothing, a cosine of 1 the body already has.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

from collections.abc import Sequence

import numpy as np
import pandas as pd

STRATEGIES = ("oversampling", "undersampling", "unique")


class PairsError(FewshotError):
    """Pairs that cannot be built from the given labels and settings."""


def _draw(rng: np.random.Generator, total: int, k: int) -> np.ndarray:
    """``k`` distinct integers from ``range(total)`` in random order, in O(k) memory for k << total."""
    if k >= total:
        return rng.permutation(total)
    if 4 * k >= total:
        return rng.permutation(total)[:k]
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < k:
        extra = rng.integers(0, total, size=int(1.1 * (k - len(chosen))) + 16)
        chosen = np.concatenate([chosen, extra])
        _, first = np.unique(chosen, return_index=True)
        chosen = chosen[np.sort(first)]  # keep first occurrences, in draw order
    return chosen[:k]


def _sequence(rng: np.random.Generator, total: int, cap: int, length: int) -> np.ndarray:
    """``length`` candidate numbers: distinct while possible, then cycled (setfit's oversampling)."""
    if length == 0:
        return np.empty(0, dtype=np.int64)
    distinct = _draw(rng, total, min(total, cap, length))
    return np.resize(distinct, length).astype(np.int64)


class _Candidates:
    """Numbering of positive and negative candidate pairs for single-label data."""

    def __init__(self, codes: np.ndarray, include_self_pairs: bool):
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        self.members = np.split(order, np.cumsum(sizes)[:-1])  # indices of each class, ascending
        self.self_pairs = include_self_pairs
        k = sizes.astype(np.int64)
        pos = k * (k + 1) // 2 if include_self_pairs else k * (k - 1) // 2
        self.pos_offsets = np.concatenate([[0], np.cumsum(pos)])
        a, b = np.triu_indices(len(k), 1)
        self.class_pairs = (a, b)
        self.neg_offsets = np.concatenate([[0], np.cumsum(k[a] * k[b])])

    @property
    def n_pos(self) -> int:
        return int(self.pos_offsets[-1])

    @property
    def n_neg(self) -> int:
        return int(self.neg_offsets[-1])

    def decode_pos(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first, second = np.empty_like(t), np.empty_like(t)
        cls = np.searchsorted(self.pos_offsets, t, side="right") - 1
        for c in np.unique(cls):
            mask = cls == c
            m = self.members[c]
            k = len(m)
            rows = np.arange(k, dtype=np.int64)
            lengths = k - rows if self.self_pairs else k - 1 - rows
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            local = t[mask] - self.pos_offsets[c]
            i = np.searchsorted(starts, local, side="right") - 1
            # rows of zero length share a start with the next row: searchsorted picks the last, the right one
            j = i + (0 if self.self_pairs else 1) + (local - starts[i])
            first[mask], second[mask] = m[i], m[j]
        return first, second

    def decode_neg(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first, second = np.empty_like(t), np.empty_like(t)
        block = np.searchsorted(self.neg_offsets, t, side="right") - 1
        a, b = self.class_pairs
        for blk in np.unique(block):
            mask = block == blk
            ma, mb = self.members[a[blk]], self.members[b[blk]]
            local = t[mask] - self.neg_offsets[blk]
            x, y = ma[local // len(mb)], mb[local % len(mb)]
            first[mask], second[mask] = np.minimum(x, y), np.maximum(x, y)
        return first, second


class _MultiLabelCandidates:
    """Candidate pairs of multi-label texts, listed explicitly (few-shot sets are small): positive when
    the two texts share a label."""

    def __init__(self, labels: Sequence, include_self_pairs: bool):
        sets = [set(map(str, v)) if isinstance(v, (list, tuple, set, np.ndarray)) else {str(v)} for v in labels]
        names = sorted(set().union(*sets))
        if len(names) < 2:
            raise PairsError("pairs need at least two labels; the few-shot set has one")
        hot = np.array([[name in s for name in names] for s in sets], dtype=np.int64)
        shared = (hot @ hot.T) > 0
        i, j = np.triu_indices(len(sets), 0 if include_self_pairs else 1)
        positive = shared[i, j]
        self.pos_pairs = (i[positive], j[positive])
        self.neg_pairs = (i[~positive], j[~positive])

    @property
    def n_pos(self) -> int:
        return len(self.pos_pairs[0])

    @property
    def n_neg(self) -> int:
        return len(self.neg_pairs[0])

    def decode_pos(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.pos_pairs[0][t], self.pos_pairs[1][t]

    def decode_neg(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.neg_pairs[0][t], self.neg_pairs[1][t]


def pair_counts(
    n_pos: int, n_neg: int, n_texts: int, sampling_strategy: str, num_iterations: int | None, max_pairs: int
) -> tuple[int, int]:
    """How many positive and negative pairs setfit 1.2.0 would yield for these candidate counts."""
    if sampling_strategy not in STRATEGIES:
        raise PairsError(f"pairs.sampling_strategy: unknown '{sampling_strategy}'; use one of {', '.join(STRATEGIES)}")
    if max_pairs != -1:
        n_pos, n_neg = min(n_pos, max_pairs // 2), min(n_neg, max_pairs // 2)
    if num_iterations:
        return num_iterations * n_texts, num_iterations * n_texts
    if sampling_strategy == "unique":
        return n_pos, n_neg
    if sampling_strategy == "undersampling":
        return min(n_pos, n_neg), min(n_pos, n_neg)
    return max(n_pos, n_neg), max(n_pos, n_neg)


def generate_pairs(
    labels: Sequence,
    sampling_strategy: str = "oversampling",
    num_iterations: int | None = None,
    max_pairs: int = -1,
    include_self_pairs: bool = False,
    seed: int = 42,
) -> pd.DataFrame:
    """Pairs of text indices with their label: columns ``idx_1``, ``idx_2``, ``label`` (1.0 / 0.0).

    Multi-label ``labels`` (lists of labels): two texts are a positive pair when they share a label.
    """
    if any(isinstance(v, (list, tuple, set, np.ndarray)) for v in labels):
        cand = _MultiLabelCandidates(labels, include_self_pairs)
    else:
        _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
        if len(np.unique(codes)) < 2:
            raise PairsError("pairs need at least two classes; the few-shot set has one")
        cand = _Candidates(codes.astype(np.int64), include_self_pairs)
    n_pos, n_neg = pair_counts(cand.n_pos, cand.n_neg, len(labels), sampling_strategy, num_iterations, max_pairs)
    cap_pos = cand.n_pos if max_pairs == -1 else min(cand.n_pos, max_pairs // 2)
    cap_neg = cand.n_neg if max_pairs == -1 else min(cand.n_neg, max_pairs // 2)
    if n_pos and cand.n_pos == 0:
        raise PairsError(
            "no positive pairs: every class has a single text. "
            "Fix: raise sample.num_samples to 2 or more, or set pairs.include_self_pairs: true"
        )
    rng = np.random.default_rng(seed)
    pos = cand.decode_pos(_sequence(rng, cand.n_pos, cap_pos, n_pos))
    neg = cand.decode_neg(_sequence(rng, cand.n_neg, cap_neg, n_neg))
    # interleave pos, neg, pos, neg, ... then the longer tail (setfit's zip_longest order)
    both = min(n_pos, n_neg)
    parts_1, parts_2, parts_y = [], [], []
    inter_1 = np.empty(2 * both, dtype=np.int64)
    inter_2 = np.empty(2 * both, dtype=np.int64)
    inter_1[0::2], inter_1[1::2] = pos[0][:both], neg[0][:both]
    inter_2[0::2], inter_2[1::2] = pos[1][:both], neg[1][:both]
    inter_y = np.tile(np.array([1.0, 0.0], dtype=np.float32), both)
    parts_1 += [inter_1, pos[0][both:], neg[0][both:]]
    parts_2 += [inter_2, pos[1][both:], neg[1][both:]]
    parts_y += [inter_y, np.ones(n_pos - both, np.float32), np.zeros(n_neg - both, np.float32)]
    return pd.DataFrame(
        {"idx_1": np.concatenate(parts_1), "idx_2": np.concatenate(parts_2), "label": np.concatenate(parts_y)}
    )


def with_texts(pairs: pd.DataFrame, texts: Sequence[str]) -> pd.DataFrame:
    """Add ``sentence_1`` and ``sentence_2`` (the texts) to a pairs frame, for training and inspection."""
    texts = np.asarray(texts, dtype=object)
    return pd.DataFrame(
        {
            "sentence_1": texts[pairs["idx_1"].to_numpy()],
            "sentence_2": texts[pairs["idx_2"].to_numpy()],
            "label": pairs["label"].to_numpy(),
            "idx_1": pairs["idx_1"].to_numpy(),
            "idx_2": pairs["idx_2"].to_numpy(),
        }
    )


def random_pairs(n: int, count: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs (i < j) of ``n`` items, drawn without replacement while possible, then cycled.

    Memory O(count), not O(n²): used for distillation pairs of unlabeled texts.
    """
    if n < 2:
        raise PairsError(f"need at least two texts to pair, got {n}")
    cand = _Candidates(np.zeros(n, dtype=np.int64), include_self_pairs=False)
    rng = np.random.default_rng(seed)
    return cand.decode_pos(_sequence(rng, cand.n_pos, cand.n_pos, count))
