"""The inference backends: the body exported to ONNX (fp32 and int8) embeds as the torch body does, the
export is byte-identical for the same body, and a model served by ONNX Runtime loads and predicts without
torch (a subprocess in which importing torch fails)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT
from tiny import PROBE, make_texts

from fewshot.arguments import BACKENDS, EMBED_BATCH_SIZES, GPU_EMBED_BATCH_SIZE, embed_batch_size
from fewshot.backends import EXPORTER, EXPORTERS, MODEL_FILES, ONNX, ONNX_INT8, TORCH, OnnxBody, export_body
from fewshot.embeddings import encode
from fewshot.errors import ModelError
from fewshot.model import FewShotModel
from fewshot.model_dir import copy_with_backend

TEXTS = make_texts(6, seed=5).text.tolist() + ["", "  padded  ", "game " * 80]  # empty, stripped, truncated


@pytest.fixture(scope="module")
def exported(tiny_body_dir, tmp_path_factory):
    from fewshot.sources import load_body

    return export_body(load_body(str(tiny_body_dir)), tmp_path_factory.mktemp("onnx") / "onnx", [ONNX, ONNX_INT8])


def _cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_onnx_fp32_embeds_as_torch_and_int8_stays_close(tiny_body, exported):
    reference = encode(tiny_body, TEXTS, batch_size=4)
    fp32 = encode(OnnxBody(exported, ONNX), TEXTS, batch_size=4)
    int8 = encode(OnnxBody(exported, ONNX_INT8), TEXTS, batch_size=4)
    assert fp32.shape == int8.shape == reference.shape and fp32.dtype == np.float32
    assert np.abs(fp32 - reference).max() < 1e-5
    assert _cosine(int8, reference).min() > 0.98
    assert np.abs(int8 - reference).max() > 1e-5  # quantised: not the fp32 model under another name


@pytest.mark.parametrize("exporter", [e for e in EXPORTERS if e != EXPORTER])
def test_every_exporter_embeds_as_torch(tiny_body, exported, exporter, tmp_path):
    """The default exporter (the fixture's) and the other one give the torch body's embeddings, and the
    same int8 embeddings within quantisation noise."""
    other = export_body(tiny_body, tmp_path / exporter, [ONNX, ONNX_INT8], exporter=exporter)
    reference = encode(tiny_body, TEXTS, batch_size=4)
    assert np.abs(encode(OnnxBody(other, ONNX), TEXTS, batch_size=3) - reference).max() < 1e-5
    int8 = [encode(OnnxBody(d, ONNX_INT8), TEXTS, batch_size=3) for d in (exported, other)]
    assert _cosine(*int8).min() > 0.98


def test_an_unknown_exporter_is_refused(tiny_body, tmp_path):
    with pytest.raises(ModelError, match="exporter 'tflite'"):
        export_body(tiny_body, tmp_path / "out", exporter="tflite")
    assert not (tmp_path / "out").exists()


def test_the_embeddings_do_not_depend_on_the_batch(exported):
    body = OnnxBody(exported, ONNX)
    np.testing.assert_allclose(body.encode(TEXTS, batch_size=1), body.encode(TEXTS, batch_size=64), atol=1e-5)


def test_without_a_batch_size_the_backend_s_own_is_used(exported):
    """int8 quantises each batch's activations with one scale, so the batching shows in the embeddings: no
    batch size means the backend's (EMBED_BATCH_SIZES), for encode, the model and the pipeline alike."""
    texts = make_texts(30, seed=7).text.tolist()
    body = OnnxBody(exported, ONNX_INT8)
    own = EMBED_BATCH_SIZES[ONNX_INT8]
    assert own < len(texts)
    np.testing.assert_array_equal(encode(body, texts), body.encode(texts, batch_size=own))
    np.testing.assert_array_equal(body.encode(texts), body.encode(texts, batch_size=own))
    assert np.abs(body.encode(texts) - body.encode(texts, batch_size=len(texts))).max() > 1e-6


def test_a_torch_body_on_a_gpu_embeds_in_wider_batches():
    """On a CPU each backend embeds its own batch size (bench/batch_sizes.py); a torch body on a GPU 64; a
    batch size given wins."""
    assert {b: embed_batch_size(b) for b in BACKENDS} == EMBED_BATCH_SIZES
    assert embed_batch_size(TORCH, device="cuda:0") == GPU_EMBED_BATCH_SIZE != EMBED_BATCH_SIZES[TORCH]
    assert embed_batch_size(ONNX_INT8, device="cuda") == EMBED_BATCH_SIZES[ONNX_INT8]
    assert embed_batch_size(TORCH, 7, device="cuda") == 7


def test_the_same_body_exports_to_the_same_bytes(tiny_body, exported, tmp_path):
    again = export_body(tiny_body, tmp_path / "again", [ONNX, ONNX_INT8])
    names = sorted(p.name for p in exported.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert MODEL_FILES[ONNX] in names and MODEL_FILES[ONNX_INT8] in names
    for name in names:
        assert (exported / name).read_bytes() == (again / name).read_bytes(), name


# imports of torch (and the libraries that need it) fail in the child: what it runs, runs without torch
NO_TORCH = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "sentence_transformers", "transformers"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, NoTorch())
    from fewshot import FewShotModel

    model = FewShotModel.load(sys.argv[1])
    print(json.dumps({"labels": list(model.predict(sys.argv[2:])), "backend": model.backend,
                      "proba": model.predict_proba(sys.argv[2:]).tolist()}))
    assert not any(m.split(".")[0] == "torch" for m in sys.modules)
    """
)


def _without_torch(model_dir, texts) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(model_dir), *texts],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def int8_model_dir(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("served") / "distilled"
    FewShotModel.load(tiny_model_dir).save(out, backend=ONNX_INT8)
    return out


def test_a_model_saved_for_onnx_int8_serves_with_it_and_without_torch(tiny_model_dir, int8_model_dir):
    assert json.loads((int8_model_dir / "fewshot.json").read_text())["backend"] == ONNX_INT8
    assert sorted(p.name for p in (int8_model_dir / "onnx").iterdir()) == [
        MODEL_FILES[ONNX_INT8],
        "onnx.json",
        "tokenizer.json",
    ]
    served = FewShotModel.load(int8_model_dir)
    assert served.backend == ONNX_INT8 and FewShotModel.load(int8_model_dir, backend="torch").backend == "torch"
    torch_model = FewShotModel.load(tiny_model_dir)
    got = _without_torch(int8_model_dir, PROBE)
    assert got["backend"] == ONNX_INT8
    assert got["labels"] == list(torch_model.predict(PROBE))
    np.testing.assert_allclose(got["proba"], served.predict_proba(PROBE), atol=1e-6)
    np.testing.assert_allclose(got["proba"], torch_model.predict_proba(PROBE), atol=0.05)
    assert served.n_parameters() == torch_model.n_parameters()


def test_an_onnx_only_copy_has_no_torch_body_and_says_so(int8_model_dir, tmp_path):
    copy = copy_with_backend(int8_model_dir, tmp_path / "copy", ONNX_INT8, keep_body=False)
    assert not (copy / "body").exists()
    assert _without_torch(copy, PROBE)["labels"] == list(FewShotModel.load(int8_model_dir).predict(PROBE))
    with pytest.raises(ModelError, match=r"body/ missing .*Fix: load it with its ONNX backend \(onnx-int8\)"):
        FewShotModel.load(copy, backend="torch")
    with pytest.raises(ModelError, match=r"model\.onnx: missing, so backend onnx cannot run. Fix: export"):
        FewShotModel.load(copy, backend="onnx")
    with pytest.raises(ModelError, match="unknown backend 'tensorrt'"):
        FewShotModel.load(copy, backend="tensorrt")


def test_a_body_onnx_cannot_run_is_refused_by_name(tiny_body, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    dense = SentenceTransformer(modules=[*tiny_body, Dense(32, 8)])
    with pytest.raises(ModelError, match=r"'Transformer', 'Pooling', 'Dense'\]; only Transformer, Pooling"):
        export_body(dense, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fewshot_export_onnx_writes_a_model_that_predicts_without_torch(tiny_model_dir, tmp_path, capsys):
    from fewshot.cli import main

    out = tmp_path / "onnx-model"
    assert main(["export", "--format", "onnx", str(tiny_model_dir), str(out)]) == 0
    assert not (out / "body").exists() and (out / "onnx" / MODEL_FILES[ONNX_INT8]).is_file()
    assert json.loads((out / "fewshot.json").read_text())["backend"] == ONNX_INT8
    assert "onnx-int8" in (out / "README.md").read_text()
    assert _without_torch(out, PROBE)["labels"] == list(FewShotModel.load(tiny_model_dir).predict(PROBE))

    # fp32 on request; a second export into the same directory only with --overwrite
    assert main(["export", "--format", "onnx", "--backend", "onnx", str(tiny_model_dir), str(out)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["export", "--format", "onnx", "--backend", "onnx", str(tiny_model_dir), str(out), "--overwrite"]) == 0
    assert FewShotModel.load(out).backend == ONNX
    (tmp_path / "texts.txt").write_text("\n".join(PROBE) + "\n")
    capsys.readouterr()
    assert main(["predict", "--model", str(out), "--input", str(tmp_path / "texts.txt")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(PROBE) + 1
    assert main(["predict", "--model", str(out), "--backend", "torch", "--input", str(tmp_path / "texts.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: body/ missing") and len(err.splitlines()) == 1


def test_a_model_loaded_on_onnx_saves_its_export(int8_model_dir, tmp_path):
    model = FewShotModel.load(int8_model_dir)
    model.save(tmp_path / "again")
    assert not (tmp_path / "again" / "body").exists()
    assert (tmp_path / "again" / "onnx" / MODEL_FILES[ONNX_INT8]).read_bytes() == (
        int8_model_dir / "onnx" / MODEL_FILES[ONNX_INT8]
    ).read_bytes()
    with pytest.raises(ModelError, match="cannot be saved for backend torch"):
        model.save(tmp_path / "torch", backend="torch")


def test_a_batch_is_padded_only_to_its_own_longest_text(exported):
    """The exported body batches by token count: the short texts' batch is not padded to the long text."""
    body = OnnxBody(exported, ONNX)
    seen = []
    run = body.session.run
    body.session.run = lambda names, feed: seen.append(feed["input_ids"].shape) or run(names, feed)
    texts = ["x y", "game " * 40, "a", "game " * 30]
    body.encode(texts, batch_size=2)
    assert len(seen) == 2 and seen[0][1] > 30 and seen[1][1] <= 5
