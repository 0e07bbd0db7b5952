"""The params schema: ``params.yaml`` validated and mapped onto the library's arguments objects.

One pydantic model per section. Defaults are not kept here: every field's default is read from the
library's arguments objects (:class:`~fewshot.training.TrainingArguments`,
:class:`~fewshot.heads.HeadArguments`, :class:`~fewshot.distill.TeacherArguments`,
:class:`~fewshot.distill.DistillationArguments`, ...), and the shipped ``params.yaml`` equals them (a
test), so removing a key from it changes nothing. Errors name the key (``train.num_epoch``), say what is
wrong, and suggest the fix (``did you mean 'num_epochs'?``). ruamel.yaml reads ``2e-05`` as a float.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fewshot.arguments import (
    AUTO,
    BACKENDS,
    BATCHING,
    DEFAULT_BACKEND,
    DISTANCE_METRICS,
    LOSSES,
    MIXED_PRECISION,
    DistillationArguments,
    HeadArguments,
    PairArguments,
    SampleArguments,
    TeacherArguments,
    TrainingArguments,
    head_params,
)
from fewshot.classifiers import check_head
from fewshot.errors import HeadError, ParamsError
from fewshot.io import read_yaml
from fewshot.metrics import DEFAULT_METRICS, METRICS
from fewshot.pairs import STRATEGIES

_TRAIN, _TEACHER, _HEAD = TrainingArguments(), TeacherArguments(), HeadArguments()
_DISTILL, _SAMPLE, _PAIRS = DistillationArguments(), SampleArguments(), PairArguments()


class _Section(BaseModel):
    # strict: YAML gives every value its type, so none is coerced (``true`` is no number, ``1`` no flag)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataParams(_Section):
    """Where the labelled data comes from (shared by every stage that reads it): the pipeline's own keys."""

    train: str = "data/raw/train.parquet"
    test: str = "data/raw/test.parquet"
    text_column: str = "text"
    label_column: str = "label_text"
    label_names: list[str] | None = None  # integer label i (or multi-hot position i) is named label_names[i]


class SampleParams(_Section):
    num_samples: int = Field(_SAMPLE.num_samples, ge=0)
    unlabeled: int = Field(_SAMPLE.unlabeled, ge=0)
    allow_fewer: bool = _SAMPLE.allow_fewer
    validation: int = Field(_SAMPLE.validation, ge=0)
    drop_invalid: bool = _SAMPLE.drop_invalid
    synthetic: int = Field(_SAMPLE.synthetic, ge=0)
    templates: list[str] = Field(default_factory=lambda: list(_SAMPLE.templates), min_length=1)  # checked by sample

    def arguments(self, seed: int) -> SampleArguments:
        return SampleArguments(**{**self.model_dump(), "templates": tuple(self.templates)}, seed=seed)


class PairsParams(_Section):
    sampling_strategy: Literal[STRATEGIES] = _PAIRS.sampling_strategy  # type: ignore[valid-type]
    num_iterations: int | None = Field(_PAIRS.num_iterations, ge=1)
    max_pairs: int = _PAIRS.max_pairs
    include_self_pairs: bool = _PAIRS.include_self_pairs

    @field_validator("max_pairs")
    @classmethod
    def _max_pairs(cls, v: int) -> int:
        if v != -1 and v < 2:
            raise ValueError("must be -1 (no limit) or at least 2")
        return v

    def arguments(self, seed: int) -> PairArguments:
        return PairArguments(**self.model_dump(), seed=seed)


PosInt = Annotated[int, Field(ge=1)]
PosFloat = Annotated[float, Field(gt=0)]
_NO_PAIR = "one value: the body's; the head phase's (setfit's second value) is head.{key} (teacher.head.{key})"


class HeadParams(_Section):
    """The classifier on the embeddings and its training phase (:class:`~fewshot.arguments.HeadArguments`)."""

    type: str = _HEAD.type
    params: dict[str, Any] = Field(default_factory=lambda: dict(_HEAD.params))
    multi_target_strategy: Literal["one-vs-rest", "multi-output", "classifier-chain"] | None = (
        _HEAD.multi_target_strategy
    )
    num_epochs: PosInt = _HEAD.num_epochs
    batch_size: PosInt = _HEAD.batch_size
    body_learning_rate: PosFloat = _HEAD.body_learning_rate
    head_learning_rate: PosFloat = _HEAD.head_learning_rate
    l2_weight: float = Field(_HEAD.l2_weight, ge=0)
    end_to_end: bool = _HEAD.end_to_end
    early_stopping_patience: int | None = Field(_HEAD.early_stopping_patience, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _params_over_the_type_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("params", {}), dict):
            data = {**data, "params": head_params(data.get("type", _HEAD.type), data.get("params"))}
        return data

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in ("logistic_regression", "differentiable") and "." not in v:
            raise ValueError(
                "must be 'logistic_regression', 'differentiable' or the dotted name of a classifier class "
                "such as 'sklearn.svm.LinearSVC'"
            )
        return v

    def arguments(self, seed: int) -> HeadArguments:
        return HeadArguments(**self.model_dump(), seed=seed)


def _one_phase(v: Any, key: str) -> Any:
    if isinstance(v, (list, tuple)):
        raise ValueError(_NO_PAIR.format(key=key))
    return v


class TrainParams(_Section):
    """How a body is trained (:class:`~fewshot.arguments.TrainingArguments`); the teacher's extends it."""

    model: str = _TRAIN.model
    batching: Literal[BATCHING] = _TRAIN.batching  # type: ignore[valid-type]
    num_epochs: int | str = _TRAIN.num_epochs
    batch_size: PosInt = _TRAIN.batch_size
    body_learning_rate: PosFloat = _TRAIN.body_learning_rate
    warmup_proportion: float = Field(_TRAIN.warmup_proportion, ge=0, lt=1)
    max_steps: int = _TRAIN.max_steps
    loss: Literal[LOSSES] = _TRAIN.loss  # type: ignore[valid-type]
    margin: float | None = Field(_TRAIN.margin, gt=0)
    distance_metric: Literal[DISTANCE_METRICS] | None = _TRAIN.distance_metric  # type: ignore[valid-type]
    max_length: int | None = Field(_TRAIN.max_length, ge=8)
    auto_folds: PosInt = _TRAIN.auto_folds
    auto_max_steps: PosInt = _TRAIN.auto_max_steps
    mixed_precision: Literal[MIXED_PRECISION] = _TRAIN.mixed_precision  # type: ignore[valid-type]

    @field_validator("batch_size", "body_learning_rate", mode="before")
    @classmethod
    def _no_pairs(cls, v: Any, info) -> Any:
        return _one_phase(v, info.field_name)

    @field_validator("num_epochs", mode="before")
    @classmethod
    def _num_epochs(cls, v: Any) -> int | str:
        _one_phase(v, "num_epochs")
        if v != AUTO and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(
                "must be 'auto' (chosen by cross-validation on the few-shot texts) or a positive number of epochs"
            )
        return v

    @field_validator("max_steps")
    @classmethod
    def _max_steps(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (train for num_epochs) or a positive number of steps (overrides num_epochs)")
        return v

    def arguments(self, seed: int) -> TrainingArguments:
        return TrainingArguments(**self.model_dump(), seed=seed)


class TeacherParams(TrainParams):
    """The teacher (:class:`~fewshot.arguments.TeacherArguments`): trained as the student, its own head."""

    model: str = _TEACHER.model
    batching: Literal[BATCHING] = _TEACHER.batching  # type: ignore[valid-type]
    num_epochs: int | str = _TEACHER.num_epochs
    batch_size: PosInt = _TEACHER.batch_size
    body_learning_rate: PosFloat = _TEACHER.body_learning_rate
    max_steps: int = _TEACHER.max_steps
    auto_folds: PosInt = _TEACHER.auto_folds
    mixed_precision: Literal[MIXED_PRECISION] = _TEACHER.mixed_precision  # type: ignore[valid-type]
    head: HeadParams = HeadParams()

    def arguments(self, seed: int) -> TeacherArguments:
        return TeacherArguments(**self.model_dump(exclude={"head"}), head=self.head.arguments(seed), seed=seed)


class DistillParams(_Section):
    """The student learns from the teacher on unlabeled texts (:class:`~fewshot.distill.DistillationArguments`)."""

    batching: Literal[BATCHING] = _DISTILL.batching  # type: ignore[valid-type]
    num_epochs: int = Field(_DISTILL.num_epochs, ge=1)
    num_iterations: int | None = Field(_DISTILL.num_iterations, ge=1)
    max_steps: int = _DISTILL.max_steps
    batch_size: int = Field(_DISTILL.batch_size, ge=1)
    body_learning_rate: float = Field(_DISTILL.body_learning_rate, gt=0)
    warmup_proportion: float = Field(_DISTILL.warmup_proportion, ge=0, lt=1)
    include_labeled: bool = _DISTILL.include_labeled
    mixed_precision: Literal[MIXED_PRECISION] = _DISTILL.mixed_precision  # type: ignore[valid-type]
    head: HeadParams = HeadParams()

    @field_validator("max_steps")
    @classmethod
    def _max_steps(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (num_epochs passes) or a positive number of steps")
        return v

    def arguments(self, seed: int) -> DistillationArguments:
        return DistillationArguments(**self.model_dump(exclude={"head"}), head=self.head.arguments(seed), seed=seed)


class EvaluateParams(_Section):
    batch_size: int | None = Field(None, ge=1)  # None: the backend's (fewshot.arguments.EMBED_BATCH_SIZES)
    backend: Literal[BACKENDS] = DEFAULT_BACKEND  # type: ignore[valid-type]
    metrics: list[Literal[METRICS]] = Field(default_factory=lambda: list(DEFAULT_METRICS))  # type: ignore[valid-type]


class RegistryParams(_Section):
    """Which pipeline model the ``register`` stage logs as an MLflow model, and its registry name."""

    model: str = Field("distilled", pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field("fewshot", min_length=1)
    alias: str = Field("champion", pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")  # MLflow's alias rule (see register)


class Params(_Section):
    seed: int = _TRAIN.seed
    data: DataParams = DataParams()
    sample: SampleParams = SampleParams()
    pairs: PairsParams = PairsParams()
    train: TrainParams = TrainParams()
    head: HeadParams = HeadParams()
    teacher: TeacherParams = TeacherParams()
    distill: DistillParams = DistillParams()
    evaluate: EvaluateParams = EvaluateParams()
    registry: RegistryParams = RegistryParams()


def _suggest(bad: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(bad, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(sorted(choices))


def _model_at(loc: tuple) -> type[BaseModel]:
    model: type[BaseModel] = Params
    for part in loc:
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        ann = getattr(field, "annotation", None) if field else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            break
    return model


def _format(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            parent = _model_at(e["loc"][:-1])
            hint = _suggest(str(e["loc"][-1]), list(parent.model_fields))
            lines.append(f"{source}: unknown key '{key}': {hint}")
        else:
            got = e.get("input")
            msg = e["msg"].removeprefix("Value error, ")  # a validator's own message, cased as written
            lines.append(f"{source}: '{key}' {msg[:1].lower()}{msg[1:]} (got {got!r}); fix it in {source}")
    return "\n".join(lines)


def parse_params(raw: dict[str, Any] | None, source: str = "params") -> Params:
    """Validate a params mapping, every section and head type; raise ParamsError naming every bad key."""
    try:
        params = Params.model_validate(raw or {})
    except ValidationError as err:
        raise ParamsError(_format(err, source)) from None
    heads = {"head": params.head, "teacher.head": params.teacher.head, "distill.head": params.distill.head}
    for key, head in heads.items():
        try:
            check_head(head.type, head.params, head.multi_target_strategy, key)
        except HeadError as err:
            raise ParamsError(f"{source}: {err}") from None
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file (ruamel.yaml, so ``2e-05`` stays a float)."""
    return parse_params(read_yaml(path), source=str(path))
