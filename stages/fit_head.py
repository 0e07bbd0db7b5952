"""fit_head: fit the head on the few-shot train set: on its embeddings by the tuned body (cached by
`embed`), or, for the differentiable head, in a head phase that with train.end_to_end also trains the body.

usage: python stages/fit_head.py BODY_DIR TRAIN_PARQUET EMBEDDINGS_DIR OUT_DIR [VALIDATION_PARQUET]
"""

import sys
from pathlib import Path

import pandas as pd

from fewshot import body, embeddings, tracking
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.metrics import classification_metrics
from fewshot.model import FewShotModel


def main() -> None:
    body_dir, train_path, emb_dir, out_dir = sys.argv[1:5]
    val_path = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    params = load_params()
    head = params.head
    few_shot = pd.read_parquet(train_path)
    val = pd.read_parquet(val_path) if val_path is not None and val_path.exists() else few_shot.iloc[:0]
    tuned = body.load_body(body_dir, field=body_dir)
    cached = embeddings.cached(emb_dir, "train", list(few_shot["text"]), body_dir)
    training = {**params.train.head_phase(), "early_stopping_patience": head.early_stopping_patience}

    logged = {"seed": params.seed, "head": head.model_dump(), "head_phase": training}
    with tracking.stage_run("fit_head", logged) as run:
        model = FewShotModel.fit(
            tuned,
            few_shot["text"],
            few_shot["label"],
            head_type=head.type,
            head_params=head.params,
            info=body.read_body_info(body_dir),
            multi_target_strategy=head.multi_target_strategy,
            head_training=training,
            validation=(val["text"], val["label"]) if len(val) else None,
            seed=params.seed,
            on_epoch=lambda epoch, rec: run.log_metrics({f"head.{k}": v for k, v in rec.items()}, step=epoch),
            embeddings=cached,
        )
        model.save(out_dir)
        metrics = {"n_train": len(few_shot), "n_classes": len(model.labels), "n_validation": len(val)}
        if len(val):
            scores = classification_metrics(val["label"], model.predict(val["text"]), model.labels, ["accuracy"])
            metrics["val_accuracy"] = scores["accuracy"]
        run.log_metrics(metrics)
        run.set_tags({"head.converged": str(model.head.converged), "embeddings.reused": str(cached is not None)})
    print(f"fit_head: {model.head.type} on {len(few_shot)} texts, labels {model.labels} -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
