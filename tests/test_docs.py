"""The docs a newcomer reads: the README's Python example runs as written, the params reference lists every
key of params.yaml, and no page carries a date or a path of one machine."""

import re
import subprocess
import sys

import pytest
from conftest import ROOT
from ruamel.yaml import YAML
from test_params import leaves

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _python_block(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_notebook_example_runs_as_written(tiny_body_dir, tmp_path):
    code = _python_block((ROOT / "README.md").read_text(), "## Using a model from Python")
    assert '"sentence-transformers/all-MiniLM-L6-v2"' in code
    code = code.replace('"sentence-transformers/all-MiniLM-L6-v2"', repr(str(tiny_body_dir)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "my-model" / "fewshot.json").exists()
    assert re.search(r"\['(sports|business)'\]", proc.stdout)


def test_the_params_reference_lists_every_key_once():
    shipped = set(leaves(YAML(typ="safe", pure=True).load((ROOT / "params.yaml").read_text())))
    rows = re.findall(r"^\| `([a-z0-9_.]+)` \|", (ROOT / "docs" / "params.md").read_text(), re.M)
    assert len(rows) == len(set(rows))
    assert set(rows) == shipped


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_dates_or_machine_paths_in_the_docs(page):
    text = page.read_text()
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert not re.search(r"(?<![\w.])/(work|root|home|tmp)/", text)
