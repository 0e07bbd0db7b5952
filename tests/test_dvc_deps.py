"""dvc.yaml lists, for each stage, exactly the src/fewshot modules its script imports (transitively), so a
change to a module re-runs the stages that run it, and only those."""

import re

import pytest
from conftest import ROOT
from imports import MODULES, closure, imported
from ruamel.yaml import YAML

LAUNCHED = {"fewshot.pipeline.launch"}  # `python -m fewshot.pipeline.launch stages/X.py` runs it first


def _stages() -> dict:
    return YAML(typ="safe", pure=True).load((ROOT / "dvc.yaml").read_text())["stages"]


def _expected(stage: dict) -> set[str]:
    script = next(d for d in stage["deps"] if re.fullmatch(r"stages/\w+\.py", d))
    start = imported(ROOT / script) | (LAUNCHED if "fewshot.pipeline.launch" in stage["cmd"] else set())
    return {str(MODULES[m].relative_to(ROOT)) for m in closure(start)}


@pytest.mark.parametrize("name", sorted(_stages()))
def test_each_stage_lists_exactly_the_modules_its_script_imports(name):
    stage = _stages()[name]
    stage = stage.get("do", stage)  # foreach stages
    listed = {d for d in stage["deps"] if d.startswith("src/")}
    expected = _expected(stage)
    assert not expected - listed, f"dvc.yaml, stage {name}: add {sorted(expected - listed)} to its deps"
    assert not listed - expected, f"dvc.yaml, stage {name}: {sorted(listed - expected)} are not imported; drop them"


def test_a_module_no_stage_imports_is_in_no_stage():
    listed = {d for s in _stages().values() for d in s.get("do", s)["deps"]}
    assert "src/fewshot/cli.py" not in listed and "src/fewshot/formats/setfit.py" not in listed
    assert "src/fewshot/heads/differentiable.py" not in _stages()["train_body"]["deps"]
