"""fit_head: fit the head on the few-shot train set's embeddings by the tuned body (cached by `embed`).

usage: python stages/fit_head.py BODY_DIR TRAIN_PARQUET EMBEDDINGS_DIR OUT_DIR
"""

import sys

import pandas as pd

from fewshot import body, embeddings, tracking
from fewshot.config import load_params
from fewshot.errors import run_main
from fewshot.model import FewShotModel


def main() -> None:
    body_dir, train_path, emb_dir, out_dir = sys.argv[1:5]
    params = load_params()
    few_shot = pd.read_parquet(train_path)
    tuned = body.load_body(body_dir, field=body_dir)
    cached = embeddings.cached(emb_dir, "train", list(few_shot["text"]), body_dir)

    with tracking.stage_run("fit_head", {"seed": params.seed, "head": params.head.model_dump()}) as run:
        model = FewShotModel.fit(
            tuned,
            few_shot["text"],
            few_shot["label"],
            head_type=params.head.type,
            head_params=params.head.params,
            info=body.read_body_info(body_dir),
            embeddings=cached,
        )
        model.save(out_dir)
        run.log_metrics({"n_train": len(few_shot), "n_classes": len(model.labels)})
        run.set_tags({"head.converged": str(model.head.converged), "embeddings.reused": str(cached is not None)})
    print(f"fit_head: {model.head.type} on {len(few_shot)} texts, labels {model.labels} -> {out_dir}")


if __name__ == "__main__":
    run_main(main)
