"""The ``fewshot`` command: predict with a saved model, show what it is, export to / import from setfit.

    fewshot predict --model models/distilled --input texts.csv --output labels.parquet
    cat texts.txt | fewshot predict --model models/distilled          # CSV on stdout
    fewshot info models/distilled
    fewshot predict --model models/distilled --backend torch --input texts.csv   # not the recorded backend
    fewshot export --format setfit models/distilled setfit-model/
    fewshot export --format onnx models/distilled onnx-model/          # predicts without torch
    fewshot import --format setfit setfit-model/ models/imported --trust-pickle

Every error is one line on stderr (``error: ...``) and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fewshot.backends import BACKENDS
from fewshot.errors import EXIT_STATUS, CliError, FewshotError

if TYPE_CHECKING:
    import pandas as pd

READERS = (".csv", ".parquet", ".jsonl", ".ndjson", ".txt")
WRITERS = (".csv", ".parquet", ".jsonl", ".ndjson")


# --- reading and writing tables ---------------------------------------------------------------------
def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise CliError(
            f"{what} '{path}': unknown file type '{suffix or '(none)'}'. Fix: use one of {', '.join(allowed)}"
        )
    return suffix


def _text_lines(lines) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"text": [line.rstrip("\r\n") for line in lines if line.strip()]})


def read_texts(path: str | None, text_column: str = "text") -> tuple[pd.DataFrame, str]:
    """The input table and its text column: CSV, Parquet, JSON Lines, or plain text (one text per
    non-blank line; also what stdin is read as when ``path`` is None or ``-``). Every format follows the
    same rule (:func:`fewshot.data.check_texts`): an empty, blank or null text is refused with its row."""
    from fewshot.data import check_texts
    from fewshot.io import read_table

    if path is None or path == "-":
        try:
            frame, column, where = _text_lines(sys.stdin), "text", "stdin"
        except UnicodeDecodeError:
            raise CliError("stdin: bytes that are not UTF-8. Fix: pipe UTF-8 text, one text per line") from None
    else:
        file = Path(path)
        suffix = _suffix(file, READERS, "--input")
        frame, where = read_table(file, "--input"), f"--input '{path}'"
        column = "text" if suffix == ".txt" else text_column
    if column not in frame.columns:
        cols = ", ".join(map(str, frame.columns)) or "none"
        raise CliError(f"{where}: no column '{column}' (columns: {cols}). Fix: --text-column NAME")
    check_texts(frame[column], where, column)
    return frame, column


def write_table(frame: pd.DataFrame, path: str | None, fmt: str = "csv") -> None:
    """To ``path`` (format from its suffix, written atomically) or to stdout as CSV or JSON Lines."""
    from fewshot.io import write_csv, write_jsonl, write_parquet

    if path is None or path == "-":
        if fmt == "jsonl":
            frame.to_json(sys.stdout, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_csv(sys.stdout, index=False)
        return
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        write_csv(frame, path)
    elif suffix == ".parquet":
        write_parquet(frame, path)
    else:
        write_jsonl(frame, path)


def predictions_frame(model, texts, batch_size: int | None = None) -> pd.DataFrame:
    """``label`` and one ``proba_<label>`` column per class, in ``model.labels`` order."""
    import pandas as pd

    proba = model.predict_proba(texts, batch_size=batch_size)
    out = pd.DataFrame({"label": model.labels_from_proba(proba)})
    for k, label in enumerate(model.labels):
        out[f"proba_{label}"] = proba[:, k]
    return out


# --- commands ---------------------------------------------------------------------------------------
def cmd_predict(args: argparse.Namespace) -> None:
    import pandas as pd

    from fewshot.model import FewShotModel
    from fewshot.model_dir import check_model_dir

    if args.output not in (None, "-"):  # fail before any work
        _suffix(Path(args.output), WRITERS, "--output")
        if args.input not in (None, "-") and Path(args.output).resolve() == Path(args.input).resolve():
            raise CliError(
                f"--output '{args.output}' is the --input file; writing it would overwrite the texts. "
                "Fix: give another --output"
            )
    check_model_dir(args.model, "--model")
    frame, column = read_texts(args.input, args.text_column)
    model = FewShotModel.load(args.model, backend=args.backend)
    predicted = predictions_frame(model, frame[column], batch_size=args.batch_size)
    kept = frame.rename(columns={c: f"input_{c}" for c in predicted.columns if c in frame.columns})  # e.g. a true label
    out = pd.concat([kept.reset_index(drop=True), predicted], axis=1)
    write_table(out, args.output, args.format)
    if args.output not in (None, "-"):
        print(f"predict: {len(out)} texts -> {args.output}", file=sys.stderr)


def cmd_info(args: argparse.Namespace) -> None:
    from fewshot.model_dir import facts as model_facts

    facts = model_facts(args.model, args.metrics)
    if args.json:
        print(json.dumps(facts, indent=2, sort_keys=True))
        return
    print(f"model:       {facts['path']} ({facts['size_mb']} MB)")
    print(f"base model:  {facts['base_model']}")
    print(f"labels:      {', '.join(map(str, facts['labels']))}")
    print(f"train texts: {facts['n_train'] if facts['n_train'] is not None else 'unknown'}")
    print(f"head:        {facts['head']['type']} {json.dumps(facts['head']['params'], sort_keys=True)}")
    print(f"backend:     {facts['backend']}")
    if facts["train"]:
        print(f"body params: {json.dumps(facts['train'], sort_keys=True)}")
    metrics = facts["metrics"]
    if metrics:
        shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        print(f"metrics:     {', '.join(f'{k} {v}' for k, v in shown.items())} (from {facts['metrics_from']})")
    else:
        print("metrics:     none found (run the evaluate stage, or pass --metrics FILE)")


def cmd_export(args: argparse.Namespace) -> None:
    if args.format == "onnx":
        from fewshot.formats.onnx import export_onnx

        export_onnx(args.model, args.out, backend=args.backend, overwrite=args.overwrite)
        print(f"export: {args.model} -> {args.out} (predicts without torch)", file=sys.stderr)
        return
    from fewshot.formats import setfit

    if args.backend:
        raise CliError("--backend: only for --format onnx. Fix: leave it out")
    setfit.export_setfit(args.model, args.out, overwrite=args.overwrite)
    print(f"export: {args.model} -> {args.out} (load with setfit.SetFitModel.from_pretrained)", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> None:
    from fewshot.formats import setfit

    setfit.import_setfit(args.src, args.out, trust_pickle=args.trust_pickle, overwrite=args.overwrite)
    print(f"import: {args.src} -> {args.out}", file=sys.stderr)


def cmd_init_tracking(args: argparse.Namespace) -> None:
    from fewshot.pipeline import tracking

    print(f"init-tracking: {tracking.init_store()}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fewshot", description="Use a trained fewshot model.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("predict", help="label texts from a file or stdin")
    p.add_argument("--model", required=True, help="a saved model directory (e.g. models/distilled)")
    p.add_argument("--input", help=f"{', '.join(READERS)} file; stdin (one text per line) if left out")
    p.add_argument("--output", help=f"{', '.join(WRITERS)} file; stdout if left out")
    p.add_argument("--text-column", default="text", help="column holding the texts (default: text)")
    p.add_argument(
        "--batch-size", type=int, help="texts per embedding batch (default: the backend's: 16; 64 for torch on a GPU)"
    )
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="stdout format (default: csv)")
    p.add_argument(
        "--backend", choices=BACKENDS, help="what runs the body (default: the one the model records, else torch)"
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("info", help="base model, labels, params and metrics of a saved model")
    p.add_argument("model", help="a saved model directory")
    p.add_argument("--metrics", help="a metrics JSON (default: metrics/<dir name>.json, or DIR/metrics.json)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("export", help="write a model in another library's format, or for ONNX Runtime")
    p.add_argument("--format", choices=("setfit", "onnx"), required=True)
    p.add_argument(
        "--backend",
        choices=BACKENDS[1:],
        help="onnx: fp32 or int8 weights (default: the model's onnx backend, else onnx-int8)",
    )
    p.add_argument("model", help="a saved fewshot model directory")
    p.add_argument("out", help="the directory to write (a new or empty one)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists and is not empty")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="read a model saved by another library into a fewshot model directory")
    p.add_argument("--format", choices=("setfit",), required=True)
    p.add_argument("src", help="a directory written by setfit's SetFitModel.save_pretrained")
    p.add_argument("out", help="the fewshot model directory to write (a new or empty one)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists and is not empty")
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="setfit stores its head as a pickle, which can run code when loaded: only for files you trust",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "init-tracking", help="create the project's MLflow store now (before `dvc queue start -j N`; safe to repeat)"
    )
    p.set_defaults(func=cmd_init_tracking)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", None) is not None and args.batch_size < 1:
        print("error: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_STATUS
    try:
        args.func(args)
    except FewshotError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_STATUS
    except BrokenPipeError:  # `fewshot predict ... | head`
        return 0
    except (OSError, ValueError) as err:  # unreadable files, malformed CSV/Parquet/JSON
        print(f"error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}", file=sys.stderr)
        return EXIT_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
