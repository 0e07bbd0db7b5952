"""A key re-runs only the stages that read it: every leaf key of params.yaml is changed in turn on a
reproduced tiny project, and DVC's own status says which stages it invalidates. The README's "what
re-runs" table is checked against the same table (and DVC's graph for what follows a changed output)."""

import re

import pytest
from conftest import ROOT
from ruamel.yaml import YAML
from test_params import leaves
from test_pipeline import make_project, set_params, sh

EMBED = {"embed@student", "embed@teacher", "embed@distilled"}
EVALUATE = {"evaluate@student", "evaluate@teacher", "evaluate@distilled"}
SEEDED = {"sample", "pairs", "train_body", "fit_head", "train_teacher", "distill"}
# the one table: which stages read each key (by its section, or the key itself)
READERS = {
    "seed": SEEDED,
    "data": {"sample"},
    "sample": {"sample"},
    "pairs": {"pairs"},
    "train": {"train_body"},
    "head": {"fit_head"},
    "teacher": {"train_teacher"},
    "distill": {"distill"},
    "evaluate.batch_size": EMBED | EVALUATE,
    "evaluate.backend": EMBED | EVALUATE,
    "evaluate.metrics": EVALUATE,
    "registry": {"register"},
}
OTHER = {  # a different valid value, where the rule in _changed does not give one
    "data.train": "data/raw/other.parquet",
    "data.test": "data/raw/other.parquet",
    "data.text_column": "sentence",
    "data.label_column": "topic",
    "data.label_names": ["a", "b", "c"],
    "pairs.sampling_strategy": "unique",
    "pairs.max_pairs": 100,
    "registry.model": "student",
    "evaluate.metrics": ["accuracy"],
    "evaluate.backend": "torch",
    "evaluate.batch_size": 32,
    "sample.templates": ["A text about {}"],
    "registry.alias": "challenger",
    "train.mixed_precision": "bf16",
    "teacher.mixed_precision": "fp32",
    "distill.mixed_precision": "fp32",
}


def readers(key: str) -> set[str]:
    section = key.split(".")[0]
    return READERS[key] if key in READERS else READERS[section]


def _changed(key: str, value):
    if key in OTHER:
        return OTHER[key]
    name = key.split(".")[-1]
    if isinstance(value, bool):
        return not value
    if name == "num_epochs" and value == "auto":
        return 3
    if name == "params":
        return {**value, "C": 0.5}
    if name == "batching":
        return "pairs" if value == "groups" else "groups"
    if name in ("model", "name"):
        return "other/model"
    if name == "type":
        return "sklearn.svm.LinearSVC"
    if name == "loss":
        return "ContrastiveLoss"
    if name == "max_steps":
        return 3
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2
    return {
        "margin": 0.5,
        "distance_metric": "cosine",
        "max_length": 64,
        "multi_target_strategy": "one-vs-rest",
        "early_stopping_patience": 2,
        "num_iterations": 2,
    }[name]


def _downstream(stages: set[str]) -> set[str]:
    """The stages after ``stages`` in dvc.yaml's graph (a stage whose deps include an earlier one's outs)."""
    import networkx as nx
    from dvc.repo import Repo

    graph = Repo(str(ROOT)).index.graph
    names = {stage.addressing: stage for stage in graph.nodes}
    out = set(stages)
    for name in stages:
        out |= {s.addressing for s in nx.ancestors(graph, names[name])}
    return out


def _readme_rows() -> list[tuple[str, set[str]]]:
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `-S ([A-Za-z_.]+)=[^`]*` \| (.*) \|$", text, re.M)
    return [(key, set(re.findall(r"`([a-z_@]+)`", cell))) for key, cell in rows]


def test_the_readme_table_follows_the_readers_and_dvcs_graph():
    rows = _readme_rows()
    assert len(rows) >= 4
    for key, listed in rows:
        assert listed == _downstream(readers(key)), key


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("reruns"))
    sh(project, "dvc", "repro")
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "reproduced")
    return project


def _shipped_leaves() -> dict:
    return leaves(YAML(typ="safe", pure=True).load((ROOT / "params.yaml").read_text()))


@pytest.mark.e2e
@pytest.mark.parametrize("key", sorted(_shipped_leaves()))
def test_a_key_invalidates_exactly_the_stages_that_read_it(reproduced, key):
    from dvc.repo import Repo

    current = leaves(YAML(typ="safe", pure=True).load((reproduced / "params.yaml").read_text()))
    original = (reproduced / "params.yaml").read_text()
    try:
        set_params(reproduced, {key: _changed(key, current[key])})
        with Repo(str(reproduced)) as repo:
            invalidated = {name.rsplit(":", 1)[-1] for name in repo.status()}  # "<path>/dvc.yaml:stage"
    finally:
        (reproduced / "params.yaml").write_text(original)
    assert invalidated == readers(key)
