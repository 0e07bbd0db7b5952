"""What the distilled student's head should learn from, on held-out texts: the teacher's labels of the
unlabeled texts, the few-shot texts' true labels, or both, at C = 1, 10, 100; and the student's own head.

    python bench/distill_heads.py --task banking77 --seed 0          # 8 per class, 1,000 held-out texts

The draw, the 500 unlabeled texts and the held-out texts are ``bench/vs_setfit.py``'s (``--validation``):
train texts outside the draw and the pool, never the test split. The student, the teacher and the
distilled body are trained once with the shipped params; only the heads change between cells.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="banking77")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num-samples", type=int, default=8)
    ap.add_argument("--validation", type=int, default=1000)
    ap.add_argument("--data-root", default=str(HERE.parents[1] / "shared" / "datasets"))
    args = ap.parse_args()

    import torch
    from sklearn.linear_model import LogisticRegression
    from vs_setfit import _load, _params

    from fewshot.distill import distill
    from fewshot.labels import sorted_labels
    from fewshot.model import FewShotModel
    from fewshot.pairs import generate_pairs, text_pairs
    from fewshot.sources import load_body
    from fewshot.training import train_body

    torch.manual_seed(args.seed)  # as vs_setfit's workers
    spec = {"data_root": args.data_root, "task": args.task, "num_samples": args.num_samples, "seed": args.seed}
    few, held, unlabeled = _load({**spec, "unlabeled": 500, "validation": args.validation})
    params = _params(str(HERE.parent / "params.yaml"), [])
    pairs = text_pairs(generate_pairs(few.label, params.pairs.arguments(args.seed)), few.text)
    models = {}
    for name, section in (("student", params.train), ("teacher", params.teacher)):
        section_args = section.arguments(args.seed)
        body = load_body(section_args.model)
        train_body(body, pairs, section_args, labeled=few[["text", "label"]])
        head = (params.head if name == "student" else params.teacher.head).arguments(args.seed)
        models[name] = FewShotModel.fit(body, list(few.text), list(few.label), head)
    student, teacher = models["student"], models["teacher"]
    result = distill(
        teacher, copy.deepcopy(student.body), unlabeled, sorted_labels(few.label), params.distill.arguments(args.seed)
    )
    teacher_labels = np.asarray(teacher.predict(unlabeled)).astype(str)
    y_few, y_held = few.label.astype(str).to_numpy(), held.label.astype(str).to_numpy()
    grid = (1.0, 10.0, 100.0)
    print(f"{args.task}, {args.num_samples} per class, seed {args.seed}: accuracy on {len(held)} held-out texts")
    print("| head fitted on | " + " | ".join(f"C={c:g}" for c in grid) + " |\n|---|" + "---|" * len(grid))
    for body_name, model in (("distilled", result.model), ("student", student)):
        few_x, pool_x, held_x = (model.encode(list(t)) for t in (few.text, unlabeled, held.text))
        cells = {
            "the teacher's labels of the unlabeled texts": (pool_x, teacher_labels),
            "the few-shot texts": (few_x, y_few),
            "both": (np.vstack([pool_x, few_x]), np.concatenate([teacher_labels, y_few])),
        }
        for what, (x, y) in cells.items():
            if body_name == "student" and what != "the few-shot texts":
                continue
            scores = [(LogisticRegression(C=c, max_iter=1000).fit(x, y).predict(held_x) == y_held).mean() for c in grid]
            print(f"| {body_name} body: {what} | " + " | ".join(f"{s:.3f}" for s in scores) + " |")


if __name__ == "__main__":
    main()
