import numpy as np
import pandas as pd
import pytest

from fewshot.data import DataError, load_labeled, read_table, sample, unlabeled_pool, validate


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
        (pd.DataFrame({"text": ["x", "  ", "z"], "label": [0, 1, 1]}), r"1 empty, null.*rows \[1\]"),
        (pd.DataFrame({"text": ["x", None, "z"], "label": [0, 1, 1]}), r"1 empty, null.*rows \[1\]"),
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
