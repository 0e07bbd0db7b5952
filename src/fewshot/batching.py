"""How pairs become training steps: setfit's pair-by-pair batches, or groups of texts with all their pairs.

The pairs Parquet is the contract in both modes: it lists which pairs train (duplicates included,
e.g. oversampling's cycled positives). Only the batching differs.

- ``pairs`` (setfit's way): a step is ``batch_size`` pairs drawn at random from the list; an epoch is
  one pass over the list. A 64-pair batch of 64 few-shot texts holds ~55 distinct texts, so each text
  is embedded ~30 times per epoch of 3,072 pairs (the dedup loss embeds each distinct text of a batch
  once, but a batch rarely repeats a text).
- ``groups``: a step is a group of at most ``batch_size`` distinct *texts* with *all* the listed pairs
  among them; each text is embedded once per step and every listed pair among them contributes to the
  loss. Each epoch deals the texts (seeded by the seed and the epoch) into ``ceil(texts / batch_size)``
  blocks of near-equal size, one group per block, so an epoch embeds every text once; a pair whose two
  texts land in different blocks trains in a later epoch that deals them together (an epoch trains about
  ``batch_size / texts`` of the list). With at most ``batch_size`` texts in all, an epoch is a single
  step over all the pairs, so a grouped run takes many epochs at a higher learning rate. The pipeline's
  default is ``groups`` with 64 texts at 1e-4 for ``num_epochs: auto`` (cross-validated on the few-shot
  texts, :mod:`fewshot.auto_length`; without them :func:`resolve_epochs`' rule of thumb: the epochs that
  reach one step per 2 texts per class, at least 5); ``bench/vs_setfit.py`` measures it against setfit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from fewshot.arguments import AUTO, BATCHING
from fewshot.errors import BatchingError
from fewshot.runtime import world_size


def text_codes(first, second) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the texts in two columns (one code per distinct text, shared by both columns,
    numbered in order of first appearance: ``first`` then ``second``).

    Accepts Python/NumPy sequences, pandas Series or pyarrow (chunked) arrays. Each chunk is dictionary-
    encoded where it lies and the small dictionaries are unified, so millions of pairs (banking77 at 64
    texts per class under oversampling: 23 million) cost their codes, not a copy of their strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def chunks(col) -> list:
        if not isinstance(col, pa.Array | pa.ChunkedArray):
            col = pa.array(col if hasattr(col, "__array__") else list(col), type=pa.large_string())
        return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]

    a, b = chunks(first), chunks(second)
    empty = np.empty(0, dtype=np.int64)
    if not a + b:
        return empty, empty
    encoded = []
    for chunk in a + b:
        part = pc.dictionary_encode(chunk)
        encoded.append(pa.DictionaryArray.from_arrays(part.indices, part.dictionary.cast(pa.large_string())))
    # one dictionary for all chunks, in order of first appearance: the codes of one encoding of the whole
    unified = pa.chunked_array(encoded).unify_dictionaries()
    codes = [c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in unified.chunks]
    return np.concatenate([empty, *codes[: len(a)]]), np.concatenate([empty, *codes[len(a) :]])


def pairs_dataset(pairs):
    """The trainer's dataset of text pairs (``sentence_1``, ``sentence_2``, ``label``), on Arrow buffers.

    Given no fingerprint, ``datasets`` makes one by pickling the whole table: for 23 million pairs
    (banking77 at 64 texts per class) gigabytes beyond the table itself (bench/pairs_memory.py). The
    fingerprint here hashes the table's schema and buffers where they lie.
    """
    import hashlib

    from datasets import Dataset
    from datasets.table import InMemoryTable

    table = InMemoryTable.from_pandas(pairs[["sentence_1", "sentence_2", "label"]], preserve_index=False)
    digest = hashlib.blake2b(str(table.schema).encode(), digest_size=8)
    for column in table.table.columns:
        for chunk in column.chunks:
            for buffer in chunk.buffers():
                if buffer is not None:
                    digest.update(memoryview(buffer))
    return Dataset(table, fingerprint=digest.hexdigest())


def group_pairs(
    first: np.ndarray, second: np.ndarray, texts_per_group: int, seed: int = 42, epoch: int = 0
) -> list[np.ndarray]:
    """One epoch's groups: split the texts into groups of at most ``texts_per_group``, each with every
    listed pair among its texts.

    ``first``/``second``: the text codes of each pair. The texts are dealt (seeded by ``seed`` and
    ``epoch``) into ``ceil(texts / texts_per_group)`` blocks of near-equal size; a group is every listed
    row with both texts in one block, so each text is embedded once per epoch and every pair among a
    step's texts trains. A pair whose texts fall in different blocks waits for an epoch that deals them
    together (each epoch deals afresh): an epoch trains about ``texts_per_group / texts`` of the list.
    With at most ``texts_per_group`` texts there is one group, the whole list, every epoch. Blocks
    without a listed pair are left out (a deal with none in any block is dealt again); rows within a
    group ascend.
    """
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if len(first) != len(second):
        raise BatchingError("pairs: the two text columns differ in length")
    n_texts, blocks = _deal(first, second, texts_per_group)
    rows = len(first)
    if rows == 0:
        return []
    if blocks == 1:
        return [np.arange(rows, dtype=np.int64)]
    block = np.empty(n_texts, dtype=np.int64)
    for attempt in itertools.count():  # a deal with no pair in any block is dealt again (tiny, sparse lists)
        rng = np.random.default_rng([seed, epoch] + ([attempt] if attempt else []))
        block[rng.permutation(n_texts)] = np.arange(n_texts) * blocks // n_texts
        a, b = block[first], block[second]
        rows_in = np.flatnonzero(a == b)
        if len(rows_in):
            break
    order = rows_in[np.argsort(a[rows_in], kind="stable")]
    cuts = np.flatnonzero(np.diff(a[order])) + 1
    return np.split(order, cuts)


def _deal(first: np.ndarray, second: np.ndarray, texts_per_group: int) -> tuple[int, int]:
    """(texts, blocks an epoch deals them into) for the text codes of a pair list."""
    if texts_per_group < 2:
        raise BatchingError(
            f"train.batch_size={texts_per_group}: with train.batching: groups it counts texts per step, "
            "and a pair needs two. Fix: set train.batch_size to 2 or more"
        )
    n_texts = _count_texts(first, second)
    return n_texts, -(-n_texts // texts_per_group)


def _count_texts(first: np.ndarray, second: np.ndarray) -> int:
    """Distinct texts of a pair list given as :func:`text_codes` (codes run 0..texts-1)."""
    return int(max(first.max(), second.max())) + 1 if len(first) else 0


def texts_per_class(first: np.ndarray, second: np.ndarray, labels: np.ndarray) -> float:
    """How many texts each class has, read from the pairs alone: distinct texts / classes.

    A class is a set of texts joined by positive pairs (``label >= 0.5``): the connected components of
    the positive-pair graph (setfit's strategies list every same-class pair, so each class is one
    component); a text in no positive pair is a class of its own.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if len(first) == 0:
        return 0.0
    n_texts = _count_texts(first, second)
    positive = np.asarray(labels, dtype=np.float64) >= 0.5
    graph = coo_matrix((np.ones(int(positive.sum())), (first[positive], second[positive])), shape=(n_texts, n_texts))
    classes, _ = connected_components(graph, directed=False)
    return n_texts / classes


def auto_steps(texts_per_class: float) -> int:
    """The grouped steps ``num_epochs: auto`` aims at without labelled texts to cross-validate on: one per
    2 texts per class, at least 5."""
    return max(5, -(-int(round(texts_per_class)) // 2))


def groups_per_epoch(pairs, texts_per_group: int) -> int:
    """Grouped steps in one epoch of ``pairs`` (``sentence_1``, ``sentence_2``): every text dealt once."""
    first, second = text_codes(pairs["sentence_1"], pairs["sentence_2"])
    return _round_up(_deal(first, second, texts_per_group)[1], world_size()) // world_size()


def resolve_epochs(num_epochs: int | str, batching: str, batch_size: int, pairs=None) -> int:
    """The epochs to train for a ``num_epochs`` param: a number as given; ``auto`` with ``groups``: the
    fewest epochs that reach :func:`auto_steps` of the texts per class of ``pairs``; with ``pairs``
    (setfit's way) one pass."""
    if num_epochs != AUTO:
        return int(num_epochs)
    if batching != "groups" or pairs is None or len(pairs) == 0:
        return 1
    first, second = text_codes(pairs["sentence_1"], pairs["sentence_2"])
    steps = auto_steps(texts_per_class(first, second, pairs["label"].to_numpy()))
    return -(-steps // groups_per_epoch(pairs, batch_size))


def _sampler_base():
    from sentence_transformers.base.sampler import DefaultBatchSampler

    return DefaultBatchSampler


class GroupBatchSampler(_sampler_base()):
    """A sentence-transformers batch sampler whose batches are :func:`group_pairs` groups.

    Built by the trainer as ``batch_sampler(dataset, batch_size=..., drop_last=..., seed=...)``;
    ``batch_size`` is the number of distinct texts per step. The trainer calls ``set_epoch``, and each
    epoch deals the texts into groups afresh (seeded by ``seed`` and the epoch).

    Under torchrun (DDP) accelerate deals the groups out to the N processes in turn, so a step trains N
    groups, one per process, and averages their gradients. Every process must take as many steps as the
    others (a process that runs out first waits forever in the next all-reduce), so an epoch is topped up
    from its own start to a multiple of N groups (and to its full count where a block had no listed pair).
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool = False,
        valid_label_columns=None,
        generator=None,
        seed: int = 0,
        columns: tuple[str, str] = ("sentence_1", "sentence_2"),
    ):
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=False,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        self.texts_per_group = batch_size
        self.groups_per_epoch = self._setup(dataset, columns)
        # Groups vary in length: ``None`` tells accelerate's DDP sharding (``BatchSamplerShard``) not to
        # wait for batches of ``batch_size`` rows, which groups almost never are.
        self.batch_size = None

    def _setup(self, dataset, columns: tuple[str, str]) -> int:
        """Read the dataset; return the groups in an epoch."""
        table = dataset.data  # the Arrow table: no Python list of texts per pair
        self.first, self.second = text_codes(table.column(columns[0]), table.column(columns[1]))
        return _deal(self.first, self.second, self.texts_per_group)[1]

    def _groups(self) -> list[np.ndarray]:
        """This epoch's groups (row indices of the dataset)."""
        return group_pairs(self.first, self.second, self.texts_per_group, self.seed, self.epoch)

    def __len__(self) -> int:
        return _round_up(self.groups_per_epoch, world_size())

    def __iter__(self) -> Iterator[list[int]]:
        groups = self._groups()
        for g in np.resize(np.arange(len(groups)), len(self)):  # topped up to a multiple of the N processes
            yield groups[g].tolist()


def text_groups(n_texts: int, texts_per_group: int, seed: int = 42, epoch: int = 0) -> list[np.ndarray]:
    """One epoch's groups of a list of texts: indices ``0..n_texts-1`` dealt (seeded by ``seed`` and
    ``epoch``) into ``ceil(n_texts / texts_per_group)`` blocks of near-equal size, in ascending order
    within a block. Grouped distillation trains one block a step, with every pair among its texts."""
    if texts_per_group < 2:
        raise BatchingError(
            f"distill.batch_size={texts_per_group}: with distill.batching: groups it counts texts per step, "
            "and a pair needs two. Fix: set distill.batch_size to 2 or more"
        )
    blocks = max(1, -(-n_texts // texts_per_group))
    block = np.empty(n_texts, dtype=np.int64)
    block[np.random.default_rng([seed, epoch]).permutation(n_texts)] = np.arange(n_texts) * blocks // n_texts
    order = np.argsort(block, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(block[order])) + 1)


class TextGroupSampler(GroupBatchSampler):
    """A sentence-transformers batch sampler over a dataset of texts whose batches are :func:`text_groups`
    blocks (``batch_size`` texts at most), dealt afresh each epoch; topped up to a multiple of the
    torchrun processes as :class:`GroupBatchSampler` is."""

    def _setup(self, dataset, columns) -> int:
        self.n_texts = len(dataset)
        return len(text_groups(self.n_texts, self.texts_per_group, self.seed, 0))

    def _groups(self) -> list[np.ndarray]:
        return text_groups(self.n_texts, self.texts_per_group, self.seed, self.epoch)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def trainer_args(batching: str) -> dict:
    """Extra ``SentenceTransformerTrainingArguments`` for a batching mode (none for setfit's ``pairs``)."""
    if batching == "pairs":
        return {}
    if batching == "groups":
        return {"batch_sampler": GroupBatchSampler}
    raise BatchingError(f"train.batching: unknown '{batching}'; use one of {', '.join(BATCHING)}")
