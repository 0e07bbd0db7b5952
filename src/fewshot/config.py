"""Typed, validated params: one model per params.yaml section.

Errors name the key (``train.num_epoch``), say what is wrong, and suggest the fix
(``did you mean 'num_epochs'?``). Params files are read with ruamel.yaml, which reads
``2e-05`` (as written by ``dvc exp run -S``) as a float, unlike PyYAML.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import difflib
from pathlib import Path
from typing import Any, Literal

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


class SampleParams(_Section):
    num_samples: int = Field(16, ge=1)
    unlabeled: int = Field(500, ge=0)
    allow_fewer: bool = False


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


class TrainParams(_Section):
    """How a body is trained on pairs (the student's ``train`` section; the teacher's extends it)."""

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    num_epochs: int = Field(1, ge=1)
    batch_size: int = Field(16, ge=1)
    body_learning_rate: float = Field(2e-5, gt=0)
    warmup_proportion: float = Field(0.1, ge=0, lt=1)
    max_steps: int = -1
    loss: Literal["CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss"] = "CosineSimilarityLoss"
    margin: float | None = Field(None, gt=0)
    max_length: int | None = Field(None, ge=8)
    batching: Literal["pairs", "groups"] = "pairs"  # fewshot.batching: pairs per step, or texts per step

    @field_validator("max_steps")
    @classmethod
    def _max_steps(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (train for num_epochs) or a positive number of steps")
        return v


class HeadParams(_Section):
    type: Literal["logistic_regression"] = "logistic_regression"
    params: dict[str, Any] = Field(default_factory=dict)


class TeacherParams(TrainParams):
    """The teacher: trained the SetFit way on the same pairs and few-shot texts, with its own head."""

    model: str = "sentence-transformers/all-mpnet-base-v2"
    num_epochs: int = Field(2, ge=1)
    batch_size: int = Field(16, ge=1)
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


class EvaluateParams(_Section):
    batch_size: int = Field(64, ge=1)


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
