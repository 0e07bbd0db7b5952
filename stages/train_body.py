"""train_body: fine-tune the student's Sentence-Transformers body contrastively on the pairs.

usage: python stages/train_body.py PAIRS_PARQUET OUT_DIR LOSS_CSV TRAIN_PARQUET METRICS_JSON
   or: FEWSHOT_NPROC=2 python -m fewshot.pipeline.launch stages/train_body.py ...   (DDP; rank 0 writes)
(the batch losses, e.g. BatchHardTripletLoss, train on TRAIN_PARQUET's labelled texts, not on the pairs)
"""

import sys

from fewshot.errors import run_main
from fewshot.io import atomic_dir, read_table
from fewshot.pipeline import report, tracking
from fewshot.pipeline.params import load_params
from fewshot.runtime import is_main_process
from fewshot.sources import load_body, n_parameters, save_body
from fewshot.training import train_body


def main() -> None:
    pairs_path, out_dir, loss_csv, train_path, metrics_path = sys.argv[1:6]
    params = load_params()
    args = params.train.arguments(params.seed)
    pairs = read_table(pairs_path)
    few_shot = read_table(train_path)
    body = load_body(args.model, field="train.model", max_length=args.max_length)

    with tracking.stage_run("train_body", {"seed": params.seed, "train": params.train.model_dump()}) as run:
        log_loss = lambda step, loss: run.log_metrics({"loss": loss}, step=step)  # noqa: E731
        result = train_body(body, pairs, args, labeled=few_shot, on_log=log_loss)
        if not is_main_process():  # torchrun (FEWSHOT_NPROC > 1): rank 0 writes
            return
        # only what shaped the body (the arguments as resolved), so a change that trains the same body
        # leaves its bytes, and every stage after it, as they were
        info = {"base_model": args.model, "train": result.arguments, "n_pairs": len(pairs)}
        with atomic_dir(out_dir) as tmp:
            save_body(body, tmp, info=info)
        report.body_training(run, result, "student_body", loss_csv, metrics_path, n_parameters(body))
    print(f"train_body: {result.steps} steps ({result.epochs:g} epochs) in {result.seconds:.1f} s -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
