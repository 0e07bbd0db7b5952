import numpy as np
import pandas as pd
import pytest
from datasets import Dataset
from tiny import make_texts

from fewshot.batching import (
    BatchingError,
    GroupBatchSampler,
    auto_steps,
    group_pairs,
    pairs_dataset,
    resolve_epochs,
    text_codes,
    texts_per_class,
    trainer_args,
)
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import train_body


def _codes(n_texts: int, n_pairs: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n_texts, n_pairs)
    second = (first + rng.integers(1, n_texts, n_pairs)) % n_texts
    return first, second


@pytest.mark.parametrize("n_texts,size", [(10, 64), (64, 64), (65, 64), (256, 64), (300, 7), (30, 2)])
def test_groups_hold_every_listed_pair_among_their_texts_and_respect_the_text_limit(n_texts, size):
    first, second = _codes(n_texts, 5000)
    for epoch in range(5):
        groups = group_pairs(first, second, size, seed=3, epoch=epoch)
        rows = np.concatenate(groups)
        assert len(np.unique(rows)) == len(rows)  # no pair twice in an epoch
        texts = [set(first[g]) | set(second[g]) for g in groups]
        assert all(len(t) <= size for t in texts)
        assert all(not (t & u) for i, t in enumerate(texts) for u in texts[i + 1 :])  # each text once an epoch
        for g, t in zip(groups, texts):  # a group is *every* listed pair among its texts
            among = np.flatnonzero(np.isin(first, list(t)) & np.isin(second, list(t)))
            assert np.array_equal(g, among)
        if n_texts <= size:
            assert len(groups) == 1 and len(rows) == 5000
        else:
            assert 1 < len(groups) <= -(-n_texts // size) and len(rows) < 5000  # blocks with no pair: left out
    again = group_pairs(first, second, size, seed=3, epoch=4)
    assert all(np.array_equal(x, y) for x, y in zip(groups, again))
    if n_texts > size:
        other = group_pairs(first, second, size, seed=3, epoch=3)
        assert not all(np.array_equal(x, y) for x, y in zip(groups, other))
    covered = np.zeros(5000, dtype=bool)  # epochs deal the texts afresh, so in time every pair trains
    for epoch in range(2000):
        covered[np.concatenate(group_pairs(first, second, size, seed=3, epoch=epoch))] = True
        if covered.all():
            break
    assert covered.all()


def test_a_block_without_listed_pairs_is_left_out_and_an_epoch_always_has_a_group():
    # 6 texts, pairs only 0-1, 2-3 and 4-5, dealt into 3 blocks of 2: a deal holds 0, 1 or all 3 pairs
    counts = {len(group_pairs(np.array([0, 2, 4]), np.array([1, 3, 5]), 2, seed=0, epoch=e)) for e in range(60)}
    assert counts == {1, 3}  # a deal with no pair in any block is dealt again


def test_group_size_below_two_is_a_clear_error():
    with pytest.raises(BatchingError, match=r"train.batch_size=1.*groups.*Fix"):
        group_pairs(np.array([0]), np.array([1]), 1)
    with pytest.raises(BatchingError, match="train.batching: unknown 'triples'"):
        trainer_args("triples")


def test_text_codes_share_one_code_per_distinct_text():
    a, b = text_codes(["x", "y", "x"], ["y", "z", "z"])
    assert a[0] == a[2] == 0 and a[1] == b[0] and b[1] == b[2] and len({*a, *b}) == 3


def test_text_codes_are_the_same_from_lists_series_and_arrow_chunks():
    import pyarrow as pa

    first, second = ["x", "y", "x", "q"], ["y", "z", "z", "w"]
    chunked = pa.chunked_array([pa.array(["x", "y"]), pa.array(["x", "q"])])  # string chunks, one dictionary each
    want = ([0, 1, 0, 2], [1, 3, 3, 4])  # numbered in order of first appearance, first column first
    for a, b in [
        (first, second),
        (pd.Series(first), pd.Series(second, dtype=object)),
        (chunked, pa.array(second, type=pa.large_string())),
    ]:
        codes = text_codes(a, b)
        assert [c.tolist() for c in codes] == list(want) and all(c.dtype == np.int64 for c in codes)
    assert [len(c) for c in text_codes([], [])] == [0, 0]


def test_pairs_dataset_holds_the_pairs_and_hashes_their_content(texts):
    pairs = text_pairs(generate_pairs(texts.label, seed=1), texts.text)
    ds = pairs_dataset(pairs)
    assert ds.column_names == ["sentence_1", "sentence_2", "label"] and len(ds) == len(pairs)
    assert ds[3] == {k: pairs.iloc[3][k] for k in ds.column_names}
    assert pairs_dataset(pairs.copy())._fingerprint == ds._fingerprint  # the same pairs: the same fingerprint
    flipped = pairs.assign(label=1.0 - pairs.label)
    assert pairs_dataset(flipped)._fingerprint != ds._fingerprint


def test_sampler_batches_are_groups_and_each_epoch_deals_them_afresh(texts):
    pairs = text_pairs(generate_pairs(texts.label, seed=1), texts.text)  # 24 texts
    ds = Dataset.from_pandas(pairs[["sentence_1", "sentence_2", "label"]])
    sampler = GroupBatchSampler(ds, batch_size=8, drop_last=False, seed=5)
    epoch0 = list(sampler)
    assert len(epoch0) == len(sampler) == 3  # 24 texts, 8 a step
    for batch in epoch0:
        assert len(set(pairs.sentence_1.iloc[batch]) | set(pairs.sentence_2.iloc[batch])) == 8
    assert list(sampler) == epoch0  # same epoch, same groups
    sampler.set_epoch(1)
    assert list(sampler) != epoch0


@pytest.mark.parametrize("processes, texts_per_step", [(2, 8), (3, 8), (2, 64)])
def test_sampler_deals_every_ddp_process_the_same_number_of_groups(texts, monkeypatch, processes, texts_per_step):
    """Under torchrun accelerate shards the batch sampler as sentence-transformers asks (``even_batches=False``);
    each process must get as many steps as the others, or it waits forever in the gradient all-reduce."""
    from accelerate.data_loader import BatchSamplerShard

    pairs = text_pairs(generate_pairs(texts.label, seed=1), texts.text)  # 24 texts: 3 groups of 8, or one of 64
    ds = Dataset.from_pandas(pairs[["sentence_1", "sentence_2", "label"]])
    monkeypatch.setenv("WORLD_SIZE", str(processes))
    sampler = GroupBatchSampler(ds, batch_size=texts_per_step, drop_last=True, seed=5)
    shards = [list(BatchSamplerShard(sampler, processes, rank, even_batches=False)) for rank in range(processes)]
    groups = group_pairs(sampler.first, sampler.second, texts_per_step, seed=5, epoch=0)
    steps = -(-len(groups) // processes)
    assert [len(shard) for shard in shards] == [steps] * processes
    assert len(BatchSamplerShard(sampler, processes, 0, even_batches=False)) == steps
    dealt = {tuple(batch) for shard in shards for batch in shard}
    assert dealt == {tuple(g.tolist()) for g in groups}  # every group trains; a few twice to even the steps


def test_groups_training_runs_one_step_per_group_and_is_deterministic(tiny_body_dir, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    n_groups = 2  # 24 texts, 12 a step
    outputs = []
    for _ in range(2):
        model = load_body(str(tiny_body_dir))
        result = train_body(
            model, pairs, num_epochs=2, max_steps=-1, batch_size=12, body_learning_rate=1e-3, seed=7, batching="groups"
        )
        assert result.steps == 2 * n_groups
        outputs.append(model.encode(["game team won", "market stock"]))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    # all texts in one group: one step per epoch, whatever the number of pairs
    model = load_body(str(tiny_body_dir))
    assert train_body(model, pairs, num_epochs=3, max_steps=-1, batch_size=64, seed=7, batching="groups").steps == 3


def test_groups_training_learns(tiny_body_dir, texts):
    pairs = text_pairs(generate_pairs(texts.label), texts.text)
    model = load_body(str(tiny_body_dir))
    result = train_body(model, pairs, max_steps=30, batch_size=64, body_learning_rate=1e-3, seed=0, batching="groups")
    losses = [loss for _, loss in result.losses]
    assert result.steps == 30 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


@pytest.mark.parametrize("strategy", ["oversampling", "undersampling", "unique"])
def test_texts_per_class_is_read_from_the_pairs(strategy):
    labels = ["a"] * 6 + ["b"] * 6 + ["c"] * 6 + ["d"] * 2
    pairs = text_pairs(generate_pairs(labels, sampling_strategy=strategy, seed=0), [f"t{i}" for i in range(20)])
    first, second = text_codes(pairs.sentence_1, pairs.sentence_2)
    assert texts_per_class(first, second, pairs.label.to_numpy()) == 5.0  # 20 texts, 4 classes
    # a text in no positive pair is a class of its own
    assert texts_per_class(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([1.0, 0.0, 0.0])) == 1.5


def test_auto_epochs_reach_the_auto_steps_and_only_for_groups(texts):
    assert [auto_steps(k) for k in (2, 8, 10, 16, 33, 64)] == [5, 5, 5, 8, 17, 32]
    pairs = text_pairs(generate_pairs(texts.label), texts.text)  # 3 classes of 8: one group of 24 texts
    assert resolve_epochs("auto", "groups", 64, pairs) == 5
    assert resolve_epochs("auto", "groups", 12, pairs) == 3  # 2 groups an epoch: 3 epochs reach 5 steps
    many = make_texts(24, seed=1)
    assert resolve_epochs("auto", "groups", 64, text_pairs(generate_pairs(many.label), many.text)) == 6  # 12 steps
    assert resolve_epochs("auto", "pairs", 64, pairs) == 1  # setfit's way: one pass
    assert resolve_epochs(7, "groups", 64, pairs) == 7


def test_training_with_auto_epochs_runs_that_many_steps(tiny_body_dir):
    many = make_texts(24, seed=1)
    pairs = text_pairs(generate_pairs(many.label), many.text)  # 72 texts, 16 a group: 5 groups an epoch
    result = train_body(load_body(str(tiny_body_dir)), pairs, num_epochs="auto", batch_size=16, seed=0)
    assert result.epochs == 3 and result.steps == 15 and len(result.losses) == 15  # the fewest epochs reaching 12
    assert result.arguments["epochs"] == 3 and result.arguments["steps"] == 15
