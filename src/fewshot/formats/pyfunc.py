"""A fewshot model as an MLflow pyfunc model: logged, registered, served, used as a Spark UDF.

The MLflow model is built from code, not from a pickled object: its ``python_model`` is the small
file ``fewshot/formats/pyfunc_entry.py`` (it calls ``mlflow.models.set_model(FewShotPyfunc())``), its one
artifact is the saved model directory (body, safetensors head, labels: loading runs no pickle), and
the fewshot package itself travels in the model's ``code/`` folder, so a Spark cluster or a serving
host needs only the pinned pip requirements, not fewshot.

Input: a DataFrame with a string column ``text`` (REST: ``{"dataframe_records": [{"text": ...}]}``).
Output: a DataFrame with one column ``label``. The body runs on the backend the model directory records
(the one the pipeline evaluated it with, :mod:`fewshot.backends`); ``model_config={"backend": ...}`` at
load time chooses another.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fewshot.errors import FormatError

try:  # the class must exist where mlflow is installed; the module must import where it is not
    from mlflow.pyfunc import PythonModel as _Base
except ImportError:  # pragma: no cover
    _Base = object

TEXT_COLUMN = "text"
LABEL_COLUMN = "label"
ENTRY = Path(__file__).with_name("pyfunc_entry.py")
REQUIREMENTS = (
    "torch",
    "sentence-transformers",
    "transformers",
    "safetensors",
    "onnxruntime",  # the onnx backends (the one a pipeline model records serves by default)
    "tokenizers",
    "scikit-learn",
    "skops",  # heads saved with skops: any sklearn classifier by name, multi-label heads
    "numpy",
    "scipy",
    "joblib",
    "pandas",
    "pyarrow",
    "filelock",
    "pydantic",
    "ruamel.yaml",
    "datasets",
    "tqdm",
)


class FewShotPyfunc(_Base):
    """``mlflow.pyfunc`` wrapper of a :class:`fewshot.FewShotModel` (artifact ``model``: its directory)."""

    def load_context(self, context) -> None:
        from fewshot.model import FewShotModel

        config = context.model_config or {}
        # the backend the model directory records (the one it was evaluated with), unless model_config names one
        self.model = FewShotModel.load(context.artifacts["model"], backend=config.get("backend"))
        self.batch_size = config.get("batch_size")  # None: the backend's (fewshot.arguments.EMBED_BATCH_SIZES)

    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        import pandas as pd

        texts = _texts(model_input)
        batch_size = (params or {}).get("batch_size") or self.batch_size
        batch_size = int(batch_size) if batch_size else None
        labels = self.model.predict(texts, batch_size=batch_size, show_progress_bar=False) if texts else []
        return pd.DataFrame({LABEL_COLUMN: list(labels)})


def _texts(model_input) -> list[str]:
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN in model_input.columns:
            column = model_input[TEXT_COLUMN]
        elif model_input.shape[1] == 1:
            column = model_input.iloc[:, 0]
        else:
            cols = ", ".join(map(str, model_input.columns))
            raise FormatError(f"input: no column '{TEXT_COLUMN}' (columns: {cols}). Fix: name the text column 'text'")
        return column.astype(str).tolist()
    if isinstance(model_input, str):
        return [model_input]
    return [str(t) for t in list(model_input)]


def _pinned(names: tuple[str, ...]) -> list[str]:
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name).split('+')[0]}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def _signature(labels: list) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    kind = "long" if labels and all(isinstance(v, int) and not isinstance(v, bool) for v in labels) else "string"
    return ModelSignature(
        inputs=Schema([ColSpec("string", TEXT_COLUMN)]),
        outputs=Schema([ColSpec(kind, LABEL_COLUMN)]),
        params=ParamSchema([ParamSpec("batch_size", "long", 0)]),  # 0: the backend's
    )


def _package_copy(tmp: Path) -> Path:
    """The fewshot package, without caches, for the model's ``code/`` folder."""
    out = tmp / "fewshot"
    shutil.copytree(Path(__file__).parents[1], out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return out


def _model_kwargs(model_dir: Path, tmp: Path, input_example: list[str] | None) -> dict[str, Any]:
    import pandas as pd

    from fewshot.model_dir import read_config

    labels = read_config(model_dir).labels
    example = input_example or ["Stocks rallied after the central bank's decision"]
    return dict(
        python_model=str(ENTRY),
        artifacts={"model": str(model_dir)},
        code_paths=[str(_package_copy(tmp))],
        signature=_signature(labels),
        input_example=pd.DataFrame({TEXT_COLUMN: example}),
        pip_requirements=_pinned(REQUIREMENTS) + _pinned(("mlflow",)),
    )


def save_pyfunc(model_dir: str | Path, path: str | Path, input_example: list[str] | None = None) -> Path:
    """Write an MLflow model directory for ``model_dir`` at ``path`` (no tracking store involved)."""
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*type hints.*")  # the signature is given explicitly
        mlflow.pyfunc.save_model(str(path), **_model_kwargs(Path(model_dir), Path(tmp), input_example))
    return Path(path)


def log_pyfunc(
    model_dir: str | Path,
    run_id: str,
    tracking_uri: str,
    registered_name: str | None = None,
    input_example: list[str] | None = None,
    name: str = "model",
):
    """Log ``model_dir`` as a pyfunc model in run ``run_id`` and, if ``registered_name``, register it.

    Returns mlflow's ModelInfo (``model_uri``, ``registered_model_version``)."""
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*type hints.*")  # the signature is given explicitly
        kwargs = _model_kwargs(Path(model_dir), Path(tmp), input_example)
        return mlflow.pyfunc.log_model(name=name, registered_model_name=registered_name, **kwargs)
