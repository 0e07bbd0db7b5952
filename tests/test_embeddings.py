"""The embedding cache: used only for the same body and the same texts."""

import numpy as np
from tiny import make_texts

from fewshot.embeddings import body_fingerprint, cached, encode, length_batches, token_lengths, write_embeddings
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


def test_batches_group_texts_of_equal_token_counts_longest_first():
    batches = length_batches([3, 9, 1, 9, 3, 5], 2)
    assert [b.tolist() for b in batches] == [[1, 3], [5, 0], [4, 2]]  # ties keep input order
    assert length_batches([], 4) == []


def test_a_torch_body_embeds_by_token_count_in_input_order(tiny_body):
    """Texts are batched by token count, not by characters: a long word the tokenizer reads as one piece
    sorts with the short texts. Each row is still its own text's embedding, whatever the batching."""
    texts = ["a", "b c d e f g h i j k l", "supercalifragilisticexpialidocious", "x y", "", "  padded  "]
    lengths = token_lengths(tiny_body, texts)
    assert lengths == [len(tiny_body.tokenizer(t.strip())["input_ids"]) for t in texts]
    assert len(texts[2]) > len(texts[1]) and lengths[2] < lengths[3] < lengths[1]
    alone = np.stack([encode(tiny_body, [t], batch_size=1)[0] for t in texts])
    np.testing.assert_allclose(encode(tiny_body, texts, batch_size=2), alone, atol=1e-5)
    assert encode(tiny_body, [], batch_size=2).shape == (0, alone.shape[1])
