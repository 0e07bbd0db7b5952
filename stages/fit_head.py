"""fit_head: fit the student's head on the few-shot train set: on its embeddings by the trained body (cached
by `embed`), or, for the differentiable head, in a head phase that with head.end_to_end also trains the body.

usage: python stages/fit_head.py BODY_DIR TRAIN_PARQUET EMBEDDINGS_DIR OUT_DIR VALIDATION_PARQUET VALIDATION_JSON

VALIDATION_JSON: the student's scores on the held-out validation texts (sample.validation per class), the
metric to choose an experiment by without looking at the test split (only ``n: 0`` without them).
"""

import sys
from pathlib import Path

from fewshot.embeddings import cached
from fewshot.errors import run_main
from fewshot.heads import make_head
from fewshot.io import read_table, write_json
from fewshot.labels import any_multi_label
from fewshot.metrics import classification_metrics
from fewshot.model import FewShotModel
from fewshot.pipeline import tracking
from fewshot.pipeline.params import load_params
from fewshot.sources import load_body, read_body_info


def main() -> None:
    body_dir, train_path, embeddings_dir, out_dir, validation_path, validation_json = sys.argv[1:7]
    params = load_params()
    few_shot = read_table(train_path)
    validation = read_table(validation_path) if Path(validation_path).exists() else few_shot.iloc[:0]
    body = load_body(body_dir, field=body_dir)
    embeddings = cached(embeddings_dir, "train", list(few_shot["text"]), body_dir)
    head = make_head(params.head.arguments(params.seed), multi_label=any_multi_label(few_shot["label"]))

    logged = {"seed": params.seed, "head": params.head.model_dump()}
    with tracking.stage_run("fit_head", logged) as run:
        student = FewShotModel.fit(
            body,
            few_shot["text"],
            few_shot["label"],
            head,
            embeddings=embeddings,
            validation=(validation["text"], validation["label"]) if len(validation) else None,
            on_epoch=lambda epoch, rec: run.log_metrics({f"head.{k}": v for k, v in rec.items()}, step=epoch),
            info=read_body_info(body_dir),
        )
        student.save(out_dir)
        metrics = {"n_train": len(few_shot), "n_classes": len(student.labels), "n_validation": len(validation)}
        scores = {"n": len(validation)}
        if len(validation):
            predicted = student.predict(validation["text"])
            names = ["accuracy", "f1_macro"]
            found = classification_metrics(validation["label"], predicted, student.labels, names)
            scores.update({k: found[k] for k in names})
            metrics["val_accuracy"] = scores["accuracy"]
            run.log_parent_metrics({f"student.val_{k}": scores[k] for k in names})
        write_json(scores, validation_json)
        run.log_metrics(metrics)
        run.log_head_choice(head)
        run.set_tags({"head.converged": str(head.converged), "embeddings.reused": str(embeddings is not None)})
    print(f"fit_head: {head.type} on {len(few_shot)} texts, labels {student.labels} -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
