"""A tiny Sentence-Transformers body built in code (2-layer BERT, small vocab): no download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

WORDS = (
    "the a of and to in is it on for with at by from this that was are be as an "
    "game team won match player score season coach win cup league goal "
    "market stock shares profit bank company oil prices economy deal investors "
    "software computer internet space nasa scientists research technology web phone "
    "president minister government war election police killed country leaders talks "
    "good great bad awful movie film fun boring love hate best worst"
).split()


def build_tiny_body(path: str | Path, dim: int = 32, seed: int = 0, shuffle_vocab: bool = False) -> Path:
    """Write a tiny BERT Sentence-Transformers model to ``path`` and return it.

    ``shuffle_vocab`` gives a different tokenizer (other token ids), as a teacher from another family has.
    """
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    bert_dir = path / "_bert"
    bert_dir.mkdir(parents=True, exist_ok=True)
    words = list(WORDS)
    if shuffle_vocab:
        import random

        random.Random(seed).shuffle(words)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(bert_dir)
    tok.save_pretrained(bert_dir)
    st = SentenceTransformer(
        modules=[models.Transformer(str(bert_dir), max_seq_length=32), models.Pooling(dim, "mean")]
    )
    out = path / "body"
    st.save(str(out), create_model_card=False)
    return out


TOPICS = {
    "sports": "game team won match player score season coach win cup league goal".split(),
    "business": "market stock shares profit bank company oil prices economy deal investors".split(),
    "tech": "software computer internet space nasa scientists research technology web phone".split(),
}


def make_texts(n_per_class: int, seed: int = 0) -> pd.DataFrame:
    """Short synthetic texts for three topics: each text mixes 4 topic words with 2 filler words."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    filler = "the a of and to in is it on for with".split()
    rows = []
    for label, words in TOPICS.items():
        for _ in range(n_per_class):
            picked = list(rng.choice(words, 4)) + list(rng.choice(filler, 2))
            rng.shuffle(picked)
            rows.append({"text": " ".join(picked), "label": label})
    df = pd.DataFrame(rows)
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def write_tiny_dataset(directory: str | Path, n_train: int = 20, n_test: int = 10) -> tuple[Path, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    train, test = directory / "train.parquet", directory / "test.parquet"
    make_texts(n_train, seed=1).to_parquet(train, index=False)
    make_texts(n_test, seed=2).to_parquet(test, index=False)
    return train, test


PROBE = ["game team won the cup", "bank oil prices", "nasa space research"]


def fit(
    body,
    texts,
    labels,
    type: str = "logistic_regression",
    params: dict | None = None,
    phase=None,
    multi_target_strategy: str | None = None,
    **kwargs,
):
    """``FewShotModel.fit`` with a head built by the registry from its arguments (a test shorthand)."""
    from dataclasses import replace

    from fewshot.heads import HeadArguments, make_head
    from fewshot.labels import any_multi_label
    from fewshot.model import FewShotModel

    args = HeadArguments(type=type, params=params or {}, multi_target_strategy=multi_target_strategy)
    if phase is not None:  # the head phase's values
        args = replace(phase, type=type, params=args.params, multi_target_strategy=multi_target_strategy)
    head = make_head(args, multi_label=any_multi_label(list(labels)))
    return FewShotModel.fit(body, texts, labels, head, **kwargs)
