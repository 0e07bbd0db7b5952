"""Distillation: a trained student learns from a trained teacher, using unlabeled texts.

The student is the trained baseline body (``models/student_body``): its head is fitted here with the
``distill.head`` params, so changing the baseline student's head does not re-train the distilled one.

1. embed the unlabeled texts with the teacher once;
2. train the student body to give pairs of them the teacher's cosine similarity: grouped (the default), a
   step embeds a group of texts once and learns every pair among them (memory O(texts)); or pair by pair
   (setfit's way), on drawn pairs (seeded; memory O(pairs)) with CosineSimilarityLoss;
3. fit the distilled student's head on the teacher's predicted labels for the
   unlabeled texts, plus, optionally, the labelled few-shot texts with their true labels.

setfit 1.2.0's DistillationTrainer builds its pairs before the teacher's embeddings exist, so every
target is the similarity of a text with itself (~1.0) and the student body learns nothing from the
teacher. Here the targets are computed from the embeddings of the two texts of each pair (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fewshot.arguments import DistillationArguments, TeacherArguments
from fewshot.errors import DistillError
from fewshot.model import FewShotModel
from fewshot.pairs import random_pairs
from fewshot.training import TrainResult, autocast, train_body

__all__ = ["DistillResult", "DistillationArguments", "TeacherArguments", "distill", "pair_count", "teacher_pairs"]


def pair_count(n_texts: int, num_iterations: int | None, max_steps: int, batch_size: int) -> int:
    """``num_iterations·n`` pairs if set, else ``max_steps × batch_size``."""
    if num_iterations:
        return num_iterations * n_texts
    if max_steps > 0:
        return max_steps * batch_size
    raise DistillError("distill: set distill.num_iterations or distill.max_steps to bound the number of pairs")


def teacher_pairs(teacher_embeddings: np.ndarray, texts: Sequence[str], count: int, seed: int = 42) -> pd.DataFrame:
    """Pairs of texts with the teacher's cosine similarity as target (columns as the pairs stage's)."""
    emb = np.asarray(teacher_embeddings, dtype=np.float64)
    unit = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    i, j = random_pairs(len(unit), count, seed)
    targets = np.empty(len(i), dtype=np.float32)
    for lo in range(0, len(i), 65536):  # chunked: gathering all pairs' rows at once would take count × dim × 16 bytes
        targets[lo : lo + 65536] = np.einsum("nd,nd->n", unit[i[lo : lo + 65536]], unit[j[lo : lo + 65536]])
    texts = np.asarray(texts, dtype=object)
    return pd.DataFrame({"sentence_1": texts[i], "sentence_2": texts[j], "label": targets, "idx_1": i, "idx_2": j})


def _train_grouped(student_body, texts: list[str], teacher_embeddings: np.ndarray, args, on_log) -> tuple:
    """Grouped distillation: each step embeds a group of unlabeled texts once and learns the teacher's
    cosine similarity of every pair among them (:class:`~fewshot.losses.TeacherSimilarityLoss`). Returns
    the pairs the steps trained (``step``, ``idx_1``, ``idx_2``, the texts, ``label``: the teacher's
    similarity) and the training result."""
    from datasets import Dataset

    from fewshot.batching import TextGroupSampler, text_groups
    from fewshot.losses import TeacherSimilarityLoss
    from fewshot.runtime import world_size
    from fewshot.training import fit, used_arguments

    if args.num_iterations:
        raise DistillError(
            "distill.num_iterations counts drawn pairs, which only distill.batching: pairs draws. "
            "Fix: set distill.num_iterations: null (groups: the length is distill.num_epochs or distill.max_steps)"
        )
    training = args.body_training()
    dataset = Dataset.from_dict({"text": texts, "label": list(range(len(texts)))})
    loss = TeacherSimilarityLoss(student_body, teacher_embeddings)
    extra = {"batch_sampler": TextGroupSampler}
    result = fit(student_body, dataset, loss, training, args.num_epochs, extra, on_log=on_log)
    result.arguments = used_arguments(training, "groups", result.epochs, result.steps)
    # the pairs the steps trained, each group dealt as the sampler dealt it
    per_epoch = len(text_groups(len(texts), args.batch_size, args.seed, 0))
    per_epoch = -(-per_epoch // world_size()) * world_size()
    unit = np.asarray(teacher_embeddings, dtype=np.float64)
    unit = unit / np.clip(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12, None)
    rows, groups = [], {}
    for batch in range(result.steps * world_size()):  # under torchrun a step trains one group per process
        epoch, k = divmod(batch, per_epoch)
        if epoch not in groups:
            groups[epoch] = text_groups(len(texts), args.batch_size, args.seed, epoch)
        g = groups[epoch][k % len(groups[epoch])]
        i, j = np.triu_indices(len(g), k=1)
        rows.append(pd.DataFrame({"step": batch // world_size() + 1, "idx_1": g[i], "idx_2": g[j]}))
    pairs = pd.concat(rows, ignore_index=True)
    texts_array = np.asarray(texts, dtype=object)
    pairs.insert(1, "sentence_1", texts_array[pairs["idx_1"]])
    pairs.insert(2, "sentence_2", texts_array[pairs["idx_2"]])
    pairs.insert(3, "label", np.einsum("nd,nd->n", unit[pairs["idx_1"]], unit[pairs["idx_2"]]).astype(np.float32))
    return pairs, result


def check_compatible(teacher: FewShotModel, labels: Sequence) -> None:
    if sorted(map(str, teacher.labels)) != sorted(map(str, labels)):
        raise DistillError(
            f"the teacher's labels {teacher.labels} differ from the student's {list(labels)}. "
            "Fix: train both on the same few-shot data (the same sample stage output)"
        )


@dataclass
class DistillResult:
    model: FewShotModel
    pairs: pd.DataFrame
    train: TrainResult
    teacher_label_counts: dict


def distill(
    teacher: FewShotModel,
    student_body,
    unlabeled: Sequence[str],
    labels: Sequence,
    args: DistillationArguments | None = None,
    labeled: pd.DataFrame | None = None,
    info: dict | None = None,
    on_log: Callable[[int, float], None] | None = None,
) -> DistillResult:
    """Train ``student_body`` (in place) from ``teacher`` on ``unlabeled`` texts, fit a head; return the model.

    ``labels`` are the student's label names (predict_proba's column order), the few-shot set's labels.
    ``labeled`` (the few-shot texts) join the head's training set when ``args.include_labeled``.
    """
    args = args or DistillationArguments()
    texts = [str(t) for t in unlabeled]
    if len(texts) < 2:
        raise DistillError(
            f"the unlabeled pool has {len(texts)} text(s); distillation needs at least 2. "
            "Fix: raise sample.unlabeled, or use a train split larger than the few-shot set"
        )
    check_compatible(teacher, labels)
    with autocast(args.mixed_precision):  # the teacher's targets, as fast as its training steps
        teacher_embeddings = teacher.encode(texts)
    if args.batching == "groups":
        pairs, result = _train_grouped(student_body, texts, teacher_embeddings, args, on_log)
    elif args.batching == "pairs":
        count = pair_count(len(texts), args.num_iterations, args.max_steps, args.batch_size)
        pairs = teacher_pairs(teacher_embeddings, texts, count, args.seed)
        result = train_body(student_body, pairs, args.body_training(), on_log=on_log)
    else:
        raise DistillError(f"distill.batching: unknown '{args.batching}'; use groups or pairs")
    teacher_labels = list(teacher.labels_from_proba(teacher.proba_from_embeddings(teacher_embeddings)))
    head_texts, head_labels = list(texts), teacher_labels
    if labeled is not None and args.include_labeled:
        head_texts += list(labeled["text"])
        head_labels += list(labeled["label"])
    model = FewShotModel.fit(
        student_body,
        head_texts,
        head_labels,
        args.head,
        label_names=labels,
        info={**(info or {}), "distilled_from": teacher.info.get("base_model"), "n_unlabeled": len(texts)},
    )
    counts = pd.Series(teacher_labels).value_counts().to_dict()
    return DistillResult(model=model, pairs=pairs, train=result, teacher_label_counts=counts)
