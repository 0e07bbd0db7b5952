"""torch.onnx's two exporters side by side: the time to export (and quantise to int8) a body, and what the
export embeds, against the torch body's fp32 ``encode`` of the same texts in the same run.

    python bench/exporters.py                       # both default bodies, 400 AG News test texts
    python bench/exporters.py --bodies models/student_body --n 200

The embed stages export each body once per run (`evaluate.backend: onnx-int8`), so the export time is
part of every run's time. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from backends import DATASETS, MODELS, cosines  # bench/backends.py: the backends' benchmark

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def texts(data_root: Path, n: int) -> list[str]:
    import pandas as pd

    test = pd.read_parquet(data_root / "ag_news" / "test.parquet")
    return test["text"].sample(n=n, random_state=0).astype(str).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", nargs="+", default=list(MODELS))
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--data-root", type=Path, default=DATASETS)
    args = parser.parse_args()

    from fewshot.backends import EXPORTERS, ONNX_INT8, OnnxBody, export_body
    from fewshot.sources import load_body

    sample = texts(args.data_root, args.n)
    print("| body | exporter | export + int8 s | int8 encode s | int8 mean cosine to fp32 | int8 min cosine |")
    print("|---|---|---|---|---|---|")
    for ref in args.bodies:
        body = load_body(ref)
        fp32 = body.encode(sample, batch_size=64, show_progress_bar=False)
        for exporter in EXPORTERS:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                folder = export_body(body, Path(tmp) / "onnx", [ONNX_INT8], exporter=exporter)
                exported = time.perf_counter() - start
                onnx_body = OnnxBody(folder, ONNX_INT8)
                onnx_body.encode(sample[:64])  # warm up
                start = time.perf_counter()
                int8 = onnx_body.encode(sample, batch_size=64)
                encoded = time.perf_counter() - start
            cos = cosines(int8, fp32)
            name = ref.split("/")[-1]
            print(f"| {name} | {exporter} | {exported:.1f} | {encoded:.1f} | {cos.mean():.4f} | {cos.min():.4f} |")


if __name__ == "__main__":
    main()
