"""train_teacher: train the teacher the SetFit way (body on the pairs, then its head) in one stage.

Same library calls as the student's train_body and fit_head; the `teacher` params section.
usage: python stages/train_teacher.py PAIRS_PARQUET TRAIN_PARQUET OUT_DIR LOSS_CSV METRICS_JSON
   or: FEWSHOT_NPROC=2 python -m fewshot.pipeline.launch stages/train_teacher.py ...   (DDP; rank 0 writes)
"""

import sys

from fewshot.errors import run_main
from fewshot.heads import make_head
from fewshot.io import read_table
from fewshot.labels import any_multi_label
from fewshot.model import FewShotModel
from fewshot.pipeline import report, tracking
from fewshot.pipeline.params import load_params
from fewshot.runtime import is_main_process
from fewshot.sources import load_body
from fewshot.training import train_body


def main() -> None:
    pairs_path, train_path, out_dir, loss_csv, metrics_path = sys.argv[1:6]
    params = load_params()
    args = params.teacher.arguments(params.seed)
    pairs = read_table(pairs_path)
    few_shot = read_table(train_path)
    teacher_body = load_body(args.model, field="teacher.model", max_length=args.max_length)

    with tracking.stage_run("train_teacher", {"seed": params.seed, "teacher": params.teacher.model_dump()}) as run:
        log_loss = lambda step, loss: run.log_metrics({"loss": loss}, step=step)  # noqa: E731
        result = train_body(teacher_body, pairs, args, labeled=few_shot, on_log=log_loss)
        if not is_main_process():  # torchrun (FEWSHOT_NPROC > 1): rank 0 fits the head and writes
            return
        head = make_head(args.head, multi_label=any_multi_label(few_shot["label"]))
        info = {"base_model": args.model, "train": result.arguments, "n_pairs": len(pairs)}
        teacher = FewShotModel.fit(teacher_body, few_shot["text"], few_shot["label"], head, info=info)
        teacher.save(out_dir)
        report.body_training(run, result, "teacher_body", loss_csv, metrics_path, teacher.n_parameters())
        run.log_head_choice(head)
    print(f"train_teacher: {result.steps} steps ({result.epochs:g} epochs) in {result.seconds:.1f} s -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
