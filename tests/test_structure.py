"""The shape of the library: one concern per module, no import cycles, no module over ~300 lines, and a
library that knows nothing of DVC or MLflow."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT
from imports import GRAPH, MODULES

MAX_LINES = 300
# the only parts that may know DVC and MLflow: the pipeline, the MLflow model format, and the CLI's
# `init-tracking` (which calls the pipeline)
PIPELINE = ("fewshot.pipeline", "fewshot.formats.pyfunc", "fewshot.formats.pyfunc_entry", "fewshot.cli")


def _cycles() -> list[list[str]]:
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    return found


def test_no_import_cycles():
    assert _cycles() == []


def test_a_cycle_would_be_found(monkeypatch):
    monkeypatch.setitem(GRAPH, "fewshot.errors", GRAPH["fewshot.errors"] | {"fewshot.model"})
    assert any("fewshot.errors" in cycle for cycle in _cycles())


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_300_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith(PIPELINE)))
def test_the_library_does_not_import_the_pipeline_dvc_or_mlflow(name):
    import ast

    tree = ast.parse(MODULES[name].read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    bad = [m for m in names if m.split(".")[0] in ("mlflow", "dvc") or m.startswith("fewshot.pipeline")]
    assert bad == []


NOTEBOOK = """
import json, os, sys
before = dict(os.environ)
import fewshot
from fewshot import FewShotModel, TrainingArguments, generate_pairs, load_body, text_pairs, train_body
sys.path.insert(0, {tests!r})
from tiny import make_texts
few = make_texts(4, seed=1)
body = load_body({body!r})
train_body(body, text_pairs(generate_pairs(few.label), few.text), TrainingArguments(max_steps=2))
model = FewShotModel.fit(body, few.text, few.label)
model.save({out!r})
again = FewShotModel.load({out!r})
assert list(again.predict(list(few.text))) == list(model.predict(list(few.text)))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "dvc") or m.startswith("fewshot.pipeline"))
print(json.dumps({{"loaded": loaded, "environ_changed": dict(os.environ) != before}}))
"""


def test_the_library_trains_predicts_saves_and_loads_without_dvc_mlflow_or_os_environ(tiny_body_dir, tmp_path):
    code = NOTEBOOK.format(tests=str(ROOT / "tests"), body=str(tiny_body_dir), out=str(tmp_path / "m"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts == {"loaded": [], "environ_changed": False}


def test_importing_fewshot_loads_no_heavy_module():
    heavy = ("torch", "sentence_transformers", "fewshot.model")
    code = f"import sys, fewshot, fewshot.errors, fewshot.arguments; print(sorted(set({heavy!r}) & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr
