import numpy as np
import pandas as pd
import pytest

from fewshot import data
from fewshot.arguments import SampleArguments
from fewshot.data import load_labeled, read_table, sample, split, unlabeled_pool, validate
from fewshot.errors import DataError


def setfit_sample_dataset(df, num_samples, seed):
    """setfit 1.2.0's sample_dataset, verbatim in logic (datasets shuffle, pandas per-label sample, shuffle)."""
    from datasets import Dataset

    dataset = Dataset.from_pandas(df, preserve_index=False)
    shuffled = dataset.shuffle(seed=seed).to_pandas()
    grouped = shuffled.groupby("label")
    out = grouped.apply(lambda x: x.sample(min(num_samples, len(x)), random_state=seed))
    out = Dataset.from_pandas(out.reset_index(drop=True), preserve_index=False).shuffle(seed=seed)
    return out.to_pandas()


def frame(n_per_class=(5, 7, 6)):
    rows = [{"text": f"{label} text {i}", "label": label} for label, n in zip("abc", n_per_class) for i in range(n)]
    return pd.DataFrame(rows)


def test_sample_is_setfits_draw():
    df = frame((10, 12, 9))
    ours = sample(df, 4, seed=42)
    ref = setfit_sample_dataset(df, 4, seed=42)
    assert ours["text"].tolist() == ref["text"].tolist()
    assert ours.label.value_counts().to_dict() == {"a": 4, "b": 4, "c": 4}


def test_sample_is_deterministic_and_seeded():
    df = frame((10, 12, 9))
    pd.testing.assert_frame_equal(sample(df, 3, seed=1), sample(df, 3, seed=1))
    assert not sample(df, 3, seed=1).equals(sample(df, 3, seed=2))


def test_class_with_too_few_examples_names_the_classes():
    with pytest.raises(DataError, match=r"'a' has 5.*'c' has 6.*allow_fewer"):
        sample(frame(), 7)
    assert sample(frame(), 7, allow_fewer=True).label.value_counts().to_dict() == {"a": 5, "b": 7, "c": 6}


def test_unlabeled_pool_excludes_few_shot_texts_and_labels():
    df = frame((10, 10, 10))
    few = sample(df, 3)
    pool = unlabeled_pool(df, few, 100)
    assert list(pool.columns) == ["text"]
    assert len(pool) == 21 and not set(pool.text) & set(few.text)
    assert len(unlabeled_pool(df, few, 5)) == 5


@pytest.mark.parametrize(
    "bad, match",
    [
        (pd.DataFrame({"sentence": ["x", "y"], "label": [0, 1]}), r"no column 'text' \(data.text_column\).*'sentence'"),
        (pd.DataFrame({"text": ["x", "y"], "y": [0, 1]}), r"no column 'label' \(data.label_column\)"),
        (pd.DataFrame({"text": ["x", "  ", "z"], "label": [0, 1, 1]}), r"1 empty, blank, null.*rows \[1\]"),
        (pd.DataFrame({"text": ["x", None, "z"], "label": [0, 1, 1]}), r"1 empty, blank, null.*rows \[1\]"),
        (pd.DataFrame({"text": ["x", "y"], "label": [0, None]}), r"null label"),
        (pd.DataFrame({"text": ["x", "y"], "label": [1, 1]}), r"only one class"),
    ],
)
def test_bad_data_is_reported_with_the_field(bad, match):
    with pytest.raises(DataError, match=match):
        validate(bad, name="data.train")


def test_reads_parquet_csv_jsonl_with_configured_columns(tmp_path):
    df = pd.DataFrame({"sentence": ["good film", "bad film"], "sentiment": ["pos", "neg"]})
    df.to_parquet(tmp_path / "d.parquet")
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    for name in ("d.parquet", "d.csv", "d.jsonl"):
        out = load_labeled(tmp_path / name, "sentence", "sentiment")
        assert out.to_dict("list") == {"text": ["good film", "bad film"], "label": ["pos", "neg"]}


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown file type '.xlsx'"):
        read_table(tmp_path / "d.xlsx")
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "missing.parquet")


def test_hub_dataset_id_is_refused_clearly_when_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="HF_HUB_OFFLINE"):
        read_table("SetFit/sst2:train")


def test_integer_labels_stay_integers():
    out = validate(pd.DataFrame({"text": ["a", "b"], "label": np.array([3, 5])}))
    assert out.label.tolist() == [3, 5]


def test_multi_label_data_lists_and_multi_hot_rows():
    df = pd.DataFrame({"text": ["x y", "y z", "z w"], "label": [[1, 0, 1], [0, 1, 0], [1, 1, 0]]})
    out = data.validate(df, label_names=["red", "green", "blue"])
    assert list(out.label) == [["blue", "red"], ["green"], ["green", "red"]]
    lists = data.validate(pd.DataFrame({"text": ["a", "b"], "label": [["x", "y"], ["y"]]}))
    assert list(lists.label) == [["x", "y"], ["y"]]
    few = data.sample(
        pd.DataFrame({"text": list("abcdef"), "label": [["x"], ["y"], ["x", "y"], ["x"], ["y"], ["x"]]}),
        num_samples=2,
        seed=0,
    )
    assert all(sum(lab in row for row in few.label) >= 2 for lab in ("x", "y"))


def test_integer_labels_with_names():
    texts = ["a b", "c d", "e f"]
    named = data.validate(pd.DataFrame({"text": texts, "label": [1, 0, 2]}), label_names=["business", "sports", "tech"])
    assert list(named.label) == ["sports", "business", "tech"]
    with pytest.raises(DataError, match="label 3 has no name"):
        data.validate(pd.DataFrame({"text": ["a", "b"], "label": [0, 3]}), label_names=["x", "y"])


def test_split_draws_the_few_shot_set_validation_and_unlabeled_pool():
    train = pd.DataFrame({"text": [f"t{i}" for i in range(60)], "label": ["a", "b", "c"] * 20})
    sets = split(train, SampleArguments(num_samples=4, unlabeled=10, validation=2, seed=1))
    assert len(sets.train) == 12 and len(sets.validation) == 6 and len(sets.unlabeled) == 10
    few = set(sets.train.text)
    assert not few & set(sets.validation.text) and not few & set(sets.unlabeled.text)
    assert sets.train.equals(split(train, SampleArguments(num_samples=4, seed=1)).train)


def test_drop_invalid_drops_empty_blank_null_texts_and_null_labels():
    df = pd.DataFrame({"text": ["x", "", "  ", None, "y", "z"], "label": [0, 1, 1, 0, None, 1]})
    with pytest.raises(DataError, match=r"rows \[1, 2, 3\].*sample.drop_invalid: true"):
        validate(df)
    out = validate(df, drop_invalid=True)
    assert out.to_dict("list") == {"text": ["x", "z"], "label": [0, 1]}
