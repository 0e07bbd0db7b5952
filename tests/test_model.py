import json

import numpy as np
import pandas as pd
import pytest
from tiny import fit

from fewshot import data, metrics
from fewshot.errors import HeadError, ModelError
from fewshot.io import write_parquet
from fewshot.model import FewShotModel


def test_fit_save_load_predicts_identically_without_pickle(tiny_body, texts, tmp_path):
    model = FewShotModel.fit(tiny_body, texts.text, texts.label, info={"base_model": "tiny"})
    model.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").rglob("*") if p.is_file()}
    assert {"head.safetensors", "head.json", "fewshot.json", "README.md"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib", ".bin"))]
    loaded = FewShotModel.load(tmp_path / "m")
    probe = ["game team won the cup", "bank oil prices", "nasa space research"]
    assert np.array_equal(model.predict_proba(probe), loaded.predict_proba(probe))
    assert list(loaded.predict(probe)) == list(model.predict(probe))
    assert loaded.labels == ["business", "sports", "tech"]
    assert "Base model: `tiny`" in (tmp_path / "m" / "README.md").read_text()


def test_proba_columns_follow_labels(tiny_body, texts):
    model = FewShotModel.fit(tiny_body, texts.text, texts.label)
    proba = model.predict_proba(texts.text)
    assert proba.shape == (len(texts), len(model.labels))
    assert np.allclose(proba.sum(axis=1), 1)
    predicted = model.predict(texts.text)
    assert list(predicted) == [model.labels[i] for i in proba.argmax(axis=1)]
    assert (predicted == texts.label.to_numpy()).mean() > 0.5  # the labels line up with the columns


def test_integer_labels_round_trip_as_integers(tiny_body, texts, tmp_path):
    codes = texts.label.map({"business": 2, "sports": 0, "tech": 7})
    model = FewShotModel.fit(tiny_body, texts.text, codes)
    model.save(tmp_path / "m")
    loaded = FewShotModel.load(tmp_path / "m")
    assert loaded.labels == [0, 2, 7]
    assert all(isinstance(v, int) for v in loaded.predict(["game team"]))


def test_inputs_list_series_array_and_single_string(tiny_body, texts):
    model = FewShotModel.fit(tiny_body, texts.text, texts.label)
    as_list = model.predict(list(texts.text[:3]))
    assert list(model.predict(texts.text[:3])) == list(as_list)
    assert list(model.predict(np.array(texts.text[:3]))) == list(as_list)
    assert len(model.predict(texts.text.iloc[0])) == 1


def test_loading_a_non_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="not a fewshot model directory"):
        FewShotModel.load(tmp_path)


def test_tampered_head_type_is_refused(tiny_body, texts, tmp_path):
    FewShotModel.fit(tiny_body, texts.text, texts.label).save(tmp_path / "m")
    config = tmp_path / "m" / "head.json"
    config.write_text(json.dumps({"type": "os.system", "params": {}}))
    with pytest.raises(HeadError, match="refusing to load"):
        FewShotModel.load(tmp_path / "m")


def test_save_is_atomic_on_failure(tiny_body, texts, tmp_path, monkeypatch):
    model = FewShotModel.fit(tiny_body, texts.text, texts.label)
    model.save(tmp_path / "m")
    before = sorted(p.name for p in (tmp_path / "m").iterdir())

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(model.head, "save", boom)
    with pytest.raises(OSError):
        model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp directory left behind


def test_the_head_is_asked_not_duck_typed(tiny_body, texts):
    model = fit(tiny_body, texts.text, texts.label, "sklearn.svm.LinearSVC")
    assert model.head.type == "sklearn.svm.LinearSVC" and not model.multi_label
    assert model.n_parameters() == sum(p.numel() for p in tiny_body.parameters()) + model.head.n_parameters()


def test_multi_label_survives_parquet_between_stages(tiny_body, texts, tmp_path):
    from test_heads import multi

    frame = data.validate(pd.DataFrame({"text": texts.text, "label": multi(texts)}))
    write_parquet(data.sample(frame, 4, seed=0), tmp_path / "train.parquet")
    few = pd.read_parquet(tmp_path / "train.parquet")  # list labels come back as numpy arrays
    model = FewShotModel.fit(tiny_body, few["text"], few["label"])
    scores = metrics.classification_metrics(few["label"], model.predict(few["text"]), model.labels)
    assert model.multi_label and 0 <= scores["hamming_loss"] <= 1
    assert metrics.confusion_rows(few["label"][:1], model.predict(few["text"][:1]))[0]["actual"] in {
        "|".join(sorted(map(str, few["label"][0])))
    }
