"""train_teacher: train the teacher the SetFit way (body on the pairs, then its head) in one stage.

Same library calls as the student's train_body and fit_head; the `teacher` params section.
usage: python stages/train_teacher.py PAIRS_PARQUET TRAIN_PARQUET OUT_DIR LOSS_CSV
   or: FEWSHOT_NPROC=2 python -m fewshot.launch stages/train_teacher.py ...   (DDP under torchrun; rank 0 writes)
"""

import sys

import pandas as pd

from fewshot import body, tracking
from fewshot.launch import is_main_process
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.io import write_csv
from fewshot.model import FewShotModel


def main() -> None:
    pairs_path, train_path, out_dir, loss_csv = sys.argv[1:5]
    params = load_params()
    cfg = params.teacher
    pairs = pd.read_parquet(pairs_path)
    few_shot = pd.read_parquet(train_path)
    teacher = body.load_body(cfg.model, field="teacher.model", max_length=cfg.max_length)

    with tracking.stage_run("train_teacher", {"seed": params.seed, "teacher": cfg.model_dump()}) as run:
        log_loss = lambda step, loss: run.log_metrics({"loss": loss}, step=step)  # noqa: E731
        result = body.train_from_params(teacher, pairs, cfg, params.seed, on_log=log_loss, labeled=few_shot)
        train_info = cfg.model_dump(exclude={"head"})
        info = {"base_model": cfg.model, "train": train_info, "seed": params.seed, "n_pairs": len(pairs)}
        if not is_main_process():  # torchrun (FEWSHOT_NPROC > 1): rank 0 fits the head and writes
            return
        model = FewShotModel.fit(
            teacher, few_shot["text"], few_shot["label"], cfg.head.type, cfg.head.params, info=info,
            multi_target_strategy=cfg.head.multi_target_strategy, seed=params.seed,
            head_training={**cfg.head_phase(), "early_stopping_patience": cfg.head.early_stopping_patience},
        )
        model.save(out_dir)
        write_csv(pd.DataFrame(result.losses, columns=["step", "loss"]), loss_csv)
        run.log_metrics({"train_seconds": result.seconds, "steps": result.steps, "params": model.num_params()})
    print(f"train_teacher: {result.steps} steps in {result.seconds:.1f} s, labels {model.labels} -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
