"""Typed, validated params: one model per params.yaml section.

Errors name the key (``train.num_epoch``), say what is wrong, and suggest the fix
(``did you mean 'num_epochs'?``). Params files are read with ruamel.yaml, which reads
``2e-05`` (as written by ``dvc exp run -S``) as a float, unlike PyYAML.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ParamsError(FewshotError):
    """A params file or mapping that does not validate; the message names the key and the fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Section):
    """Where the labelled data comes from (shared by every stage that reads it)."""

    train: str = "data/raw/train.parquet"
    test: str = "data/raw/test.parquet"
    text_column: str = "text"
    label_column: str = "label"
    label_names: list[str] | None = None  # integer label i (or multi-hot position i) is named label_names[i]


class SampleParams(_Section):
    num_samples: int = Field(16, ge=1)
    unlabeled: int = Field(500, ge=0)
    allow_fewer: bool = False
    validation: int = Field(0, ge=0)  # texts per class held out of the train data for head-phase validation


class PairsParams(_Section):
    sampling_strategy: Literal["oversampling", "undersampling", "unique"] = "oversampling"
    num_iterations: int | None = Field(None, ge=1)
    max_pairs: int = -1
    include_self_pairs: bool = False

    @field_validator("max_pairs")
    @classmethod
    def _max_pairs(cls, v: int) -> int:
        if v != -1 and v < 2:
            raise ValueError("must be -1 (no limit) or at least 2")
        return v


LOSSES = ("CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss")
BATCH_LOSSES = (
    "BatchAllTripletLoss",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "BatchHardSoftMarginTripletLoss",
    "SupConLoss",
)

PosInt = Annotated[int, Field(ge=1)]
PosFloat = Annotated[float, Field(gt=0)]


def _two_phase(value: Any, kind: type) -> Any:
    """One positive number, or a pair ``[body_phase, head_phase]`` of them; one clear error otherwise."""
    what = "integer" if kind is int else "number"
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    ok = len(values) in (1, 2) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and (kind is float or float(v).is_integer())
        for v in values
    )
    if not ok or (isinstance(value, (list, tuple)) and len(values) != 2):
        raise ValueError(f"must be a positive {what} or a pair [body_phase, head_phase] of them, e.g. [1, 16]")
    values = [kind(v) for v in values]
    return tuple(values) if isinstance(value, (list, tuple)) else values[0]
# setfit's head-phase defaults: batch_size (16, 2), num_epochs (1, 16), body_learning_rate (2e-5, 1e-5)
HEAD_PHASE_DEFAULTS = {"batch_size": 2, "num_epochs": 16, "body_learning_rate": 1e-5}


class TrainParams(_Section):
    """How a body is trained (the student's ``train`` section; the teacher's extends it).

    ``num_epochs``, ``batch_size`` and ``body_learning_rate`` take one value (the body phase) or a pair
    ``[body_phase, head_phase]`` as in setfit; the head phase only matters for the differentiable head.
    """

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    num_epochs: PosInt | tuple[PosInt, PosInt] = 1
    batch_size: PosInt | tuple[PosInt, PosInt] = 16
    body_learning_rate: PosFloat | tuple[PosFloat, PosFloat] = 2e-5
    warmup_proportion: float = Field(0.1, ge=0, lt=1)
    max_steps: int | Literal["auto"] = -1  # auto: fewshot.batching.resolve_steps
    loss: Literal[LOSSES + BATCH_LOSSES] = "CosineSimilarityLoss"  # type: ignore[valid-type]
    margin: float | None = Field(None, gt=0)
    distance_metric: Literal["cosine", "euclidean", "manhattan"] | None = None  # batch losses (null: their default)
    max_length: int | None = Field(None, ge=8)
    batching: Literal["pairs", "groups"] = "pairs"  # fewshot.batching: pairs per step, or texts per step
    head_learning_rate: float = Field(1e-2, gt=0)  # differentiable head
    l2_weight: float = Field(1e-2, ge=0)  # AdamW weight decay in the head phase
    end_to_end: bool = False  # differentiable head: also train the body in the head phase

    @field_validator("num_epochs", "batch_size", mode="before")
    @classmethod
    def _int_phases(cls, v: Any) -> Any:
        return _two_phase(v, int)

    @field_validator("body_learning_rate", mode="before")
    @classmethod
    def _float_phases(cls, v: Any) -> Any:
        return _two_phase(v, float)

    def phase(self, key: str, index: int):
        """The body-phase (index 0) or head-phase (1) value of a two-phase key."""
        value = getattr(self, key)
        if isinstance(value, (tuple, list)):
            return value[index]
        return value if index == 0 else HEAD_PHASE_DEFAULTS[key]

    def head_phase(self) -> dict[str, Any]:
        """The arguments of the differentiable head's training phase."""
        return {
            "num_epochs": self.phase("num_epochs", 1),
            "batch_size": self.phase("batch_size", 1),
            "body_learning_rate": self.phase("body_learning_rate", 1),
            "head_learning_rate": self.head_learning_rate,
            "l2_weight": self.l2_weight,
            "end_to_end": self.end_to_end,
            "max_length": self.max_length,
        }

    @field_validator("max_steps", mode="before")
    @classmethod
    def _max_steps(cls, v: Any) -> int | str:
        if v == "auto":
            return v
        whole = isinstance(v, int) and not isinstance(v, bool) or isinstance(v, str) and v.lstrip("-").isdigit()
        if not whole or int(v) == 0 or int(v) < -1:
            raise ValueError(
                "must be 'auto' (groups: one step per 2 texts per class, at least 5), -1 (train for num_epochs) "
                "or a positive number of steps"
            )
        return int(v)


class HeadParams(_Section):
    """The classifier on the embeddings: ``logistic_regression``, ``differentiable`` (a torch linear head), or
    the dotted name of any sklearn-style classifier (``sklearn.svm.LinearSVC``); ``params`` go to its constructor."""

    type: str = "logistic_regression"
    params: dict[str, Any] = Field(default_factory=dict)
    multi_target_strategy: Literal["one-vs-rest", "multi-output", "classifier-chain"] | None = None
    early_stopping_patience: int | None = Field(None, ge=1)  # differentiable head: epochs without a better val loss

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in ("logistic_regression", "differentiable") and "." not in v:
            raise ValueError(
                "must be 'logistic_regression', 'differentiable' or the dotted name of a classifier class "
                "such as 'sklearn.svm.LinearSVC'"
            )
        return v


class TeacherParams(TrainParams):
    """The teacher: trained the SetFit way on the same pairs and few-shot texts, with its own head."""

    model: str = "sentence-transformers/all-mpnet-base-v2"
    num_epochs: PosInt | tuple[PosInt, PosInt] = 2
    batch_size: PosInt | tuple[PosInt, PosInt] = 16
    head: HeadParams = HeadParams()


class DistillParams(_Section):
    """Teach the trained student from the teacher, using unlabeled texts."""

    num_iterations: int | None = Field(None, ge=1)
    max_steps: int = 500
    batch_size: int = Field(16, ge=1)
    body_learning_rate: float = Field(2e-5, gt=0)
    warmup_proportion: float = Field(0.1, ge=0, lt=1)
    include_labeled: bool = False
    head: HeadParams = HeadParams()

    @field_validator("max_steps")
    @classmethod
    def _max_steps(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (one pass over the pairs) or a positive number of steps")
        return v


METRICS = (
    "accuracy", "f1_micro", "f1_macro", "f1_weighted", "precision_micro", "precision_macro", "precision_weighted",
    "recall_micro", "recall_macro", "recall_weighted", "matthews_corrcoef",
)
DEFAULT_METRICS = ["accuracy", "f1_macro", "precision_macro", "recall_macro"]


class EvaluateParams(_Section):
    batch_size: int = Field(64, ge=1)
    metrics: list[Literal[METRICS]] = Field(default_factory=lambda: list(DEFAULT_METRICS))  # type: ignore[valid-type]


class RegistryParams(_Section):
    """Which pipeline model the ``register`` stage logs as an MLflow model, and its registry name."""

    model: str = Field("distilled", pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field("fewshot", min_length=1)


class Params(_Section):
    seed: int = 42
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
    if close:
        return f"did you mean '{close[0]}'?"
    return "known keys: " + ", ".join(sorted(choices))


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
            lines.append(f"{source}: '{key}' {e['msg'].lower()} (got {got!r}); fix it in {source}")
    return "\n".join(lines)


def parse_params(raw: dict[str, Any] | None, source: str = "params") -> Params:
    """Validate a params mapping; raise ParamsError naming every bad key."""
    try:
        return Params.model_validate(raw or {})
    except ValidationError as err:
        raise ParamsError(_format(err, source)) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: params file not found; run from the project root or pass its path")
    data = YAML(typ="safe", pure=True).load(path.read_text())
    if data is not None and not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data or {}


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file (ruamel.yaml, so ``2e-05`` stays a float)."""
    return parse_params(read_yaml(path), source=str(path))
