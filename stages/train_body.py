"""train_body: fine-tune the Sentence-Transformers body contrastively on the pairs.

usage: python stages/train_body.py PAIRS_PARQUET OUT_DIR LOSS_CSV [TRAIN_PARQUET]
   or: FEWSHOT_NPROC=2 python -m fewshot.launch stages/train_body.py ...   (DDP under torchrun; rank 0 writes)
(the batch losses, e.g. BatchHardTripletLoss, train on TRAIN_PARQUET's labelled texts, not on the pairs)
"""

import sys

import pandas as pd

from fewshot import body, tracking
from fewshot.launch import is_main_process
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.io import atomic_dir, write_csv


def main() -> None:
    pairs_path, out_dir, loss_csv = sys.argv[1:4]
    params = load_params()
    cfg = params.train
    pairs = pd.read_parquet(pairs_path)
    labeled = pd.read_parquet(sys.argv[4]) if len(sys.argv) > 4 else None
    model = body.load_body(cfg.model, field="train.model", max_length=cfg.max_length)

    with tracking.stage_run("train_body", {"seed": params.seed, "train": cfg.model_dump()}) as run:
        log_loss = lambda step, loss: run.log_metrics({"loss": loss}, step=step)  # noqa: E731
        result = body.train_from_params(model, pairs, cfg, params.seed, on_log=log_loss, labeled=labeled)
        info = {"base_model": cfg.model, "train": cfg.model_dump(), "seed": params.seed, "n_pairs": len(pairs)}
        if not is_main_process():  # torchrun (FEWSHOT_NPROC > 1): rank 0 writes
            return
        with atomic_dir(out_dir) as tmp:
            body.save_body(model, tmp, info=info)
        write_csv(pd.DataFrame(result.losses, columns=["step", "loss"]), loss_csv)
        run.log_metrics({"train_seconds": result.seconds, "steps": result.steps, "params": body.count_params(model)})
    print(f"train_body: {result.steps} steps in {result.seconds:.1f} s -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
