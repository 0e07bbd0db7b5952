"""Embeddings: encode texts with a body, and the cache keyed by the body and the texts.

:func:`encode` is the one place texts become embeddings (for heads, prediction and the embed stage).
The ``embed`` stage embeds the few-shot train set and the test set once per body and writes them here;
``fit_head`` and ``evaluate`` reuse them, so a head-only experiment embeds nothing. Each set is stored
with the fingerprint of the body that made it and the hash of its texts, and is used only when both
match (a head that trains the body, ``end_to_end``, changes the body: its model is then re-embedded)::

    <dir>/train.npy, <dir>/test.npy   float32, one row per text, in the Parquet's row order
    <dir>/embeddings.json              {"body": fingerprint, "backend": ..., "sets": {"train": {"n", "texts"}, ...}}
    <dir>/onnx/                        the exported body that embedded them (onnx backends only)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fewshot.arguments import embed_batch_size
from fewshot.io import atomic_dir
from fewshot.runtime import progress_enabled

INDEX = "embeddings.json"
EXPORT = "onnx"  # the exported body that embedded them (onnx backends)
# files that describe a body but do not change what it computes
_NOT_WEIGHTS = {"README.md", "fewshot_body.json"}


def embedding_dim(body) -> int | None:
    """The width of the body's embeddings (None when the body does not say)."""
    getter = getattr(body, "get_embedding_dimension", None) or body.get_sentence_embedding_dimension  # ST < 6
    dim = getter()
    return int(dim) if dim else None


def encode(
    body, texts: Sequence[str], batch_size: int | None = None, show_progress_bar: bool | None = None
) -> np.ndarray:
    """Embed texts in batches (float32, one row per text, input order), with a Sentence-Transformers body
    or an exported one (:class:`fewshot.backends.OnnxBody`, which runs without torch). ``batch_size``
    None: the body's backend's (:data:`fewshot.arguments.EMBED_BATCH_SIZES`)."""
    if show_progress_bar is None:
        show_progress_bar = progress_enabled()
    batch_size = embed_batch_size(getattr(body, "backend", "torch"), batch_size, str(getattr(body, "device", "cpu")))
    texts = list(texts)
    if getattr(body, "torch_free", False):
        return np.asarray(body.encode(texts, batch_size=batch_size), dtype=np.float32)
    import torch
    from tqdm.auto import tqdm

    out = None
    batches = length_batches(token_lengths(body, texts), batch_size)
    with torch.inference_mode():
        for rows in tqdm(batches, desc="Batches", disable=not show_progress_bar):
            emb = body.encode(
                [texts[i] for i in rows], batch_size=len(rows), show_progress_bar=False, convert_to_numpy=True
            )
            if out is None:
                out = np.empty((len(texts), emb.shape[1]), dtype=np.float32)
            out[rows] = emb
    return out if out is not None else np.zeros((0, embedding_dim(body) or 0), dtype=np.float32)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Rows in batches of ``batch_size`` texts of similar token counts, longest first (stable): a batch is
    padded to its longest text, so batches of equal counts embed no padding (sorted by characters, as
    Sentence-Transformers sorts, a fifth of a batch of 16 AG News texts is padding)."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def token_lengths(body, texts: Sequence[str]) -> list[int]:
    """Each text's token count under the body's tokenizer and truncation (characters for a body without
    a tokenizer)."""
    tokenizer = getattr(body, "tokenizer", None)
    if not texts or tokenizer is None or not callable(tokenizer):
        return [len(t) for t in texts]
    ids = tokenizer([str(t).strip() for t in texts], truncation=True, max_length=body.max_seq_length)["input_ids"]
    return [len(i) for i in ids]


def body_fingerprint(body_dir: str | Path) -> str:
    """SHA-256 over the files of a saved body (weights, vocabulary, configs), by relative path."""
    root = Path(body_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _NOT_WEIGHTS):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def texts_hash(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(str(text).encode() + b"\0")
    return digest.hexdigest()


def write_embeddings(
    out_dir: str | Path,
    fingerprint: str,
    sets: dict[str, tuple[Sequence[str], np.ndarray]],
    backend: str = "torch",
    keep: Callable[[Path], None] | None = None,
) -> None:
    """Write ``{name: (texts, embeddings)}`` atomically, with the body fingerprint, the backend that embedded
    them and the texts hashes; ``keep`` writes more files into the directory (the exported body)."""
    index = {"body": fingerprint, "backend": backend, "sets": {}}
    with atomic_dir(out_dir) as tmp:
        if keep is not None:
            keep(tmp)
        for name, (texts, emb) in sorted(sets.items()):
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(emb, dtype=np.float32), allow_pickle=False)
            index["sets"][name] = {"n": len(texts), "texts": texts_hash(texts)}
        (tmp / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def cached(
    cache_dir: str | Path | None, name: str, texts: Sequence[str], body_dir: str | Path, backend: str | None = None
) -> np.ndarray | None:
    """The cached embeddings of ``texts`` by the body saved at ``body_dir`` (run by ``backend``, if given),
    or None if not cached."""
    if cache_dir is None or not (Path(cache_dir) / INDEX).exists():
        return None
    index = json.loads((Path(cache_dir) / INDEX).read_text())
    entry = index.get("sets", {}).get(name)
    if entry is None or entry["texts"] != texts_hash(texts) or index.get("body") != body_fingerprint(body_dir):
        return None
    if backend is not None and index.get("backend", "torch") != backend:
        return None
    return np.load(Path(cache_dir) / f"{name}.npy", allow_pickle=False)
