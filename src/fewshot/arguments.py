"""The arguments objects: every default of the library, in one place.

Each step takes one of these: :class:`SampleArguments` (the few-shot draw), :class:`PairArguments`,
:class:`TrainingArguments` (body training; the teacher's :class:`TeacherArguments` extends it),
:class:`HeadArguments` and :class:`HeadPhaseArguments` (the head), :class:`DistillationArguments`.
The pipeline's params schema reads its defaults from here and the shipped ``params.yaml`` equals them.
They live in one module that imports nothing else of fewshot, so reading the params pulls in none of the
code that uses them (each DVC stage depends only on the modules it runs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TWO_PHASE = ("num_epochs", "batch_size", "body_learning_rate")


@dataclass(frozen=True)
class SampleArguments:
    """The few-shot draw: ``num_samples`` texts per class (setfit's name), an ``unlabeled`` pool of that many
    train texts (labels dropped, for distillation), and ``validation`` texts per class held out of the
    few-shot set. ``allow_fewer``: keep classes with fewer than ``num_samples`` texts."""

    num_samples: int = 16
    unlabeled: int = 500
    allow_fewer: bool = False
    validation: int = 0
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


# A head type's constructor params when none are given; given ones are laid over them.
HEAD_PARAMS: dict[str, dict[str, Any]] = {"logistic_regression": {"C": 1.0, "max_iter": 1000}}


def head_params(type: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` over the head type's defaults (:data:`HEAD_PARAMS`)."""
    return {**HEAD_PARAMS.get(type, {}), **(params or {})}


@dataclass(frozen=True)
class HeadArguments:
    """Which head: ``logistic_regression``, ``differentiable`` (a torch linear head), or the dotted name of
    any sklearn-style classifier (``sklearn.svm.LinearSVC``); ``params`` go to its constructor, over the
    type's defaults (:data:`HEAD_PARAMS`). ``multi_target_strategy``: multi-label wrapping of sklearn heads
    (``one-vs-rest`` when null); ``early_stopping_patience``: the differentiable head's epochs without a
    better validation loss."""

    type: str = "logistic_regression"
    params: dict[str, Any] | None = None
    multi_target_strategy: str | None = None
    early_stopping_patience: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", head_params(self.type, self.params))


@dataclass(frozen=True)
class HeadPhaseArguments:
    """The differentiable head's training phase (setfit's second values of the two-phase arguments).

    ``end_to_end`` also trains the body, at ``body_learning_rate``; otherwise only the layer learns, on
    fixed embeddings. ``early_stopping_patience``: with validation texts, stop after that many epochs
    without a better validation loss and keep the best epoch's weights."""

    num_epochs: int = 16
    batch_size: int = 2
    body_learning_rate: float = 1e-5
    head_learning_rate: float = 1e-2
    l2_weight: float = 1e-2
    end_to_end: bool = False
    max_length: int | None = None
    early_stopping_patience: int | None = None
    seed: int = 42


@dataclass(frozen=True)
class TrainingArguments:
    """How a body is trained (the pipeline's ``train`` section).

    ``num_epochs``, ``batch_size`` and ``body_learning_rate`` take one value (the body phase) or a pair
    ``(body_phase, head_phase)`` as in setfit; the head phase (and ``head_learning_rate``, ``l2_weight``,
    ``end_to_end``) only matters for the differentiable head (:meth:`head_phase`).
    ``batching``: ``groups`` (at most ``batch_size`` texts with all their listed pairs per step) or
    ``pairs`` (``batch_size`` pairs per step, setfit's way). ``max_steps``: a number of steps, ``-1``
    (``num_epochs`` passes) or ``auto`` (:func:`fewshot.batching.resolve_steps`).
    """

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    batching: str = "groups"
    num_epochs: int | tuple[int, int] = 1
    batch_size: int | tuple[int, int] = 64
    body_learning_rate: float | tuple[float, float] = 1e-4
    warmup_proportion: float = 0.1
    max_steps: int | str = "auto"
    loss: str = "CosineSimilarityLoss"
    margin: float | None = None
    distance_metric: str | None = None
    max_length: int | None = None
    head_learning_rate: float = HeadPhaseArguments.head_learning_rate
    l2_weight: float = HeadPhaseArguments.l2_weight
    end_to_end: bool = HeadPhaseArguments.end_to_end
    seed: int = 42

    def phase(self, key: str, index: int):
        """The body-phase (``index`` 0) or head-phase (1) value of a two-phase key; a single value is the
        body phase's, and the head phase then takes :class:`HeadPhaseArguments`' default."""
        value = getattr(self, key)
        if isinstance(value, (tuple, list)):
            return value[index]
        return value if index == 0 else getattr(HeadPhaseArguments, key)

    def head_phase(self, early_stopping_patience: int | None = None) -> HeadPhaseArguments:
        """The differentiable head's training phase."""
        return HeadPhaseArguments(
            **{key: self.phase(key, 1) for key in TWO_PHASE},
            head_learning_rate=self.head_learning_rate,
            l2_weight=self.l2_weight,
            end_to_end=self.end_to_end,
            max_length=self.max_length,
            early_stopping_patience=early_stopping_patience,
            seed=self.seed,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TeacherArguments(TrainingArguments):
    """The teacher: a bigger body trained the SetFit way on the same pairs and few-shot texts, with its head."""

    model: str = "sentence-transformers/all-mpnet-base-v2"
    batching: str = "pairs"
    num_epochs: int | tuple[int, int] = 2
    batch_size: int | tuple[int, int] = 16
    body_learning_rate: float | tuple[float, float] = 2e-5
    max_steps: int | str = -1
    head: HeadArguments = field(default_factory=HeadArguments)


@dataclass(frozen=True)
class DistillationArguments:
    """How the student learns from the teacher on unlabeled texts.

    ``num_iterations``: k·n pairs of the n unlabeled texts; null: ``max_steps × batch_size`` pairs.
    ``include_labeled``: the head also learns the few-shot texts' true labels. ``head``: the distilled
    student's head, fitted on the teacher's labels.
    """

    num_iterations: int | None = None
    max_steps: int = 500
    batch_size: int = 16
    body_learning_rate: float = 2e-5
    warmup_proportion: float = 0.1
    include_labeled: bool = False
    head: HeadArguments = field(default_factory=HeadArguments)
    seed: int = 42

    def body_training(self) -> TrainingArguments:
        """The student body's training on the teacher's similarities: pair by pair, CosineSimilarityLoss."""
        return TrainingArguments(
            batching="pairs",
            num_epochs=1,
            batch_size=self.batch_size,
            body_learning_rate=self.body_learning_rate,
            warmup_proportion=self.warmup_proportion,
            max_steps=self.max_steps,
            loss="CosineSimilarityLoss",
            seed=self.seed,
        )
