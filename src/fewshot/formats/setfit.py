"""Export a fewshot model to setfit's format, and import setfit models (only behind a trust flag).

setfit (1.x) saves a model as one directory: the Sentence-Transformers body at its root,
``config_setfit.json`` (``labels``, ``normalize_embeddings``) and ``model_head.pkl``, the sklearn head
pickled with joblib. ``setfit.SetFitModel.from_pretrained(DIR)`` reads exactly that.

- Export writes such a directory. The pickle is *written* from a LogisticRegression rebuilt from our
  safetensors weights (writing a pickle runs nothing), so setfit predicts the same labels.
- Import is the only place fewshot reads a pickle, and it refuses unless ``trust_pickle=True``:
  unpickling a file can run arbitrary code. The head is then checked to be a plain LogisticRegression
  and converted to fewshot's pickle-free format, so the imported model loads without pickle afterwards.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.errors import FormatError

SETFIT_HEAD = "model_head.pkl"
SETFIT_CONFIG = "config_setfit.json"


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def check_out(src: Path, out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an ``out`` that is, holds or lies inside the source, and an existing non-empty
    ``out`` unless ``overwrite``: an export or import never deletes what it did not create."""
    a, b = src.resolve(), out.resolve()
    if a == b or a.is_relative_to(b) or b.is_relative_to(a):
        raise FormatError(f"{out}: is, holds or lies inside the source {src}. Fix: write to a directory outside it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FormatError(f"{out}: exists and is not empty. Fix: choose a new directory, or pass --overwrite")


def export_setfit(model_dir: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``out`` so that ``setfit.SetFitModel.from_pretrained(out)`` predicts as the fewshot model does."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    from fewshot import model_dir as fmt
    from fewshot.heads import LogisticHead, load_head
    from fewshot.io import atomic_dir

    model_dir, out = fmt.check_model_dir(model_dir), Path(out)
    check_out(model_dir, out, overwrite)
    config = fmt.read_config(model_dir)
    head = load_head(model_dir)
    if not isinstance(head, LogisticHead):
        raise FormatError(f"{model_dir}: head type '{head.type}' has no setfit equivalent")
    est = head.estimator
    clf = LogisticRegression(**head.estimator_params())
    clf.coef_, clf.intercept_ = np.array(est.coef_), np.array(est.intercept_)
    clf.classes_ = np.array(est.classes_, dtype=np.int64)  # indices into labels, as setfit expects
    clf.n_features_in_ = int(est.coef_.shape[1])
    clf.n_iter_ = np.zeros(1, dtype=np.int32)
    with atomic_dir(out, replace=overwrite) as tmp:
        shutil.copytree(model_dir / fmt.BODY_DIR, tmp, dirs_exist_ok=True)
        joblib.dump(clf, tmp / SETFIT_HEAD)
        setfit_config = {"labels": config.labels, "normalize_embeddings": False}
        (tmp / SETFIT_CONFIG).write_text(json.dumps(setfit_config, indent=2) + "\n")
        (tmp / "README.md").write_text(_setfit_card(config, out.name))
    return out


def _setfit_card(config, name: str) -> str:
    labels = ", ".join(f"`{label}`" for label in config.labels)
    return "\n".join(
        [
            f"# {name}",
            "",
            "A SetFit model exported by fewshot (`fewshot export --format setfit`).",
            "",
            f"- Base model: `{config.info.get('base_model', 'unknown')}`",
            f"- Labels: {labels}",
            f"- Training texts: {config.info.get('n_train', 'unknown')}",
            "",
            "```python",
            "from setfit import SetFitModel",
            "",
            f'model = SetFitModel.from_pretrained("{name}")',
            'model.predict(["some text"])',
            "```",
            "",
        ]
    )


def import_setfit(src: str | Path, out: str | Path, trust_pickle: bool = False, overwrite: bool = False) -> Path:
    """Read a setfit model directory (its head is a pickle) and save it as a fewshot model at ``out``."""
    src, out = Path(src), Path(out)
    if not trust_pickle:
        raise FormatError(
            f"{src}: a setfit model stores its head as a pickle ({SETFIT_HEAD}), and loading a pickle can run "
            "arbitrary code. Fix: only if you trust where it came from, pass --trust-pickle (trust_pickle=True)"
        )
    if not (src / SETFIT_HEAD).is_file():
        raise FormatError(f"{src}: no {SETFIT_HEAD}; not a trained setfit model directory")
    check_out(src, out, overwrite)
    import joblib
    from sklearn.linear_model import LogisticRegression

    from fewshot.heads import LogisticHead
    from fewshot.model import FewShotModel
    from fewshot.sources import load_body

    config = json.loads((src / SETFIT_CONFIG).read_text()) if (src / SETFIT_CONFIG).is_file() else {}
    est = joblib.load(src / SETFIT_HEAD)  # the one pickle load in fewshot, behind trust_pickle
    if type(est) is not LogisticRegression:
        raise FormatError(
            f"{src}: the head is a {type(est).__module__}.{type(est).__name__}; only a plain sklearn "
            "LogisticRegression head (setfit's default) can be imported"
        )
    classes = list(est.classes_)
    labels = config.get("labels")
    if labels and all(isinstance(c, (int, np.integer)) and 0 <= c < len(labels) for c in classes):
        indices = np.array(classes, dtype=np.int64)  # setfit maps the head's ints to labels[int]
    else:
        labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
        indices = np.arange(len(classes), dtype=np.int64)
    defaults = LogisticRegression().get_params()
    params = {k: v for k, v in est.get_params().items() if v != defaults.get(k) and _json_safe(v)}
    params["C"] = float(est.C)  # the C it was fitted with, not C: auto's search
    head = LogisticHead.from_weights(params, est.coef_, est.intercept_, indices, len(labels))

    body = load_body(str(src), field=str(src))
    if config.get("normalize_embeddings"):
        from sentence_transformers.models import Normalize

        body.append(Normalize())
    info = {"base_model": f"setfit:{src.name}", "imported_from": "setfit"}
    FewShotModel(body, head, labels, info).save(out, overwrite=overwrite)
    return out
