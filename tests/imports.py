"""The import graph of src/fewshot, read from the source (every ``import`` and ``from fewshot... import``,
at module level or inside a function): for the structure test and the DVC code-deps test."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src" / "fewshot"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The fewshot modules a file names in its imports, most specific first (``from fewshot.heads import
    make_head``: fewshot.heads; ``from fewshot import model_dir``: fewshot.model_dir). The packages Python
    imports on the way are added by :func:`closure`, not here: they are no edge of a cycle."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "fewshot":
                found.add(max((m for m in _prefixes(name) if m in MODULES), key=len))
    return found


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


GRAPH: dict[str, set[str]] = {name: imported(path) - {name} for name, path in MODULES.items()}


def closure(start: set[str]) -> set[str]:
    """Every module reached from ``start``, with the packages Python imports on the way (``fewshot.heads``
    for ``fewshot.heads.base``)."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += GRAPH[name] | {p for p in _prefixes(name) if p in MODULES}
    return seen
