"""Load labelled text data into a frame with ``text`` and ``label``, validate it, sample it.

Sources: Parquet, CSV, JSON Lines (local files), or a Hugging Face dataset id (``name`` or
``name:split``), which is fetched only when the hub is reachable.
"""

from __future__ import annotations

from fewshot.errors import FewshotError

import os
from pathlib import Path

import numpy as np
import pandas as pd

TEXT, LABEL = "text", "label"
FILE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}


class DataError(FewshotError):
    """Input data that cannot be used; the message names the field and the fix."""


def _read_file(path: Path) -> pd.DataFrame:
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind == "csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if kind == "jsonl":
        return pd.read_json(path, lines=True)
    raise DataError(
        f"{path}: unknown file type '{path.suffix}'; use one of {', '.join(sorted(FILE_SUFFIXES))}"
    )


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


def read_table(ref: str | Path) -> pd.DataFrame:
    """Read a local Parquet/CSV/JSONL file, or a Hugging Face dataset id (``name[:split]``)."""
    path = Path(ref)
    if path.exists():
        return _read_file(path)
    if path.suffix.lower() in FILE_SUFFIXES or str(ref).startswith((".", "/")):
        raise DataError(f"{ref}: file not found. Fix: check data.train/data.test in params.yaml")
    return _read_hub(str(ref))


def load_labeled(
    ref: str | Path, text_column: str = TEXT, label_column: str = LABEL, name: str = "data"
) -> pd.DataFrame:
    """Load a labelled table and return a validated frame with columns ``text`` and ``label``."""
    df = read_table(ref)
    return validate(df, text_column, label_column, name=f"{name} ({ref})")


def validate(df: pd.DataFrame, text_column: str = TEXT, label_column: str = LABEL, name: str = "data") -> pd.DataFrame:
    """Check columns, texts and labels; return ``text``/``label`` columns with a fresh index."""
    for field, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in df.columns:
            raise DataError(
                f"{name}: no column '{column}' (data.{field}); columns are {list(df.columns)}. "
                f"Fix: set data.{field} to one of them"
            )
    out = pd.DataFrame({TEXT: df[text_column], LABEL: df[label_column]}).reset_index(drop=True)
    texts = out[TEXT]
    bad = texts.isna() | ~texts.map(lambda t: isinstance(t, str)) | (texts.astype(str).str.strip() == "")
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        raise DataError(
            f"{name}: {int(bad.sum())} empty, null or non-text value(s) in column '{text_column}' "
            f"(rows {rows}{', ...' if bad.sum() > 5 else ''}). Fix: drop or fill those rows"
        )
    if out[LABEL].isna().any():
        rows = np.flatnonzero(out[LABEL].isna().to_numpy())[:5].tolist()
        raise DataError(
            f"{name}: {int(out[LABEL].isna().sum())} null label(s) in column '{label_column}' "
            f"(rows {rows}). Fix: drop those rows or give them a label"
        )
    if out[LABEL].nunique() < 2:
        raise DataError(
            f"{name}: only one class ({out[LABEL].iloc[0]!r}) in column '{label_column}'; "
            "a classifier needs at least two. Fix: add examples of another class"
        )
    return out


def sample(
    df: pd.DataFrame, num_samples: int, seed: int = 42, allow_fewer: bool = False
) -> pd.DataFrame:
    """Few-shot sample: shuffle with the seed, keep up to ``num_samples`` per label.

    The draw equals ``setfit.sample_dataset`` (shuffle with ``np.random.default_rng(seed)``,
    ``DataFrame.sample(random_state=seed)`` within each label in sorted label order, then a final
    seeded shuffle), so both libraries train on the same texts. Unlike setfit, a label with fewer
    than ``num_samples`` examples is an error unless ``allow_fewer``.
    """
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
        group.sample(min(num_samples, len(group)), random_state=seed)
        for _, group in shuffled.groupby(LABEL, sort=True)
    ]
    few = pd.concat(parts).reset_index(drop=True)
    return few.iloc[np.random.default_rng(seed).permutation(len(few))].reset_index(drop=True)


def unlabeled_pool(train: pd.DataFrame, few_shot: pd.DataFrame, size: int, seed: int = 42) -> pd.DataFrame:
    """Up to ``size`` distinct train texts not in the few-shot set, labels dropped, seeded order."""
    taken = set(few_shot[TEXT])
    rest = train.loc[~train[TEXT].isin(taken), TEXT].drop_duplicates().reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(rest))[: min(size, len(rest))]
    return pd.DataFrame({TEXT: rest.iloc[order].to_numpy()})
