"""Synthetic examples made from the label names: zero-shot training, or priming a few-shot set.

setfit's ``get_templated_dataset``: each label name is put into a template (``"This sentence is {}"``) and
the text is added ``per_class`` times with that label. With several templates, a label's examples take
them in turn (example i uses template i mod the number of templates). With no labelled texts at all, these
examples are the whole training set (zero-shot from the label names); next to a few-shot draw they prime
every class, the ones with few texts included.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from fewshot.arguments import DEFAULT_TEMPLATE
from fewshot.errors import DataError
from fewshot.labels import is_multi_label


def check_templates(templates: Sequence[str], name: str = "sample.templates") -> None:
    """Each template must hold one ``{}``, where the label name goes."""
    if not templates:
        raise DataError(f"{name} is empty. Fix: give at least one template such as {DEFAULT_TEMPLATE!r}")
    for template in templates:
        if not isinstance(template, str) or template.count("{}") != 1:
            raise DataError(
                f"{name}: {template!r} must hold exactly one '{{}}' (where the label name goes), "
                f"e.g. {DEFAULT_TEMPLATE!r}"
            )


def label_set(labels: pd.Series, label_names: Sequence[str] | None = None) -> list:
    """The classes to make examples for: ``label_names`` in their order when given, else the labels seen
    (of a multi-label column: every label in any row), sorted."""
    if label_names is not None:
        return list(label_names)
    seen = {v for row in labels for v in (row if is_multi_label(row) else [row])}
    return sorted(seen, key=str)


def templated_examples(
    labels: Sequence,
    templates: Sequence[str] = (DEFAULT_TEMPLATE,),
    per_class: int = 2,
    multi_label: bool = False,
) -> pd.DataFrame:
    """``per_class`` examples for each of ``labels`` (columns ``text`` and ``label``), in label order; a
    multi-label example's label is the one-element list of its label."""
    check_templates(templates)
    rows = [
        {"text": templates[i % len(templates)].format(label), "label": [label] if multi_label else label}
        for label in labels
        for i in range(per_class)
    ]
    return pd.DataFrame(rows, columns=["text", "label"])
