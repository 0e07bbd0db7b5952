"""The arguments objects: every default of the library, in one place.

Each step takes one of these: :class:`SampleArguments` (the few-shot draw), :class:`PairArguments`,
:class:`TrainingArguments` (body training; the teacher's :class:`TeacherArguments` extends it),
:class:`HeadArguments` (the head and its training phase), :class:`DistillationArguments`.
The pipeline's params schema reads its defaults from here and the shipped ``params.yaml`` equals them.
They live in one module that imports nothing else of fewshot, so reading the params pulls in none of the
code that uses them (each DVC stage depends only on the modules it runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_TEMPLATE = "This sentence is {}"  # setfit's template for synthetic examples from label names

# the names the knobs accept (the modules that implement them import these, not the other way round)
BATCHING = ("pairs", "groups")  # fewshot.batching
PAIR_LOSSES = ("CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss")  # fewshot.losses
BATCH_LOSSES = (
    "BatchAllTripletLoss",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "BatchHardSoftMarginTripletLoss",
    "SupConLoss",
)
LOSSES = PAIR_LOSSES + BATCH_LOSSES
DISTANCE_METRICS = ("cosine", "euclidean", "manhattan")
MIXED_PRECISION = ("fp32", "bf16", "fp16")  # fewshot.training.fit: fp32, or autocast to bf16 or fp16


@dataclass(frozen=True)
class SampleArguments:
    """The few-shot draw: ``num_samples`` texts per class (setfit's name), an ``unlabeled`` pool of that many
    train texts (labels dropped, for distillation), and ``validation`` texts per class held out of the
    few-shot set. ``allow_fewer``: keep classes with fewer than ``num_samples`` texts. ``drop_invalid``:
    drop the rows of the train and test data whose text is empty, blank, null or not a string, or whose
    label is null (and count them), instead of refusing the data. ``synthetic``: examples per class made
    from the label names with ``templates`` (setfit's ``get_templated_dataset``: ``sample_size`` and
    ``template``; several templates are taken in turn), added to the few-shot set; with ``num_samples: 0``
    they are the whole training set (zero-shot from the label names)."""

    num_samples: int = 16
    unlabeled: int = 500
    allow_fewer: bool = False
    validation: int = 0
    drop_invalid: bool = False
    synthetic: int = 0
    templates: tuple[str, ...] = (DEFAULT_TEMPLATE,)
    seed: int = 42


@dataclass(frozen=True)
class PairArguments:
    """How pairs are drawn (setfit's names): ``sampling_strategy``; ``num_iterations`` (k: k·n positive and
    k·n negative pairs, overrides the strategy); ``max_pairs`` (a cap on distinct positive + negative
    candidates, -1: none); ``include_self_pairs`` (setfit pairs a text with itself; not by default)."""

    sampling_strategy: str = "oversampling"
    num_iterations: int | None = None
    max_pairs: int = -1
    include_self_pairs: bool = False
    seed: int = 42


# What runs a body at prediction and evaluation time (fewshot.backends); the default was chosen by
# measurement (bench/backends.py): the fastest whose accuracy stays within 0.3 points of torch fp32
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx-int8"
# Texts per embedding batch when none is given, per backend, chosen by measurement on a CPU
# (bench/batch_sizes.py; texts batched by token count): every backend encodes faster in batches of 8 or 16
# than of 32 or 64 (smaller intermediates); 8 and 16 are within this machine's noise of each other. A body
# on a GPU embeds in batches of GPU_EMBED_BATCH_SIZE (a GPU wants wide batches; not measured here).
EMBED_BATCH_SIZES = {"torch": 16, "onnx": 16, "onnx-int8": 16}
GPU_EMBED_BATCH_SIZE = 64


def embed_batch_size(backend: str, batch_size: int | None = None, device: str = "cpu") -> int:
    """``batch_size``, or the backend's own (:data:`EMBED_BATCH_SIZES`) when it is None; a torch body on
    a ``cuda`` device: :data:`GPU_EMBED_BATCH_SIZE`."""
    if batch_size:
        return int(batch_size)
    return GPU_EMBED_BATCH_SIZE if backend == "torch" and device.startswith("cuda") else EMBED_BATCH_SIZES[backend]


# A head type's constructor params when none are given; given ones are laid over them.
# C "auto": chosen per fit by cross-validation on the head's own training texts (fewshot.heads.logistic)
HEAD_PARAMS: dict[str, dict[str, Any]] = {"logistic_regression": {"C": "auto", "max_iter": 1000}}
# the params the differentiable head takes
DIFFERENTIABLE_PARAMS = ("temperature", "bias", "class_weight")


def head_params(type: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` over the head type's defaults (:data:`HEAD_PARAMS`)."""
    return {**HEAD_PARAMS.get(type, {}), **(params or {})}


@dataclass(frozen=True)
class HeadArguments:
    """The head, and its training phase when it has one.

    ``type``: ``logistic_regression``, ``differentiable`` (a torch linear head), or the dotted name of any
    sklearn-style classifier (``sklearn.svm.LinearSVC``); ``params`` go to its constructor, over the type's
    defaults (:data:`HEAD_PARAMS`). ``multi_target_strategy``: multi-label wrapping of sklearn heads
    (``one-vs-rest`` when null).

    The differentiable head trains in a head phase: setfit's second values of ``num_epochs``,
    ``batch_size`` and ``body_learning_rate`` (``(1, 16)``, ``(16, 2)``, ``(2e-5, 1e-5)`` there), its
    ``head_learning_rate`` and ``l2_weight`` (AdamW's weight decay). ``end_to_end`` also trains the body,
    at ``body_learning_rate``; otherwise only the layer learns, on fixed embeddings.
    ``early_stopping_patience``: with validation texts, stop after that many epochs without a better
    validation loss and keep the best epoch's weights. The other heads read none of these.
    """

    type: str = "logistic_regression"
    params: dict[str, Any] | None = None
    multi_target_strategy: str | None = None
    num_epochs: int = 16
    batch_size: int = 2
    body_learning_rate: float = 1e-5
    head_learning_rate: float = 1e-2
    l2_weight: float = 1e-2
    end_to_end: bool = False
    early_stopping_patience: int | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", head_params(self.type, self.params))


AUTO = "auto"


@dataclass(frozen=True)
class TrainingArguments:
    """How a body is trained (the pipeline's ``train`` section; the teacher's extends it).

    ``batching``: ``groups`` (an epoch deals every few-shot text once into groups of at most
    ``batch_size`` texts; a step trains one group with all its listed pairs) or ``pairs`` (setfit's way:
    an epoch is one pass over the pairs, ``batch_size`` pairs a step). ``num_epochs``: the training length,
    or ``auto``: with ``groups`` (or a batch loss) and labelled texts, the steps that score best in
    ``auto_folds``-fold cross-validation on them, trying 4, 8, 16, ... up to ``auto_max_steps``
    (:mod:`fewshot.auto_length`);
    otherwise a rule of thumb read from the pairs (:func:`fewshot.batching.resolve_epochs`). The choice is
    recorded, and trained at the constant rate the search validated (``warmup_proportion`` and the linear
    decay apply when the length is given). ``max_steps``, when positive, overrides it.
    ``mixed_precision``: ``bf16`` or ``fp16`` autocast while training (weights stay fp32; fp16 needs a
    GPU, bf16 also runs on CPUs with bf16 instructions).
    The head's training phase is :class:`HeadArguments`'.
    """

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    batching: str = "groups"
    num_epochs: int | str = AUTO
    batch_size: int = 64
    body_learning_rate: float = 1e-4
    warmup_proportion: float = 0.1
    max_steps: int = -1
    loss: str = "CosineSimilarityLoss"
    margin: float | None = None
    distance_metric: str | None = None
    max_length: int | None = None
    auto_folds: int = 2
    auto_max_steps: int = 64
    mixed_precision: str = "fp32"
    seed: int = 42


@dataclass(frozen=True)
class TeacherArguments(TrainingArguments):
    """The teacher: a bigger body trained the SetFit way on the same pairs and few-shot texts, with its head.

    Grouped like the student, its length by the rule of thumb (``auto_folds: 1``: one grouped step per 2
    texts per class, at least 5) rather than the cross-validated search, which would train the bigger body
    once per fold and length tried; at half the student's rate, as a bigger body takes smaller steps; in bf16
    autocast (its steps are most of the run's training time; bench/RESULTS.md measures the difference).
    """

    model: str = "sentence-transformers/all-mpnet-base-v2"
    body_learning_rate: float = 5e-5
    auto_folds: int = 1
    mixed_precision: str = "bf16"
    head: HeadArguments = field(default_factory=HeadArguments)


@dataclass(frozen=True)
class DistillationArguments:
    """How the student learns from the teacher on unlabeled texts.

    ``batching``: ``groups`` (an epoch deals the unlabeled texts into groups of at most ``batch_size``
    texts; a step embeds a group once and learns the teacher's similarity of every pair among them) or
    ``pairs`` (setfit's way: ``batch_size`` drawn pairs a step; ``num_iterations``: k·n pairs of the n
    texts, else ``max_steps × batch_size``). ``max_steps``: the steps (in ``groups`` mode -1 trains
    ``num_epochs`` passes over the texts). ``include_labeled``: the head also learns the few-shot texts' true
    labels (the default; false: the teacher's labels only). ``head``: the distilled student's head, fitted on the
    teacher's labels.
    """

    batching: str = "groups"
    num_epochs: int = 2
    num_iterations: int | None = None
    max_steps: int = -1
    batch_size: int = 64
    body_learning_rate: float = 1e-4
    warmup_proportion: float = 0.1
    include_labeled: bool = True
    mixed_precision: str = "bf16"
    head: HeadArguments = field(default_factory=HeadArguments)
    seed: int = 42

    def body_training(self) -> TrainingArguments:
        """The student body's training on the teacher's similarities (``pairs``: CosineSimilarityLoss)."""
        return TrainingArguments(
            batching=self.batching,
            num_epochs=self.num_epochs,
            batch_size=self.batch_size,
            body_learning_rate=self.body_learning_rate,
            warmup_proportion=self.warmup_proportion,
            max_steps=self.max_steps,
            loss="CosineSimilarityLoss",
            mixed_precision=self.mixed_precision,
            seed=self.seed,
        )
