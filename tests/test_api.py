"""The Python API as the README shows it: list, pandas Series and datasets column; batch size; progress bar."""

import numpy as np
import pandas as pd
from tiny import make_texts


def test_predict_on_a_list_a_series_and_a_datasets_column(tiny_model_dir, capsys):
    from datasets import Dataset

    from fewshot import FewShotModel

    model = FewShotModel.load(tiny_model_dir)
    frame = make_texts(5, seed=51)
    as_list = list(frame.text)
    expected = model.predict(as_list)
    proba = model.predict_proba(as_list)
    assert proba.shape == (len(as_list), len(model.labels)) and np.allclose(proba.sum(axis=1), 1)
    assert list(expected) == [model.labels[i] for i in proba.argmax(axis=1)]

    column = Dataset.from_pandas(frame)["text"]
    for texts in (pd.Series(as_list, index=range(100, 115)), column):
        assert list(model.predict(texts, batch_size=4)) == list(expected)
        assert np.allclose(model.predict_proba(texts, batch_size=2), proba, atol=1e-6)

    model.predict(as_list, show_progress_bar=True)
    assert "Batches" in capsys.readouterr().err  # sentence-transformers' bar, on request
    model.predict(as_list, show_progress_bar=False)
    assert "Batches" not in capsys.readouterr().err
