"""The embedding cache: used only for the same body and the same texts."""

import numpy as np
from tiny import make_texts

from fewshot.embeddings import body_fingerprint, cached, encode, write_embeddings
from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body, save_body
from fewshot.training import train_body


def test_cache_hits_for_same_body_and_texts_only(tiny_body_dir, tmp_path):
    texts = list(make_texts(4).text)
    body = load_body(str(tiny_body_dir))
    emb = encode(body, texts)
    write_embeddings(tmp_path / "emb", body_fingerprint(tiny_body_dir), {"test": (texts, emb)})

    # the same body saved again (after use: its tokenizer config then records call state) still matches
    save_body(body, tmp_path / "resaved")
    hit = cached(tmp_path / "emb", "test", texts, tmp_path / "resaved")
    assert hit is not None and np.array_equal(hit, emb) and hit.dtype == np.float32

    assert cached(tmp_path / "emb", "test", texts[::-1], tiny_body_dir) is None  # other texts (order counts)
    assert cached(tmp_path / "emb", "train", texts, tiny_body_dir) is None  # a set never embedded
    assert cached(tmp_path / "missing", "test", texts, tiny_body_dir) is None

    few_shot = make_texts(4, seed=1)
    train_body(
        body,
        text_pairs(generate_pairs(few_shot.label), few_shot.text),
        max_steps=2,
        warmup_proportion=0.0,
        body_learning_rate=1e-2,
    )
    save_body(body, tmp_path / "trained")
    assert cached(tmp_path / "emb", "test", texts, tmp_path / "trained") is None  # another body


def test_written_embeddings_are_byte_identical(tiny_body_dir, tmp_path):
    texts = list(make_texts(3).text)
    emb = encode(load_body(str(tiny_body_dir)), texts)
    for name in ("a", "b"):
        write_embeddings(
            tmp_path / name, body_fingerprint(tiny_body_dir), {"test": (texts, emb), "train": (texts, emb)}
        )
    for file in ("test.npy", "train.npy", "embeddings.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
