"""The MLflow model: built from code (no pickled object), registered, served over REST, a Spark UDF."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from tiny import make_texts

from fewshot.formats import pyfunc
from fewshot.model import FewShotModel


@pytest.fixture(scope="module")
def probe() -> list[str]:
    return list(make_texts(6, seed=31).text)


@pytest.fixture(scope="module")
def pyfunc_dir(tiny_model_dir, tmp_path_factory) -> Path:
    return pyfunc.save_pyfunc(tiny_model_dir, tmp_path_factory.mktemp("pyfunc") / "model", input_example=["game team"])


def test_loaded_pyfunc_predicts_the_same_labels_and_holds_no_pickle(pyfunc_dir, tiny_model_dir, probe):
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(str(pyfunc_dir))
    expected = list(FewShotModel.load(tiny_model_dir).predict(probe))
    assert loaded.predict(pd.DataFrame({"text": probe}))["label"].tolist() == expected
    assert loaded.predict(pd.DataFrame({"text": probe}), params={"batch_size": 2})["label"].tolist() == expected

    files = {p.relative_to(pyfunc_dir).as_posix() for p in pyfunc_dir.rglob("*") if p.is_file()}
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    assert {"MLmodel", "input_example.json", "requirements.txt", "pyfunc_entry.py"} <= files
    assert "code/fewshot/model.py" in files and "artifacts/distilled/head.safetensors" in files
    signature = loaded.metadata.get_input_schema().to_dict()
    assert signature == [{"type": "string", "name": "text", "required": True}]
    assert loaded.metadata.get_output_schema().input_names() == ["label"]
    requirements = (pyfunc_dir / "requirements.txt").read_text().split()
    assert any(r.startswith("sentence-transformers==") for r in requirements)
    assert any(r.startswith("torch==") for r in requirements)


def test_a_frame_without_a_text_column_is_a_clear_error(pyfunc_dir):
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="text"):
        mlflow.pyfunc.load_model(str(pyfunc_dir)).predict(pd.DataFrame({"sentence": ["a"], "other": ["b"]}))


def test_log_and_register_then_load_by_registry_uri(tiny_model_dir, probe, tmp_path):
    import mlflow
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    uri = os.environ["MLFLOW_TRACKING_URI"]
    client = MlflowClient(uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(exp)
    info = pyfunc.log_pyfunc(tiny_model_dir, run.info.run_id, uri, registered_name="fewshot")
    assert info.registered_model_version == 1
    mlflow.set_tracking_uri(uri)
    loaded = mlflow.pyfunc.load_model("models:/fewshot/1")
    assert loaded.predict(pd.DataFrame({"text": probe}))["label"].tolist() == list(
        FewShotModel.load(tiny_model_dir).predict(probe)
    )


def test_register_stage_logs_registers_and_writes_a_stable_summary(tiny_model_dir, tmp_path, probe):
    import mlflow
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    (tmp_path / "params.yaml").write_text("registry:\n  model: distilled\n  name: topics\n")
    metrics = {"accuracy": 0.5, "f1_macro": 0.25, "n": 12}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DVC_ROOT": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI")  # the pipeline's own store: $DVC_ROOT/mlflow.db
    cmd = [
        sys.executable,
        str(ROOT / "stages" / "register.py"),
        str(tiny_model_dir),
        "metrics.json",
        "out/registered.json",
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "models:/topics/1" in proc.stdout
    summary = json.loads((tmp_path / "out" / "registered.json").read_text())
    assert summary == {
        "name": "topics",
        "model": "distilled",
        "source": str(tiny_model_dir),
        "metrics": {"accuracy": 0.5, "f1_macro": 0.25},
    }

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    version = client.get_model_version("topics", "1")
    run = client.get_run(version.run_id)
    assert run.data.tags["dvc.stage"] == "register" and run.data.params["registry.model"] == "distilled"
    mlflow.set_tracking_uri(uri)
    local = Path(mlflow.artifacts.download_artifacts("models:/topics/1", dst_path=str(tmp_path / "dl")))
    card = (local / "artifacts" / "distilled" / "README.md").read_text()
    assert "## Metrics" in card and "| accuracy | 0.5 |" in card
    assert json.loads((local / "artifacts" / "distilled" / "metrics.json").read_text()) == metrics
    assert mlflow.pyfunc.load_model(str(local)).predict(pd.DataFrame({"text": probe}))["label"].tolist() == list(
        FewShotModel.load(tiny_model_dir).predict(probe)
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@pytest.mark.serve
def test_mlflow_models_serve_answers_invocations_with_labels(pyfunc_dir, tiny_model_dir, probe, tmp_path):
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    assert mlflow_cli, "the mlflow command is not installed next to this python"
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            str(pyfunc_dir),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, (
                "server did not answer /ping:\n" + (tmp_path / "serve.log").read_text()[-3000:]
            )
            time.sleep(0.5)
        expected = list(FewShotModel.load(tiny_model_dir).predict(probe))
        records = _post(f"{base}/invocations", {"dataframe_records": [{"text": t} for t in probe]})
        assert [row["label"] for row in records["predictions"]] == expected
        split = _post(f"{base}/invocations", {"dataframe_split": {"columns": ["text"], "data": [[t] for t in probe]}})
        assert split == records
        with pytest.raises(urllib.error.HTTPError) as bad:
            _post(f"{base}/invocations", {"dataframe_records": [{"sentence": "a", "other": "b"}]})
        assert bad.value.code == 400
    finally:
        for sig, wait in ((15, 30), (9, None)):  # the server and its workers: their own process group
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.mark.spark
def test_spark_udf_scores_a_dataframe_like_the_python_api(pyfunc_dir, tiny_model_dir, monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers use this venv
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("pyspark needs Java 17+")
    import mlflow.pyfunc
    from pyspark.sql import SparkSession

    texts = list(make_texts(100, seed=41).text)  # 300 rows
    expected = list(FewShotModel.load(tiny_model_dir).predict(texts))
    spark = (
        SparkSession.builder.master("local[1]")  # one worker: one model load; fast enough for CI
        .appName("fewshot-test")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        frame = spark.createDataFrame(pd.DataFrame({"id": range(len(texts)), "text": texts}))
        udf = mlflow.pyfunc.spark_udf(spark, str(pyfunc_dir), result_type="string", env_manager="local")
        scored = frame.withColumn("label", udf("text")).orderBy("id").toPandas()
    finally:
        spark.stop()
    assert len(scored) == 300
    assert scored["label"].tolist() == expected


def test_registry_params_name_a_model_directory():
    from fewshot.pipeline.params import ParamsError, parse_params

    assert parse_params({}).registry.model == "distilled" and parse_params({}).registry.name == "fewshot"
    with pytest.raises(ParamsError, match="registry.model"):
        parse_params({"registry": {"model": "../models/x"}})
    with pytest.raises(ParamsError, match="did you mean 'model'"):
        parse_params({"registry": {"modle": "student"}})


LOAD_AND_PREDICT = """
import json, sys
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
model.predict(pd.DataFrame({"text": ["game team won", "bank oil prices"]}))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.parametrize(
    "head",
    [
        {},
        {"type": "differentiable", "params": {}},
        {"type": "sklearn.svm.LinearSVC"},
        {"multi_target_strategy": "one-vs-rest"},
    ],
    ids=["logistic", "differentiable", "sklearn", "multi-label"],
)
def test_the_requirements_list_every_package_the_saved_model_imports(tiny_body_dir, tmp_path, head):
    """What loading and predicting imports, of the packages fewshot's code imports, is in requirements.txt
    (a skops head needs skops wherever MLflow builds the environment from it)."""
    import ast
    import importlib.metadata

    from fewshot.heads import HeadArguments, make_head
    from fewshot.sources import load_body

    texts = make_texts(6, seed=1)
    labels = [[v] for v in texts.label] if head.get("multi_target_strategy") else list(texts.label)
    args = HeadArguments(**head)
    model = FewShotModel.fit(
        load_body(str(tiny_body_dir)),
        texts.text,
        labels,
        make_head(args, multi_label=True if head.get("multi_target_strategy") else False),
    )
    model.save(tmp_path / "m")
    saved = pyfunc.save_pyfunc(tmp_path / "m", tmp_path / "pyfunc")
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(saved)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    ours = set()
    for path in (ROOT / "src" / "fewshot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                ours |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                ours.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    needed = {d.lower() for m in (ours & loaded) - {"fewshot", "mlflow"} for d in providers.get(m, [])}
    listed = {line.split("==")[0].strip().lower() for line in (saved / "requirements.txt").read_text().splitlines()}
    assert needed <= listed, sorted(needed - listed)
