"""Load labelled text data into a frame with ``text`` and ``label``, validate it, sample it.

Sources: Parquet, CSV, JSON Lines (local files), or a Hugging Face dataset id (``name`` or
``name:split``), which is fetched only when the hub is reachable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fewshot import io
from fewshot.arguments import SampleArguments
from fewshot.errors import DataError
from fewshot.labels import is_multi_label

TEXT, LABEL = "text", "label"
DROP_INVALID = "sample.drop_invalid: true"  # the param that drops rows validate would refuse
FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".jsonl", ".json")


def _read_hub(ref: str) -> pd.DataFrame:
    name, _, split = ref.partition(":")
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True", "YES", "yes"):
        raise DataError(
            f"'{ref}' is neither a local file nor reachable: HF_HUB_OFFLINE is set. "
            "Fix: point data.train/data.test at a Parquet, CSV or JSON Lines file"
        )
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split or "train")
    except Exception as err:  # the hub raises many types; all mean the same to the user
        raise DataError(
            f"'{ref}' is not a local file, and loading it as a Hugging Face dataset failed ({err}). "
            "Fix: point data.train/data.test at a Parquet, CSV or JSON Lines file"
        ) from None
    return ds.to_pandas()


def read_table(ref: str | Path, name: str = "data") -> pd.DataFrame:
    """Read a local Parquet/CSV/JSONL file, or a Hugging Face dataset id (``name[:split]``); ``name``: the
    key it came from (``data.train``), which an unreadable file's one-line error names."""
    path = Path(ref)
    if path.exists():
        if path.suffix.lower() not in FILE_SUFFIXES:
            raise DataError(
                f"{name} '{path}': unknown file type '{path.suffix}'. Fix: use one of {', '.join(FILE_SUFFIXES)}"
            )
        return io.read_table(path, name)
    if path.suffix.lower() in FILE_SUFFIXES or str(ref).startswith((".", "/")):
        raise DataError(f"{ref}: file not found. Fix: check {name} in params.yaml")
    return _read_hub(str(ref))


def load_labeled(
    ref: str | Path,
    text_column: str = TEXT,
    label_column: str = LABEL,
    name: str = "data",
    label_names: list[str] | None = None,
    drop_invalid: bool = False,
) -> pd.DataFrame:
    """Load a labelled table and return a validated frame with columns ``text`` and ``label`` (see
    :func:`validate`)."""
    df = read_table(ref, name)
    return validate(df, text_column, label_column, f"{name} ({ref})", label_names, drop_invalid)


def name_labels(labels: pd.Series, label_names: list[str] | None, name: str = "data") -> pd.Series:
    """Map labels to names: an integer ``i`` to ``label_names[i]``; a multi-hot row (0/1 per label, as
    long as ``label_names``) or a list of labels (each mapped the same way) to a sorted list of names."""
    multi = labels.map(is_multi_label).any()
    names = list(label_names) if label_names is not None else None

    def one(v):
        if names is None:
            return v
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            if str(v) in names:
                return str(v)
            raise DataError(f"{name}: label {v!r} is neither an index into data.label_names nor one of them")
        if not 0 <= int(v) < len(names):
            raise DataError(
                f"{name}: label {int(v)} has no name: data.label_names has {len(names)} entries. "
                "Fix: add the missing names to data.label_names"
            )
        return names[int(v)]

    if not multi:
        return labels.map(one) if names is not None else labels

    def row(v):
        values = list(v) if is_multi_label(v) else [v]
        hot = (
            names is not None
            and len(values) == len(names)
            and all(isinstance(x, (int, np.integer, bool, np.bool_)) and int(x) in (0, 1) for x in values)
        )
        if hot:
            return sorted(names[i] for i, x in enumerate(values) if int(x) == 1)
        return sorted({one(x) if names is not None else x for x in values}, key=str)

    return labels.map(row)


def invalid_texts(texts: pd.Series) -> np.ndarray:
    """True where a text cannot be classified: null, not a string, empty or blank."""
    texts = pd.Series(texts).reset_index(drop=True)
    kept = texts.map(lambda t: isinstance(t, str) and bool(t.strip()))
    return ~kept.to_numpy(dtype=bool)


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    return f"rows {rows[:5].tolist()}{', ...' if len(rows) > 5 else ''}"


def check_texts(texts: pd.Series, name: str, column: str, fix: str = "drop or fill those rows") -> None:
    """The one rule for texts, whatever the file format: an empty, blank, null or non-text value is a
    DataError naming ``name`` (the file or key), the column and the rows (counted from 0)."""
    bad = invalid_texts(texts)
    if bad.any():
        raise DataError(
            f"{name}: {int(bad.sum())} empty, blank, null or non-text value(s) in column '{column}' "
            f"({_rows(bad)}). Fix: {fix}"
        )


def validate(
    df: pd.DataFrame,
    text_column: str = TEXT,
    label_column: str = LABEL,
    name: str = "data",
    label_names: list[str] | None = None,
    drop_invalid: bool = False,
) -> pd.DataFrame:
    """Check columns, texts and labels; return ``text``/``label`` columns with a fresh index.

    Labels are named with ``label_names`` (see :func:`name_labels`); a label column of lists (or
    multi-hot rows) makes the data multi-label: each label is then a sorted list of names. A row whose
    text is empty, blank, null or not a string, or whose label is null, is refused with its row number;
    ``drop_invalid`` drops such rows instead (the caller counts them: fewer rows come back).
    """
    for field, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in df.columns:
            raise DataError(
                f"{name}: no column '{column}' (data.{field}); columns are {list(df.columns)}. "
                f"Fix: set data.{field} to one of them"
            )
    out = pd.DataFrame({TEXT: df[text_column], LABEL: df[label_column]}).reset_index(drop=True)
    missing = out[LABEL].map(lambda v: False if is_multi_label(v) else bool(pd.isna(v))).to_numpy(dtype=bool)
    if drop_invalid:
        out = out.loc[~(invalid_texts(out[TEXT]) | missing)].reset_index(drop=True)
    check_texts(out[TEXT], name, text_column, f"drop or fill those rows, or set {DROP_INVALID} to drop them")
    if missing.any() and not drop_invalid:
        raise DataError(
            f"{name}: {int(missing.sum())} null label(s) in column '{label_column}' ({_rows(missing)}). "
            f"Fix: drop those rows or give them a label, or set {DROP_INVALID} to drop them"
        )
    multi = out[LABEL].map(is_multi_label).any()
    out[LABEL] = name_labels(out[LABEL], label_names, name)
    if multi:
        if len({v for row in out[LABEL] for v in row}) < 2:
            raise DataError(f"{name}: fewer than two labels in column '{label_column}'; a classifier needs two")
        return out
    if out[LABEL].nunique() < 2:
        raise DataError(
            f"{name}: only one class ({out[LABEL].iloc[0]!r}) in column '{label_column}'; "
            "a classifier needs at least two. Fix: add examples of another class"
        )
    return out


def sample(df: pd.DataFrame, num_samples: int, seed: int = 42, allow_fewer: bool = False) -> pd.DataFrame:
    """Few-shot sample: shuffle with the seed, keep up to ``num_samples`` per label.

    The draw equals ``setfit.sample_dataset`` (shuffle with ``np.random.default_rng(seed)``,
    ``DataFrame.sample(random_state=seed)`` within each label in sorted label order, then a final
    seeded shuffle), so both libraries train on the same texts. Unlike setfit, a label with fewer
    than ``num_samples`` examples is an error unless ``allow_fewer``.
    """
    if df[LABEL].map(is_multi_label).any():
        return _sample_multi(df, num_samples, seed, allow_fewer)
    counts = df[LABEL].value_counts()
    short = counts[counts < num_samples]
    if len(short) and not allow_fewer:
        detail = ", ".join(f"{label!r} has {n}" for label, n in sorted(short.items(), key=lambda kv: str(kv[0])))
        raise DataError(
            f"sample.num_samples={num_samples} but {detail}. "
            "Fix: lower sample.num_samples, add examples, or set sample.allow_fewer: true"
        )
    shuffled = df.iloc[np.random.default_rng(seed).permutation(len(df))].reset_index(drop=True)
    parts = [
        group.sample(min(num_samples, len(group)), random_state=seed) for _, group in shuffled.groupby(LABEL, sort=True)
    ]
    few = pd.concat(parts).reset_index(drop=True)
    return few.iloc[np.random.default_rng(seed).permutation(len(few))].reset_index(drop=True)


def _sample_multi(df: pd.DataFrame, num_samples: int, seed: int, allow_fewer: bool) -> pd.DataFrame:
    """Multi-label few-shot sample: shuffle with the seed; for each label in sorted order, keep the first
    texts carrying it until it has ``num_samples`` (texts already kept count for all their labels)."""
    shuffled = df.iloc[np.random.default_rng(seed).permutation(len(df))].reset_index(drop=True)
    label_sets = [set(row) for row in shuffled[LABEL]]
    all_labels = sorted({v for s in label_sets for v in s}, key=str)
    kept: set[int] = set()
    have = dict.fromkeys(all_labels, 0)
    for label in all_labels:
        for i, labels in enumerate(label_sets):
            if have[label] >= num_samples:
                break
            if label in labels and i not in kept:
                kept.add(i)
                for v in labels:
                    have[v] += 1
    short = {k: v for k, v in have.items() if v < num_samples}
    if short and not allow_fewer:
        detail = ", ".join(f"{k!r} has {v}" for k, v in short.items())
        raise DataError(
            f"sample.num_samples={num_samples} but {detail}. "
            "Fix: lower sample.num_samples, add examples, or set sample.allow_fewer: true"
        )
    few = shuffled.iloc[sorted(kept)].reset_index(drop=True)
    return few.iloc[np.random.default_rng(seed).permutation(len(few))].reset_index(drop=True)


def validation_split(train: pd.DataFrame, few_shot: pd.DataFrame, texts_per_class: int, seed: int = 42) -> pd.DataFrame:
    """Up to ``texts_per_class`` texts per class from the train data, none in the few-shot set, for validating
    the head phase (the few-shot draw itself is unchanged)."""
    if texts_per_class == 0:
        return train.iloc[:0].reset_index(drop=True)
    rest = train.loc[~train[TEXT].isin(set(few_shot[TEXT]))].reset_index(drop=True)
    return sample(rest, texts_per_class, seed, allow_fewer=True)


def unlabeled_pool(train: pd.DataFrame, few_shot: pd.DataFrame, size: int, seed: int = 42) -> pd.DataFrame:
    """Up to ``size`` distinct train texts not in the few-shot set, labels dropped, seeded order."""
    taken = set(few_shot[TEXT])
    rest = train.loc[~train[TEXT].isin(taken), TEXT].drop_duplicates().reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(rest))[: min(size, len(rest))]
    return pd.DataFrame({TEXT: rest.iloc[order].to_numpy()})


@dataclass
class FewShotSplit:
    train: pd.DataFrame  # the few-shot texts, then the synthetic examples
    validation: pd.DataFrame
    unlabeled: pd.DataFrame
    n_synthetic: int = 0


def split(train: pd.DataFrame, args: SampleArguments | None = None) -> FewShotSplit:
    """The few-shot train set (with ``args.synthetic`` examples per class from the label names after the
    drawn texts), the validation texts and the unlabeled pool, drawn from ``train``."""
    from fewshot.synthetic import label_set, templated_examples

    args = args or SampleArguments()
    if args.num_samples == 0 and args.synthetic == 0:
        raise DataError(
            "sample.num_samples and sample.synthetic are both 0: nothing to train on. Fix: set "
            "sample.synthetic (examples per class made from the label names) or sample.num_samples"
        )
    few_shot = sample(train, args.num_samples, args.seed, args.allow_fewer)
    made = templated_examples(
        label_set(train[LABEL]), args.templates, args.synthetic, bool(train[LABEL].map(is_multi_label).any())
    )
    return FewShotSplit(
        train=pd.concat([few_shot, made], ignore_index=True) if len(made) else few_shot,
        validation=validation_split(train, few_shot, args.validation, args.seed),
        unlabeled=unlabeled_pool(train, few_shot, args.unlabeled, args.seed),
        n_synthetic=len(made),
    )
