"""Export to setfit 1.2.0 (loaded by setfit itself), import from it only behind --trust-pickle."""

import re
from pathlib import Path

import numpy as np
import pytest
from tiny import make_texts

from fewshot.cli import main
from fewshot.errors import FormatError
from fewshot.formats.setfit import export_setfit, import_setfit
from fewshot.model import FewShotModel

setfit = pytest.importorskip("setfit", minversion="1.2.0")


@pytest.fixture(scope="module")
def probe() -> list[str]:
    return list(make_texts(5, seed=21).text)


def test_setfit_loads_the_export_and_predicts_identically(tiny_model_dir, probe, tmp_path, capsys):
    assert main(["export", "--format", "setfit", str(tiny_model_dir), str(tmp_path / "sf")]) == 0
    ours = FewShotModel.load(tiny_model_dir)
    theirs = setfit.SetFitModel.from_pretrained(str(tmp_path / "sf"))
    assert theirs.labels == ours.labels
    assert list(theirs.predict(probe)) == list(ours.predict(probe))
    assert np.allclose(np.asarray(theirs.predict_proba(probe, as_numpy=True)), ours.predict_proba(probe), atol=1e-6)
    assert "SetFitModel.from_pretrained" in (tmp_path / "sf" / "README.md").read_text()


def _setfit_model(tiny_body_dir, normalize: bool):
    """A model trained and saved by setfit itself (its head fitted on the body's embeddings)."""
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    train = make_texts(10, seed=4)
    labels = sorted(set(train.label))
    body = SentenceTransformer(str(tiny_body_dir))
    x = body.encode(list(train.text), normalize_embeddings=normalize)
    head = LogisticRegression(C=2.0, max_iter=500).fit(x, [labels.index(v) for v in train.label])
    return setfit.SetFitModel(model_body=body, model_head=head, labels=labels, normalize_embeddings=normalize)


@pytest.mark.parametrize("normalize", [False, True])
def test_import_a_setfit_model_with_trust_pickle(tiny_body_dir, probe, tmp_path, normalize, capsys):
    theirs = _setfit_model(tiny_body_dir, normalize)
    theirs.save_pretrained(str(tmp_path / "sf"))
    argv = ["import", "--format", "setfit", str(tmp_path / "sf"), str(tmp_path / "ours")]
    assert main(argv + ["--trust-pickle"]) == 0
    ours = FewShotModel.load(tmp_path / "ours")  # fewshot's own format now: no pickle in it
    assert not list((tmp_path / "ours").rglob("*.pkl"))
    assert ours.head.params["C"] == 2.0
    assert list(ours.predict(probe)) == list(theirs.predict(probe))
    assert np.allclose(ours.predict_proba(probe), theirs.predict_proba(probe, as_numpy=True), atol=1e-5)


def test_import_without_trust_pickle_is_refused_and_writes_nothing(tiny_model_dir, tmp_path, capsys):
    export_setfit(tiny_model_dir, tmp_path / "sf")
    assert main(["import", "--format", "setfit", str(tmp_path / "sf"), str(tmp_path / "ours")]) == 2
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and "pickle" in err and err.count("\n") == 1
    assert not (tmp_path / "ours").exists()
    with pytest.raises(FormatError, match="trust_pickle"):
        import_setfit(tmp_path / "sf", tmp_path / "ours")


def test_an_exported_then_imported_model_round_trips(tiny_model_dir, probe, tmp_path):
    export_setfit(tiny_model_dir, tmp_path / "sf")
    import_setfit(tmp_path / "sf", tmp_path / "back", trust_pickle=True)
    before, after = FewShotModel.load(tiny_model_dir), FewShotModel.load(tmp_path / "back")
    assert after.labels == before.labels
    assert np.allclose(after.predict_proba(probe), before.predict_proba(probe), atol=1e-6)


def test_the_only_pickle_load_in_fewshot_is_the_trusted_import():
    src = Path(__file__).resolve().parents[1] / "src" / "fewshot"
    loads = re.compile(r"\b(pickle|joblib|cloudpickle|dill|torch)\.loads?\(|\bpd\.read_pickle\(")
    found = {str(p.relative_to(src)) for p in src.rglob("*.py") if loads.search(p.read_text())}
    assert found == {"formats/setfit.py"}
    text = (src / "formats" / "setfit.py").read_text()
    assert text.index("if not trust_pickle") < text.index("joblib.load(")


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_export_never_deletes_what_it_did_not_create(tiny_model_dir, tmp_path, capsys):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(tiny_model_dir, models / "distilled")
    (models / "notes.txt").write_text("mine")
    before = _tree(models)
    # the parent of the source, the source itself, a folder inside it: refused, nothing touched
    for out in (models, models / "distilled", models / "distilled" / "sf"):
        assert main(["export", "--format", "setfit", str(models / "distilled"), str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {out}: is, holds or lies inside the source") and err.count("\n") == 1
    # an existing non-empty directory: refused unless --overwrite
    (tmp_path / "sf").mkdir()
    (tmp_path / "sf" / "keep.txt").write_text("mine")
    assert main(["export", "--format", "setfit", str(models / "distilled"), str(tmp_path / "sf")]) == 2
    assert "exists and is not empty. Fix: choose a new directory, or pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "sf" / "keep.txt").read_text() == "mine"
    assert _tree(models) == before
    argv = ["export", "--format", "setfit", str(models / "distilled"), str(tmp_path / "sf"), "--overwrite"]
    assert main(argv) == 0
    assert (tmp_path / "sf" / "model_head.pkl").exists() and not (tmp_path / "sf" / "keep.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_import_never_deletes_what_it_did_not_create(tiny_model_dir, tmp_path, capsys):
    export_setfit(tiny_model_dir, tmp_path / "sf")
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "keep.txt").write_text("mine")
    argv = ["import", "--format", "setfit", str(tmp_path / "sf"), str(tmp_path / "ours"), "--trust-pickle"]
    assert main(argv) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "ours" / "keep.txt").read_text() == "mine"
    assert main([*argv[:3], str(tmp_path / "sf"), str(tmp_path / "sf" / "inner"), "--trust-pickle"]) == 2
    assert main([*argv, "--overwrite"]) == 0
    assert (tmp_path / "ours" / "fewshot.json").exists() and not (tmp_path / "ours" / "keep.txt").exists()
