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

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from fewshot.arguments import PairArguments
from fewshot.errors import PairsError
from fewshot.labels import any_multi_label, is_multi_label

STRATEGIES = ("oversampling", "undersampling", "unique")


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


def _distinct(rng: np.random.Generator, total: int, cap: int, length: int) -> np.ndarray:
    """The distinct candidate numbers of a ``length``-long sequence (cycled to ``length`` by the caller:
    setfit's oversampling); decoding these, not the cycled sequence, keeps memory at the distinct count."""
    if length == 0:
        return np.empty(0, dtype=np.int64)
    return _draw(rng, total, min(total, cap, length)).astype(np.int64)


def _cycle_into(out: np.ndarray, values: np.ndarray) -> None:
    """``out[:] = np.resize(values, len(out))`` without the temporary full-length copy."""
    if len(out) == 0:
        return
    for start in range(0, len(out), len(values)):
        stop = min(start + len(values), len(out))
        out[start:stop] = values[: stop - start]


_CHUNK = 1 << 20  # candidate numbers decoded at a time: bounds the temporaries to a few tens of MB


class _Candidates:
    """Numbering of positive and negative candidate pairs for single-label data."""

    def __init__(self, codes: np.ndarray, include_self_pairs: bool):
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        self.members = np.split(order, np.cumsum(sizes)[:-1])  # indices of each class, ascending
        self.flat, self.sizes = order, sizes.astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])  # where each class begins in flat
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
        a, b = self.class_pairs
        for lo in range(0, len(t), _CHUNK):
            part = t[lo : lo + _CHUNK]
            block = np.searchsorted(self.neg_offsets, part, side="right") - 1
            local = part - self.neg_offsets[block]
            width = self.sizes[b[block]]
            x = self.flat[self.starts[a[block]] + local // width]
            y = self.flat[self.starts[b[block]] + local % width]
            first[lo : lo + _CHUNK], second[lo : lo + _CHUNK] = np.minimum(x, y), np.maximum(x, y)
        return first, second


class _MultiLabelCandidates:
    """Candidate pairs of multi-label texts, listed explicitly (few-shot sets are small): positive when
    the two texts share a label."""

    def __init__(self, labels: Sequence, include_self_pairs: bool):
        sets = [set(map(str, v)) if is_multi_label(v) else {str(v)} for v in labels]
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


def generate_pairs(labels: Sequence, args: PairArguments | None = None, **fields) -> pd.DataFrame:
    """The pair index: pairs of text indices with their label, columns ``idx_1``, ``idx_2``, ``label``
    (1.0 / 0.0); :func:`text_pairs` adds the texts.

    ``fields`` override ``args`` (e.g. ``generate_pairs(labels, num_iterations=20)``). Multi-label
    ``labels`` (lists of labels): two texts are a positive pair when they share a label.
    """
    args = replace(args or PairArguments(), **fields)
    sampling_strategy, num_iterations, max_pairs = args.sampling_strategy, args.num_iterations, args.max_pairs
    include_self_pairs, seed = args.include_self_pairs, args.seed
    if any_multi_label(labels):
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
    pos = cand.decode_pos(_distinct(rng, cand.n_pos, cap_pos, n_pos))
    neg = cand.decode_neg(_distinct(rng, cand.n_neg, cap_neg, n_neg))
    # pos, neg, pos, neg, ... then the longer tail (setfit's zip_longest order), each set cycled to its count;
    # written straight into the output columns (memory: the output plus the distinct candidates)
    both = min(n_pos, n_neg)
    total = n_pos + n_neg
    idx_1, idx_2 = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    label = np.empty(total, dtype=np.float32)
    tail = slice(2 * both, total)
    for (i, j), count, step_start, y in ((pos, n_pos, 0, 1.0), (neg, n_neg, 1, 0.0)):
        if count == 0:
            continue
        inter = slice(step_start, 2 * both, 2)
        for column, values in ((idx_1, i), (idx_2, j)):
            _cycle_into(column[inter], values)
            if count > both:  # the longer set's tail continues its cycle where the interleaving stopped
                _cycle_into(column[tail], np.roll(values, -(both % len(values))))
        label[inter] = y
        if count > both:
            label[tail] = y
    return pd.DataFrame({"idx_1": idx_1, "idx_2": idx_2, "label": label}, copy=False)


def text_pairs(pairs: pd.DataFrame, texts: Sequence[str]) -> pd.DataFrame:
    """The text pairs: a pair index with ``sentence_1`` and ``sentence_2`` (the texts), what body training
    and the pairs stage's output hold."""
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
    first, second = cand.decode_pos(_distinct(rng, cand.n_pos, cand.n_pos, count))
    out_1, out_2 = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    _cycle_into(out_1, first)
    _cycle_into(out_2, second)
    return out_1, out_2
