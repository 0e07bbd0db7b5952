import itertools
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from fewshot.arguments import PairArguments
from fewshot.errors import PairsError
from fewshot.pairs import generate_pairs, text_pairs


def setfit_counts(labels, strategy, num_iterations=None, include_self=True):
    """setfit 1.2.0's ContrastiveDataset lengths, from its candidate lists (reference, brute force)."""
    n = len(labels)
    combos = (
        itertools.combinations_with_replacement(range(n), 2) if include_self else itertools.combinations(range(n), 2)
    )
    pos = neg = 0
    for i, j in combos:
        if labels[i] == labels[j]:
            pos += 1
        else:
            neg += 1
    if num_iterations:
        return num_iterations * n, num_iterations * n
    return {"unique": (pos, neg), "undersampling": (min(pos, neg),) * 2, "oversampling": (max(pos, neg),) * 2}[strategy]


LABEL_SETS = {
    "balanced": ["a"] * 16 + ["b"] * 16 + ["c"] * 16 + ["d"] * 16,
    "imbalanced": list("aaabbbbbbbcc"),
    "binary": ["x"] * 5 + ["y"] * 9,
}


@pytest.mark.parametrize("name", LABEL_SETS)
@pytest.mark.parametrize("strategy", ["oversampling", "undersampling", "unique"])
@pytest.mark.parametrize("include_self", [True, False])
def test_counts_match_setfit_and_pairs_are_correct(name, strategy, include_self):
    labels = LABEL_SETS[name]
    pairs = generate_pairs(labels, PairArguments(sampling_strategy=strategy, include_self_pairs=include_self, seed=1))
    n_pos, n_neg = setfit_counts(labels, strategy, include_self=include_self)
    assert (pairs.label == 1.0).sum() == n_pos and (pairs.label == 0.0).sum() == n_neg
    lab = np.asarray(labels)
    same = lab[pairs.idx_1] == lab[pairs.idx_2]
    assert np.array_equal(same, pairs.label.to_numpy() == 1.0)
    assert (pairs.idx_1 <= pairs.idx_2).all()
    if not include_self:
        assert (pairs.idx_1 != pairs.idx_2).all()
    if strategy == "unique":  # every candidate exactly once
        assert not pairs.duplicated(["idx_1", "idx_2"]).any()


def test_default_task_count_is_setfits_3072():
    labels = LABEL_SETS["balanced"]
    assert len(generate_pairs(labels)) == 3072 == sum(setfit_counts(labels, "oversampling"))


def test_num_iterations_and_max_pairs():
    labels = LABEL_SETS["imbalanced"]
    pairs = generate_pairs(labels, num_iterations=3)
    assert (pairs.label == 1).sum() == (pairs.label == 0).sum() == 3 * len(labels)
    capped = generate_pairs(LABEL_SETS["balanced"], sampling_strategy="unique", max_pairs=100)
    assert (capped.label == 1).sum() == 50 and (capped.label == 0).sum() == 50
    assert not capped.duplicated(["idx_1", "idx_2"]).any()


def test_alternates_positive_and_negative_like_setfit():
    pairs = generate_pairs(LABEL_SETS["balanced"])
    assert pairs.label.iloc[:10].tolist() == [1.0, 0.0] * 5


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = generate_pairs(LABEL_SETS["balanced"], seed=7)
    b = generate_pairs(LABEL_SETS["balanced"], seed=7)
    c = generate_pairs(LABEL_SETS["balanced"], seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_memory_grows_with_pairs_written_not_candidates():
    # 64 texts per class x 77 classes: 4,928 texts, 12 million candidate pairs.
    labels = np.repeat(np.arange(77), 64)
    tracemalloc.start()
    pairs = generate_pairs(labels, num_iterations=2, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(pairs) == 4 * len(labels)
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB; materialising the candidates would take ~200 MB"


def test_single_text_per_class_has_no_positive_pairs():
    with pytest.raises(PairsError, match="include_self_pairs"):
        generate_pairs(["a", "b", "c"])
    assert len(generate_pairs(["a", "b", "c"], include_self_pairs=True)) == 6


def test_text_pairs_maps_indices_to_texts():
    texts = ["t0", "t1", "t2", "t3"]
    frame = text_pairs(generate_pairs(["a", "a", "b", "b"]), texts)
    assert (frame.sentence_1 == [texts[i] for i in frame.idx_1]).all()
    assert list(frame.columns[:3]) == ["sentence_1", "sentence_2", "label"]


def test_multi_label_pairs_are_positive_when_texts_share_a_label():
    labels = [["a"], ["a", "b"], ["b"], ["c"]]
    pairs = generate_pairs(labels, sampling_strategy="unique")
    got = {(int(i), int(j)): float(y) for i, j, y in pairs[["idx_1", "idx_2", "label"]].itertuples(index=False)}
    assert got == {(0, 1): 1.0, (1, 2): 1.0, (0, 2): 0.0, (0, 3): 0.0, (1, 3): 0.0, (2, 3): 0.0}
