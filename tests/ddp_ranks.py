"""Run by test_launch under torchrun: train the tiny body with grouped batches, print each process's steps and a
hash of its weights (DDP keeps the processes' weights identical only if every step's gradients were averaged)."""

import hashlib
import json
import os
import sys

from tiny import make_texts

from fewshot.pairs import generate_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import train_body

model_dir, per_class, texts_per_step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
few = make_texts(per_class, seed=1)
pairs = text_pairs(generate_pairs(few.label, sampling_strategy="unique", seed=1), few.text)
model = load_body(model_dir)
result = train_body(
    model,
    pairs,
    num_epochs=1,
    batch_size=texts_per_step,
    body_learning_rate=1e-3,
    max_steps=-1,
    batching="groups",
    seed=1,
)
weights = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
print(json.dumps({"rank": int(os.environ["RANK"]), "steps": result.steps, "weights": weights}), flush=True)
