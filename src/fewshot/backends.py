"""Inference backends: what runs a body to embed texts at prediction and evaluation time.

- ``torch``: the Sentence-Transformers body itself, fp32 (what training uses);
- ``onnx``: the body exported to ONNX (fp32) and run by ONNX Runtime;
- ``onnx-int8``: the same export with its weights quantised to int8 (ONNX Runtime's dynamic quantisation
  of the MatMul weights, per channel).

An exported body is a folder (``onnx/`` in a model directory)::

    model.onnx | model_int8.onnx   the transformer: token ids and attention mask -> token embeddings
    tokenizer.json                 the body's tokenizer (the ``tokenizers`` library's format)
    onnx.json                      inputs, truncation length, pooling mode, normalisation, width

:class:`OnnxBody` reads that folder with ``onnxruntime``, ``tokenizers`` and numpy only: a model that
serves through it never imports torch. Exporting (:func:`export_body`) needs torch and ``onnx``
(``torch.onnx.export``; its torch.export-based exporter also ``onnxscript``), and writes the same bytes for
the same body, so DVC skips a stage whose body did not change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.arguments import BACKENDS, DEFAULT_BACKEND, embed_batch_size
from fewshot.embeddings import length_batches
from fewshot.errors import ModelError

TORCH, ONNX, ONNX_INT8 = BACKENDS  # DEFAULT_BACKEND: chosen by measurement (bench/backends.py)
ONNX_CONFIG = "onnx.json"
TOKENIZER = "tokenizer.json"
MODEL_FILES = {ONNX: "model.onnx", ONNX_INT8: "model_int8.onnx"}
POOLING_MODES = ("mean", "cls", "max", "lasttoken")
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # an export takes those its tokenizer makes
OPSET = 18
# torch.onnx's exporters: "torchscript" traces the body; "dynamo" is the torch.export-based one, slower to
# export and its graph slower to run on these encoders (bench/exporters.py times both)
EXPORTERS = ("torchscript", "dynamo")
EXPORTER = "torchscript"
# int8 quantisation (onnxruntime.quantization.quantize_dynamic): only the MatMul weights, one scale per
# output channel; bench/backends.py measures the alternatives
QUANTIZE = {"op_types": ("MatMul",), "per_channel": True, "reduce_range": False}


def check_backend(backend: str, field: str = "backend") -> str:
    if backend not in BACKENDS:
        raise ModelError(f"{field}: unknown backend '{backend}'. Fix: use one of {', '.join(BACKENDS)}")
    return backend


# --- export (needs torch) ------------------------------------------------------------------------------
def _parts(body) -> tuple[Any, dict[str, Any], bool]:
    """(transformer module, pooling config, normalize) of a body made of Transformer, Pooling [, Normalize];
    anything else (a Dense layer, a CLIP body) is refused, naming the module."""
    modules = list(body)
    kinds = [type(m).__name__ for m in modules]
    fix = "Fix: serve this body with backend torch"
    if len(modules) not in (2, 3) or kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]):
        raise ModelError(f"backend onnx: the body's modules are {kinds}; only Transformer, Pooling[, Normalize]. {fix}")
    pooling = modules[1].get_config_dict()
    if pooling.get("pooling_mode") not in POOLING_MODES:
        raise ModelError(
            f"backend onnx: pooling mode '{pooling.get('pooling_mode')}' (supported: {', '.join(POOLING_MODES)}). {fix}"
        )
    return modules[0], pooling, len(modules) == 3


def _tokenizer_json(transformer) -> str:
    backend = getattr(transformer.tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError("backend onnx: the body has no fast tokenizer (tokenizer.json). Fix: use backend torch")
    backend.no_truncation()  # the last call's settings are not the body's (see fewshot.sources.save_body)
    backend.no_padding()
    return backend.to_str(pretty=True)


def export_body(body, out_dir: str | Path, backends: Sequence[str] = (ONNX_INT8,), exporter: str = EXPORTER) -> Path:
    """Export a Sentence-Transformers body to ``out_dir`` (written whole, atomically) for each of ``backends``
    (``onnx``: fp32 ``model.onnx``; ``onnx-int8``: ``model_int8.onnx``) with one of :data:`EXPORTERS`."""
    import tempfile

    from fewshot.io import atomic_dir

    wanted = [check_backend(b) for b in backends if b != TORCH]
    if not wanted:
        raise ModelError("export: no ONNX backend asked for. Fix: name onnx or onnx-int8")
    transformer, pooling, normalize = _parts(body)
    names = list(transformer.tokenizer.model_input_names)
    config = {
        "inputs": names,
        "max_length": int(body.max_seq_length),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "pooling": pooling["pooling_mode"],
        "normalize": normalize,
        "dim": int(pooling.get("embedding_dimension") or transformer.get_embedding_dimension()),
        "pad_id": int(transformer.tokenizer.pad_token_id or 0),
        "pad_token": str(transformer.tokenizer.pad_token),
        "n_parameters": int(sum(p.numel() for p in transformer.parameters())),
    }
    with atomic_dir(out_dir) as tmp, tempfile.TemporaryDirectory() as work:
        fp32 = tmp / MODEL_FILES[ONNX] if ONNX in wanted else Path(work) / MODEL_FILES[ONNX]
        _export_transformer(transformer, names, fp32, exporter)
        if ONNX_INT8 in wanted:
            quantize(fp32, tmp / MODEL_FILES[ONNX_INT8])
        (tmp / TOKENIZER).write_text(_tokenizer_json(transformer))
        (tmp / ONNX_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return Path(out_dir)


def _export_transformer(transformer, names: list[str], path: Path, exporter: str = EXPORTER) -> None:
    """The transformer as ONNX (``torch.onnx.export``), batch and sequence length dynamic, weights inside the
    one file."""
    import logging
    import warnings

    import torch

    if exporter not in EXPORTERS:
        raise ModelError(f"export: unknown exporter '{exporter}'. Fix: use one of {', '.join(EXPORTERS)}")
    model = transformer.auto_model.eval()

    class Transformer(torch.nn.Module):  # token ids and mask in, token embeddings out
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    # two texts of different lengths: the traced mask has padding in it
    features = transformer.tokenizer(["an example text to trace", "two words"], padding=True, return_tensors="pt")
    args = tuple(features[name] for name in names)
    exporter_log = logging.getLogger("torch.onnx")  # "torchvision is not installed": nothing to do with a body
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes it records as constants
            if exporter == "torchscript":
                axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
                torch.onnx.export(
                    Transformer(),
                    args,
                    str(path),
                    input_names=names,
                    output_names=["token_embeddings"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
                return
            batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
            program = torch.onnx.export(
                Transformer(),
                args,
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_shapes={"inputs": tuple({0: batch, 1: sequence} for _ in names)},
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    finally:
        exporter_log.setLevel(level)
    program.save(str(path), external_data=False)


def quantize(
    fp32: str | Path,
    out: str | Path,
    op_types: Sequence[str] | None = QUANTIZE["op_types"],
    per_channel: bool = QUANTIZE["per_channel"],
    reduce_range: bool = QUANTIZE["reduce_range"],
) -> Path:
    """int8 weights for an fp32 ONNX model (ONNX Runtime's dynamic quantisation: activations are quantised
    per batch at run time). ``op_types`` None: ONNX Runtime's default set."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()  # quantize_dynamic logs its advice at WARNING, on the root logger
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(fp32),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
            op_types_to_quantize=list(op_types) if op_types else None,
        )
    finally:
        root.setLevel(level)
    return Path(out)


# --- the encoder (no torch) --------------------------------------------------------------------------
def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxBody:
    """An exported body run by ONNX Runtime: ``encode`` gives what the torch body's ``encode`` gives
    (tokenise with truncation, the transformer, pooling, normalisation), without torch.

    Texts are embedded in batches of equal or similar token counts, longest first
    (:func:`fewshot.embeddings.length_batches`), so little of a batch is padding; rows come back in input
    order."""

    torch_free = True  # fewshot.embeddings.encode calls encode() without importing torch

    def __init__(self, directory: str | Path, backend: str = DEFAULT_BACKEND, threads: int | None = None):
        from tokenizers import Tokenizer

        self.directory, self.backend = Path(directory), check_backend(backend)
        if backend == TORCH:
            raise ModelError("OnnxBody runs the onnx backends; backend torch is the Sentence-Transformers body")
        model = self.directory / MODEL_FILES[backend]
        for file in (model, self.directory / ONNX_CONFIG, self.directory / TOKENIZER):
            if not file.is_file():
                raise ModelError(
                    f"{file}: missing, so backend {backend} cannot run. Fix: export the model with "
                    f"`fewshot export --format onnx --backend {backend} MODEL OUT`, or load it with backend torch"
                )
        self.config = json.loads((self.directory / ONNX_CONFIG).read_text())
        self.tokenizer = Tokenizer.from_file(str(self.directory / TOKENIZER))
        self.tokenizer.enable_truncation(self.config["max_length"])
        self.tokenizer.no_padding()  # each batch is padded to its own longest text (_batch)
        self.session = _session(model, threads)
        self.max_seq_length = self.config["max_length"]

    def get_embedding_dimension(self) -> int:
        return int(self.config["dim"])

    def n_parameters(self) -> int:
        """The torch body's parameter count, recorded at export (quantised, the weights are as many)."""
        return int(self.config["n_parameters"])

    def _tokenize(self, texts: list[str]) -> list:
        if self.config["do_lower_case"]:
            texts = [t.lower() for t in texts]
        return self.tokenizer.encode_batch([t.strip() for t in texts])

    def _batch(self, encodings: list) -> np.ndarray:
        """Embed tokenized texts, padded on the right to the longest of them."""
        length = max(1, *(len(e.ids) for e in encodings))
        arrays = {name: np.zeros((len(encodings), length), dtype=np.int64) for name in ONNX_INPUTS}
        arrays["input_ids"][:] = self.config["pad_id"]
        for row, e in enumerate(encodings):
            n = len(e.ids)
            arrays["input_ids"][row, :n] = e.ids
            arrays["attention_mask"][row, :n] = e.attention_mask
            arrays["token_type_ids"][row, :n] = e.type_ids
        tokens = self.session.run(None, {name: arrays[name] for name in self.config["inputs"]})[0]
        return pool(tokens, arrays["attention_mask"], self.config["pooling"], self.config["normalize"])

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        **_: Any,
    ) -> np.ndarray:
        encodings = self._tokenize([str(t) for t in texts])
        out = np.zeros((len(encodings), self.get_embedding_dimension()), dtype=np.float32)
        for rows in length_batches([len(e.ids) for e in encodings], embed_batch_size(self.backend, batch_size)):
            out[rows] = self._batch([encodings[i] for i in rows])
        return out


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """Sentence-Transformers' pooling of token embeddings (n, length, dim) under ``mask`` (n, length)."""
    m = mask[..., None].astype(tokens.dtype)
    if mode == "mean":
        emb = (tokens * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    elif mode == "cls":
        emb = tokens[:, 0]
    elif mode == "max":
        emb = np.where(m > 0, tokens, -1e9).max(1)
    elif mode == "lasttoken":
        emb = tokens[np.arange(len(tokens)), mask.sum(1) - 1]
    else:
        raise ModelError(f"{ONNX_CONFIG}: pooling mode '{mode}' (supported: {', '.join(POOLING_MODES)})")
    if normalize:
        emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    return emb.astype(np.float32)
