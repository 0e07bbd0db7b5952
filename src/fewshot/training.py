"""Body training: ``train_body(body, pairs, TrainingArguments(...))``.

The body is fine-tuned contrastively with sentence-transformers' trainer: on the pairs (a pair loss, in
setfit's pair-by-pair batches or in grouped batches, :mod:`fewshot.batching`), or on the labelled
few-shot texts (a batch loss, :mod:`fewshot.losses`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fewshot.arguments import TrainingArguments
from fewshot.errors import FewshotError, TrainingError

if TYPE_CHECKING:
    from fewshot.auto_length import LengthChoice

__all__ = ["TrainResult", "TrainingArguments", "fit", "tokenize_distinct", "train_body"]


@dataclass
class TrainResult:
    steps: int
    epochs: float  # epochs trained (steps / steps per epoch)
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    seconds: float = 0.0
    arguments: dict = field(default_factory=dict)  # the training arguments used, as resolved (see used_arguments)
    auto: LengthChoice | None = None  # num_epochs: auto's cross-validated choice, when it ran


def used_arguments(args: TrainingArguments, batching: str, epochs: float, steps: int) -> dict:
    """What shaped the trained body: the arguments as resolved (``auto`` epochs, the batching a batch loss
    forces), without those the run did not read (a margin for a loss without one). Recorded beside the
    weights, so a change that trains the same body leaves its output bytes, and the stages after it, as they
    were."""
    from fewshot.losses import takes_distance, takes_margin

    used = {
        "model": args.model,
        "batching": batching,
        "epochs": epochs,
        "steps": steps,
        "batch_size": args.batch_size,
        "body_learning_rate": args.body_learning_rate,
        "warmup_proportion": args.warmup_proportion,
        "loss": args.loss,
        "max_length": args.max_length,
        "mixed_precision": args.mixed_precision,
        "seed": args.seed,
    }
    if takes_margin(args.loss):
        used["margin"] = args.margin
    if takes_distance(args.loss):
        used["distance_metric"] = args.distance_metric
    return used


def tokenize_distinct(preprocess: Callable) -> Callable:
    """Wrap a collator's ``preprocess_fn`` so each distinct text of a column is tokenized once.

    A grouped batch lists every pair of its texts, so a column of 768 pairs holds ~32 distinct texts.
    The result is the same as tokenizing the whole column (same padding: the longest text is among the
    distinct ones); only the rows are copied instead of recomputed.
    """
    from torch import Tensor, tensor

    def distinct(inputs, *args, **kwargs):
        if not inputs or not all(isinstance(t, str) for t in inputs):
            return preprocess(inputs, *args, **kwargs)
        index: dict[str, int] = {}
        inverse = tensor([index.setdefault(t, len(index)) for t in inputs])
        if len(index) == len(inputs):
            return preprocess(inputs, *args, **kwargs)
        out = preprocess(list(index), *args, **kwargs)
        return {
            k: v[inverse] if isinstance(v, Tensor) and v.ndim >= 1 and v.shape[0] == len(index) else v
            for k, v in out.items()
        }

    return distinct


def _dataset(pairs: pd.DataFrame, labeled: pd.DataFrame | None, args: TrainingArguments):
    """The trainer's dataset: the text pairs, or the labelled texts for a batch loss."""
    from datasets import Dataset

    from fewshot.losses import is_batch_loss, label_codes

    if is_batch_loss(args.loss):
        if labeled is None or len(labeled) == 0:
            raise TrainingError(f"train.loss={args.loss} trains on labelled texts, and none were given")
        codes = label_codes(labeled["label"])
        return Dataset.from_dict({"text": [str(t) for t in labeled["text"]], "label": codes.tolist()})
    if len(pairs) == 0:
        raise TrainingError("pairs: no pairs to train on. Fix: check the pairs stage output")
    from fewshot.batching import pairs_dataset

    return pairs_dataset(pairs)


@contextmanager
def _settings_refused(args: TrainingArguments) -> Iterator[None]:
    """A ValueError the trainer raises (settings it cannot use) as one TrainingError line, not a traceback."""
    try:
        yield
    except FewshotError:
        raise
    except ValueError as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TrainingError(
            f"body training of '{args.model}' cannot use these settings ({detail}). Fix: change the training "
            "section's values (train.* or teacher.*: batch_size, max_steps, loss, margin, distance_metric, "
            "max_length)"
        ) from None


def train_body(
    body,
    pairs: pd.DataFrame,
    args: TrainingArguments | None = None,
    labeled: pd.DataFrame | None = None,
    on_log: Callable[[int, float], None] | None = None,
    output_dir: str | Path | None = None,
    stop_at: Callable[[int], bool] | None = None,
    schedule: str = "linear",
    **fields,
) -> TrainResult:
    """Fine-tune ``body`` in place on text pairs (``sentence_1``, ``sentence_2``, ``label``).

    ``fields`` override ``args`` (e.g. ``train_body(body, pairs, max_steps=20)``). A batch loss trains on
    ``labeled`` texts (``text``, ``label``) instead, in labelled batches. ``on_log(step, loss)`` is called
    at every step; ``stop_at(step)`` too, after the step, and training stops when it returns true.
    ``schedule``: the learning-rate schedule after warm-up (transformers' ``lr_scheduler_type``); with
    ``num_epochs: auto``, the constant rate without warm-up its search validated.

    ``num_epochs: auto`` with grouped batches (or a batch loss) and labelled texts: the length is chosen by
    k-fold cross-validation on them (:mod:`fewshot.auto_length`), and ``TrainResult.auto`` holds the choice
    and the scores that made it.
    """
    import time

    from fewshot.batching import resolve_epochs, trainer_args
    from fewshot.losses import is_batch_loss, make_loss

    args = replace(args or TrainingArguments(), **fields)
    # a batch loss trains on labelled batches of the few-shot texts, not on groups of pairs
    batching = "pairs" if is_batch_loss(args.loss) else args.batching
    dataset = _dataset(pairs, labeled, args)
    start = time.perf_counter()  # the search for auto's length counts as training time
    choice = None
    if _cross_validates(args, batching, labeled):
        from fewshot.auto_length import SCHEDULE, choose_steps

        choice = choose_steps(train_body, body, pairs, labeled, args, args.auto_folds, args.auto_max_steps)
        # the chosen length at the rate it was validated at: constant from the first step (a warm-up and
        # a decay would train the body about half as far as the run that scored best)
        args = replace(args, max_steps=choice.steps, warmup_proportion=0.0)
        schedule = SCHEDULE
    epochs = resolve_epochs(args.num_epochs, batching, args.batch_size, pairs)
    run = fit(
        body,
        dataset,
        make_loss(body, args.loss, args.margin, args.distance_metric),
        args,
        epochs,
        trainer_args(batching),
        on_log=on_log,
        output_dir=output_dir,
        stop_at=stop_at,
        schedule=schedule,
    )
    seconds = time.perf_counter() - start
    used = used_arguments(args, batching, run.epochs, run.steps)
    if choice is not None:
        used["auto"] = choice.as_dict()
    return TrainResult(
        steps=run.steps, epochs=run.epochs, losses=run.losses, seconds=seconds, arguments=used, auto=choice
    )


def autocast(mixed_precision: str):
    """A context that runs torch ops in ``mixed_precision`` (bf16 or fp16 autocast on the device torch uses;
    fp32, or fp16 on a CPU: nothing changes), e.g. the teacher's embedding of the unlabeled texts."""
    import contextlib

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16 if device == "cuda" else None}.get(mixed_precision)
    return torch.autocast(device, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def fit(
    body,
    dataset,
    loss,
    args: TrainingArguments,
    epochs: float,
    extra: dict | None = None,
    on_log: Callable[[int, float], None] | None = None,
    output_dir: str | Path | None = None,
    stop_at: Callable[[int], bool] | None = None,
    schedule: str = "linear",
) -> TrainResult:
    """Run sentence-transformers' trainer on ``dataset`` with ``loss``: the loop every body training shares.

    ``args`` gives the batch size, rate, warm-up, ``max_steps`` and seed; ``extra``: more trainer
    arguments (a batch sampler). Returns the steps, epochs, losses and seconds (``arguments`` empty).
    """
    import tempfile
    import time

    import torch
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import PrinterCallback, TrainerCallback

    from fewshot.runtime import deterministic, heap_frozen, progress_enabled, quiet_libraries

    losses: list[tuple[int, float]] = []

    class _Record(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                losses.append((int(state.global_step), float(logs["loss"])))
                if on_log:
                    on_log(int(state.global_step), float(logs["loss"]))

        def on_step_end(self, _args, state, control, **kw):
            if stop_at is not None and stop_at(int(state.global_step)):
                control.should_training_stop = True

    quiet_libraries()
    if args.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise TrainingError("mixed_precision: fp16 needs a GPU. Fix: use bf16 (CPUs with bf16 instructions) or fp32")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, _settings_refused(args):
        trainer_arguments = SentenceTransformerTrainingArguments(
            output_dir=str(output_dir or tmp),
            num_train_epochs=epochs,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.body_learning_rate,
            lr_scheduler_type=schedule,
            warmup_steps=args.warmup_proportion,
            max_steps=args.max_steps,
            bf16=args.mixed_precision == "bf16",
            fp16=args.mixed_precision == "fp16",
            use_cpu=args.mixed_precision == "bf16" and not torch.cuda.is_available(),  # the trainer's CPU bf16
            seed=args.seed,
            data_seed=args.seed,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=not progress_enabled(),
            dataloader_drop_last=False,
            dataloader_pin_memory=torch.cuda.is_available(),
            **(extra or {}),
        )
        trainer = SentenceTransformerTrainer(
            model=body, args=trainer_arguments, train_dataset=dataset, loss=loss, callbacks=[_Record()]
        )
        trainer.remove_callback(PrinterCallback)  # the loss is logged by the caller (MLflow, loss.csv)
        trainer.data_collator.preprocess_fn = tokenize_distinct(trainer.data_collator.preprocess_fn)
        with heap_frozen(), deterministic(), _settings_refused(args):
            out = trainer.train()
        trained_epochs = round(float(trainer.state.epoch or 0), 4)
    body.eval()
    return TrainResult(
        steps=int(out.global_step), epochs=trained_epochs, losses=losses, seconds=time.perf_counter() - start
    )


def _cross_validates(args: TrainingArguments, batching: str, labeled: pd.DataFrame | None) -> bool:
    """Whether ``num_epochs: auto`` is decided by cross-validation: grouped batches or a batch loss, no
    ``max_steps``, and single-label few-shot texts with at least two per class (else
    :func:`fewshot.batching.resolve_epochs`' rule of thumb)."""
    from fewshot.arguments import AUTO
    from fewshot.labels import any_multi_label
    from fewshot.losses import is_batch_loss

    if args.num_epochs != AUTO or args.max_steps > 0 or args.auto_folds < 2:
        return False
    if batching != "groups" and not is_batch_loss(args.loss):  # setfit's pair batches: one pass
        return False
    if labeled is None or len(labeled) == 0 or any_multi_label(labeled["label"]):
        return False
    return int(labeled["label"].astype(str).value_counts().min()) >= 2
