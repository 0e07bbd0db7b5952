"""Labels (fewshot.labels): the one multi-label predicate, label order, targets."""

import numpy as np
import pytest

from fewshot.errors import ModelError
from fewshot.labels import any_multi_label, is_multi_label, known, sorted_labels, targets


def test_one_predicate_for_multi_label():
    for value in (["a"], ("a", "b"), {"a"}, np.array(["a"])):
        assert is_multi_label(value)
    for value in ("a", 3, np.int64(3), None):
        assert not is_multi_label(value)
    assert any_multi_label(["a", ["b"]]) and not any_multi_label(["a", "b"])


def test_targets_follow_the_label_order():
    assert sorted_labels(["b", "a", "b"]) == ["a", "b"]
    assert list(targets(["b", "a"], ["a", "b"])) == [1, 0]
    assert targets([["a", "c"], ["b"]], ["a", "b", "c"]).tolist() == [[1, 0, 1], [0, 1, 0]]
    assert sorted_labels([2, np.int64(0)]) == [0, 2] and isinstance(sorted_labels([np.int64(1)])[0], int)
    with pytest.raises(ModelError, match=r"labels \['z'\]"):
        targets(["z"], ["a"])
    assert known(["a", "z", ["a", "b"]], ["a", "b"]) == [0, 2]
