"""The `fewshot` command: predict from every input kind, info, and one-line errors."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny import make_texts

from fewshot.cli import main
from fewshot.model import FewShotModel


@pytest.fixture(scope="module")
def probe() -> pd.DataFrame:
    return make_texts(4, seed=11)


@pytest.fixture(scope="module")
def expected(tiny_model_dir, probe):
    model = FewShotModel.load(tiny_model_dir)
    return model, list(model.predict(probe.text)), model.predict_proba(probe.text)


def _check(out: pd.DataFrame, expected, probe) -> None:
    model, labels, proba = expected
    assert list(out["label"]) == labels
    columns = [f"proba_{label}" for label in model.labels]
    assert [c for c in out.columns if c.startswith("proba_")] == columns
    assert np.allclose(out[columns].to_numpy(), proba, atol=1e-6)
    assert list(out["text"]) == list(probe.text)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_predict_reads_and_writes_each_table_format(tiny_model_dir, probe, expected, tmp_path, suffix):
    src, dst = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    frame = probe.rename(columns={"text": "body"}).assign(id=range(len(probe)))  # and a true `label`
    if suffix == ".csv":
        frame.to_csv(src, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(src, index=False)
    else:
        frame.to_json(src, orient="records", lines=True)
    rc = main(
        [
            "predict",
            "--model",
            str(tiny_model_dir),
            "--input",
            str(src),
            "--output",
            str(dst),
            "--text-column",
            "body",
            "--batch-size",
            "3",
        ]
    )
    assert rc == 0
    read = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}
    out = read[suffix](dst)
    assert list(out["id"]) == list(range(len(probe)))  # the input's other columns are kept
    assert list(out["input_label"]) == list(probe.label)  # a clashing one is renamed, not lost
    _check(out.rename(columns={"body": "text"}), expected, probe)


def test_predict_text_lines_from_a_file_and_from_stdin(tiny_model_dir, probe, expected, tmp_path, monkeypatch, capsys):
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(probe.text) + "\n\n")  # blank lines are skipped
    assert (
        main(["predict", "--model", str(tiny_model_dir), "--input", str(lines), "--output", str(tmp_path / "o.csv")])
        == 0
    )
    _check(pd.read_csv(tmp_path / "o.csv"), expected, probe)

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(probe.text) + "\n"))
    assert main(["predict", "--model", str(tiny_model_dir)]) == 0
    _check(pd.read_csv(io.StringIO(capsys.readouterr().out)), expected, probe)

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(probe.text) + "\n"))
    assert main(["predict", "--model", str(tiny_model_dir), "--format", "jsonl"]) == 0
    _check(pd.read_json(io.StringIO(capsys.readouterr().out), lines=True), expected, probe)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_errors_are_one_line_name_the_problem_and_write_nothing(tiny_model_dir, probe, tmp_path, capsys):
    good = tmp_path / "in.csv"
    probe.to_csv(good, index=False)
    out = tmp_path / "out.csv"
    base = ["predict", "--model", str(tiny_model_dir), "--output", str(out)]
    (tmp_path / "in.xlsx").write_text("x")
    assert "unknown file type '.xlsx'" in _error(capsys, base + ["--input", str(tmp_path / "in.xlsx")])
    assert "no column 'sentence'" in _error(capsys, base + ["--input", str(good), "--text-column", "sentence"])
    assert "--text-column" in _error(capsys, base + ["--input", str(good), "--text-column", "sentence"])
    assert "no such file" in _error(capsys, base + ["--input", str(tmp_path / "missing.csv")])
    assert "not a fewshot model directory" in _error(
        capsys, ["predict", "--model", str(tmp_path), "--input", str(good)]
    )
    assert "no such directory" in _error(capsys, ["info", str(tmp_path / "nope")])
    bad_out = ["predict", "--model", str(tiny_model_dir), "--input", str(good), "--output", str(tmp_path / "o.xlsx")]
    assert "--output" in _error(capsys, bad_out)
    pd.DataFrame({"text": ["game team", None]}).to_csv(tmp_path / "holes.csv", index=False)
    assert "null or non-text value(s) in column 'text' (rows [1])" in _error(
        capsys, base + ["--input", str(tmp_path / "holes.csv")]
    )
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_info_prints_base_model_labels_params_and_metrics(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["info", str(tiny_model_dir)]) == 0
    text = capsys.readouterr().out
    assert "tiny-bert" in text and "business, sports, tech" in text and "logistic_regression" in text
    assert "metrics:     none found" in text

    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "distilled.json").write_text(
        json.dumps({"accuracy": 0.75, "f1_macro": 0.7, "per_class": {}})
    )
    assert main(["info", str(tiny_model_dir), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["metrics"]["accuracy"] == 0.75 and facts["labels"] == ["business", "sports", "tech"]
    assert facts["n_train"] == 30 and facts["head"]["params"]["max_iter"] == 1000
    assert main(["info", str(tiny_model_dir)]) == 0
    assert "accuracy 0.75" in capsys.readouterr().out


def test_the_installed_console_script_runs(tiny_model_dir, tmp_path):
    script = shutil.which("fewshot", path=str(Path(sys.executable).parent))
    assert script, "the `fewshot` console script is not installed (pip install -e .)"
    proc = subprocess.run(
        [script, "predict", "--model", str(tiny_model_dir)],
        input="game team won the cup\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("text,label,proba_business")
    bad = subprocess.run([script, "info", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not a fewshot model directory" in bad.stderr


def test_no_texts_give_an_empty_output(tiny_model_dir, tmp_path, monkeypatch, capsys):
    pd.DataFrame({"text": pd.Series([], dtype=str)}).to_parquet(tmp_path / "none.parquet")
    out = tmp_path / "none.csv"
    assert (
        main(
            ["predict", "--model", str(tiny_model_dir), "--input", str(tmp_path / "none.parquet"), "--output", str(out)]
        )
        == 0
    )
    assert out.read_text().splitlines() == ["text,label,proba_business,proba_sports,proba_tech"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n  \n"))
    assert main(["predict", "--model", str(tiny_model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == ["text,label,proba_business,proba_sports,proba_tech"]
