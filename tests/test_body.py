import numpy as np
import pytest
import torch

from fewshot.body import (
    DedupPairLoss,
    ModelNotFoundError,
    load_body,
    make_loss,
    resolve_model,
    tokenize_distinct,
    train_body,
)
from fewshot.pairs import generate_pairs, with_texts


def test_missing_path_and_empty_dir_are_clear_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"train.model: '/nope/model' does not exist"):
        resolve_model("/nope/model")
    with pytest.raises(ModelNotFoundError, match="holds no model"):
        resolve_model(str(tmp_path))


def test_unknown_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=r"train.model: cannot load model 'someone/no-such-model'.*Fix"):
        load_body("someone/no-such-model")


def test_default_student_resolves_offline_from_its_pypi_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert path.endswith("model") and (__import__("pathlib").Path(path) / "modules.json").exists()
    assert resolve_model("all-MiniLM-L6-v2") == path


def _features(model, texts):
    return model.tokenize(texts)


def test_dedup_loss_equals_the_plain_loss(tiny_body):
    tiny_body.eval()  # no dropout, so both paths see the same embeddings
    a = ["game team won", "market stock", "game team won", "nasa space"]
    b = ["market stock", "market stock", "nasa space", "game team won"]
    labels = torch.tensor([0.0, 1.0, 0.0, 0.0])
    for name in ("CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss"):
        wrapped = make_loss(tiny_body, name)
        assert isinstance(wrapped, DedupPairLoss)
        features = [_features(tiny_body, a), _features(tiny_body, b)]
        dedup = wrapped(features, labels)
        plain = wrapped.loss([_features(tiny_body, a), _features(tiny_body, b)], labels)
        assert torch.allclose(dedup, plain, atol=1e-5), name


def test_dedup_loss_encodes_each_distinct_text_once(tiny_body):
    seen = []
    hook = tiny_body[0].register_forward_hook(lambda m, i, o: seen.append(o["token_embeddings"].shape[0]))
    try:
        a = ["game team won"] * 3 + ["market stock"]
        b = ["market stock"] * 4
        make_loss(tiny_body)([_features(tiny_body, a), _features(tiny_body, b)], torch.zeros(4))
    finally:
        hook.remove()
    assert seen == [2]  # 8 texts in the batch, 2 distinct


def test_training_lowers_the_loss_and_is_deterministic(tiny_body_dir, texts):
    pairs = with_texts(generate_pairs(texts.label), texts.text)
    runs = []
    for _ in range(2):
        model = load_body(str(tiny_body_dir))
        result = train_body(model, pairs, num_epochs=2, batch_size=16, body_learning_rate=1e-3, seed=3)
        runs.append((result, model.encode(["game team won", "market stock"])))
    (first, emb1), (second, emb2) = runs
    assert first.steps == second.steps > 0
    assert np.mean([l for _, l in first.losses[-3:]]) < np.mean([l for _, l in first.losses[:3]])
    assert [l for _, l in first.losses] == [l for _, l in second.losses]
    assert np.array_equal(emb1, emb2)


def test_tokenizing_distinct_texts_gives_the_whole_columns_tokens(tiny_body):
    column = ["market stock", "game team won today", "market stock", "nasa", "game team won today"]
    calls = []

    def preprocess(texts, **kw):
        calls.append(list(texts))
        return tiny_body.preprocess(texts, **kw)

    once = tokenize_distinct(preprocess)(column)
    whole = tiny_body.preprocess(column)
    assert calls == [["market stock", "game team won today", "nasa"]]
    assert once.keys() == whole.keys()
    for key, value in whole.items():
        assert torch.equal(once[key], value) if isinstance(value, torch.Tensor) else once[key] == value, key


def test_training_leaves_the_garbage_collector_as_it_found_it(tiny_body, texts):
    import gc

    pairs = with_texts(generate_pairs(texts.label), texts.text)
    train_body(tiny_body, pairs, max_steps=2, batch_size=16, seed=0, batching="groups")
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_training_runs_deterministic_kernels_and_restores_the_setting(tiny_body, texts):
    # on 2 CPU threads the default body's weights otherwise differ by ~1e-6 between fresh processes
    import torch

    pairs = with_texts(generate_pairs(texts.label), texts.text)
    during = []
    train_body(tiny_body, pairs, max_steps=2, batch_size=16, seed=0, batching="groups",
               on_log=lambda step, loss: during.append(torch.are_deterministic_algorithms_enabled()))
    assert during == [True, True]
    assert not torch.are_deterministic_algorithms_enabled()
