import json

import numpy as np
import pandas as pd
import pytest

from fewshot.heads import HeadError, LogisticHead
from fewshot.model import FewShotModel, ModelError


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


def test_head_params_reach_the_estimator_and_bad_ones_are_named():
    assert LogisticHead({"C": 0.5}).estimator.C == 0.5
    with pytest.raises(HeadError, match="head.params"):
        LogisticHead({"not_a_param": 1})


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
    assert not (tmp_path / "m.tmp").exists()
