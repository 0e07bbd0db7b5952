"""``num_epochs: auto``: the training length chosen by k-fold cross-validation on the few-shot texts.

How many grouped steps a body needs depends on the task: where the pretrained body already groups texts
the way the labels do (news topics), a few steps suffice and more over-fit; where it groups them another
way (question types: the body groups by topic, the labels by question form) it needs many more. No
constant serves both, so the length is measured on the task's own labelled texts:

1. The few-shot texts are split into ``auto_folds`` stratified folds (seeded).
2. For each fold, a copy of the untrained body trains on the pairs among the other folds' texts, in
   grouped steps (a batch loss: on the other folds' texts, in labelled batches) at the run's learning
   rate (constant, so a prefix of the run is a shorter run). At checkpoints of 4, 8, 16, ... steps (up
   to ``auto_max_steps``) a logistic-regression head is fitted on the training folds' embeddings and
   scored on the held-out fold's texts. A fold stops at the first checkpoint that does not beat its best
   so far (a longer run would over-fit, at twice the cost).
3. The shortest run whose mean held-out accuracy is within one standard error of the best mean wins (the
   one-standard-error rule: a few dozen held-out texts cannot tell closer runs apart, and a longer run
   risks over-fitting); a fold that stopped early carries its last score forward. Fold steps are scaled
   to the whole set by groups (or labelled batches) per epoch, so the chosen length trains each text as
   often as it was validated; the whole set then trains that long at the same constant rate (no warm-up,
   no decay).

Grouped steps over a few dozen texts are cheap, so the search costs a few runs' worth of steps. The
choice and every score are returned (and recorded beside the body and in MLflow).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fewshot.arguments import TrainingArguments
from fewshot.metrics import standard_error

FIRST_CHECKPOINT = 4  # grouped steps; checkpoints double from here
# the rate the folds train at, and so the chosen run too: constant from the first step, no warm-up (a
# prefix of a fold's run is then a shorter run)
SCHEDULE = "constant"


@dataclass
class LengthChoice:
    """The chosen length and the scores that chose it."""

    steps: int  # on the whole few-shot set
    scores: dict[int, float]  # whole-set steps -> mean held-out accuracy over the folds
    folds: int

    def as_dict(self) -> dict:
        return {"steps": self.steps, "folds": self.folds, "scores": {str(k): v for k, v in self.scores.items()}}


def checkpoints(max_steps: int, first: int = FIRST_CHECKPOINT) -> list[int]:
    """4, 8, 16, ... up to ``max_steps`` (which is always the last, so the cap itself is tried)."""
    points = []
    step = first
    while step < max_steps:
        points.append(step)
        step *= 2
    return points + [max_steps]


def fold_indices(labels: list, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) row indices of stratified folds: each class's texts dealt round the folds."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([str(v) for v in labels], dtype=object)
    k = min(folds, int(min(np.unique(y, return_counts=True)[1])))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def correct(body, train_texts, train_labels, held_texts, held_labels, seed: int) -> np.ndarray:
    """Which held-out texts a probe head, fitted on the training texts' embeddings by ``body``, labels right
    (booleans, in the order of ``held_texts``)."""
    return probe(body, train_texts, train_labels, held_texts, held_labels, seed)[0]


def probe(body, train_texts, train_labels, held_texts, held_labels, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(which held-out texts the probe labels right, the probability it gives each one's true label) for a
    probe head fitted on the training texts' embeddings by ``body``."""
    from sklearn.linear_model import LogisticRegression

    from fewshot.arguments import HEAD_PARAMS
    from fewshot.embeddings import encode

    encoded = encode(body, list(train_texts) + list(held_texts), show_progress_bar=False)
    n = len(train_texts)
    # a fixed probe, C=1 (the head's C: auto would nest a cross-validation in every fold's scoring)
    head = LogisticRegression(C=1.0, max_iter=HEAD_PARAMS["logistic_regression"]["max_iter"], random_state=seed)
    head.fit(encoded[:n], train_labels)
    proba = head.predict_proba(encoded[n:])
    held = np.asarray(held_labels)
    column = {label: i for i, label in enumerate(head.classes_)}
    # a held-out label no training text has gets probability 0 (it can only be labelled wrong)
    p_true = np.array([proba[i, column[y]] if y in column else 0.0 for i, y in enumerate(held)])
    return head.predict(encoded[n:]) == held, p_true


def _score(body, train_texts, train_labels, held_texts, held_labels, seed: int) -> float:
    return float(correct(body, train_texts, train_labels, held_texts, held_labels, seed).mean())


def choose_steps(
    train: Callable,
    body,
    pairs: pd.DataFrame | None,
    labeled: pd.DataFrame,
    args: TrainingArguments,
    folds: int,
    max_steps: int,
) -> LengthChoice:
    """The grouped steps to train ``body`` for on ``pairs`` (see the module's description). ``body`` is not
    changed: each fold trains a copy, with ``train`` (:func:`fewshot.training.train_body`, which calls this).
    ``labeled``: the few-shot texts (``text``, ``label``) of the pairs (a batch loss trains on them; its
    ``pairs`` are not read and may be None)."""
    from fewshot.batching import groups_per_epoch
    from fewshot.losses import is_batch_loss

    texts = [str(t) for t in labeled["text"]]
    labels = np.asarray([str(v) for v in labeled["label"]], dtype=object)
    batch_loss = is_batch_loss(args.loss)

    def steps_per_epoch(fold_pairs: pd.DataFrame | None, n_texts: int) -> int:
        # a batch loss trains labelled batches of batch_size texts; grouped pairs, groups of them
        return -(-n_texts // args.batch_size) if batch_loss else groups_per_epoch(fold_pairs, args.batch_size)

    steps_all = steps_per_epoch(pairs, len(texts))
    scaled: list[dict[int, float]] = []
    for train_rows, held_rows in fold_indices(list(labels), folds, args.seed):
        if batch_loss:
            fold_pairs = None  # a batch loss trains on the fold's texts, not on pairs
        else:
            keep = {texts[i] for i in train_rows}
            fold_pairs = pairs[pairs["sentence_1"].isin(keep) & pairs["sentence_2"].isin(keep)]
            if len(fold_pairs) == 0:
                continue
        # a fold step trains as many texts as a whole-set step; scale so each text trains as often
        scale = steps_all / steps_per_epoch(fold_pairs, len(train_rows))
        fold_max = max(1, int(round(max_steps / scale)))
        points = checkpoints(fold_max, min(FIRST_CHECKPOINT, fold_max))
        scores: dict[int, float] = {}
        fold_body = copy.deepcopy(body)

        def at_step(
            step: int, fold_body=fold_body, scores=scores, points=points, train_rows=train_rows, held_rows=held_rows
        ) -> bool:
            if step not in points:
                return False
            scores[step] = _score(
                fold_body,
                [texts[i] for i in train_rows],
                labels[train_rows],
                [texts[i] for i in held_rows],
                labels[held_rows],
                args.seed,
            )
            earlier = [v for k, v in scores.items() if k < step]
            return bool(earlier) and not improves(scores[step], max(earlier))

        # constant rate from the first step: a prefix of this run is a shorter run
        fold_args = replace(args, num_epochs=1, max_steps=points[-1], warmup_proportion=0.0)
        fold_texts = labeled.iloc[train_rows]  # a batch loss trains on them, grouped pairs on fold_pairs
        train(fold_body, fold_pairs, fold_args, labeled=fold_texts, stop_at=at_step, schedule=SCHEDULE)
        del fold_body
        scaled.append({max(1, int(round(s * scale))): v for s, v in scores.items()})
    if not scaled:
        return LengthChoice(steps=max_steps, scores={}, folds=0)
    steps, mean = pick(scaled, len(texts))
    return LengthChoice(steps=steps, scores=mean, folds=len(scaled))


def improves(score: float, best: float) -> bool:
    """Whether a longer run's held-out accuracy beats the best shorter one's; if not, the fold stops (the
    run is over-fitting or has levelled off, and each doubling costs as much as all the steps before it)."""
    return score > best + 1e-9


def pick(folds: list[dict[int, float]], n_held_out: int) -> tuple[int, dict[int, float]]:
    """(the chosen steps, the mean score per steps) of per-fold ``{steps: held-out accuracy}``.

    Every steps any fold reached is a candidate; a fold that stopped before it carries its last score
    forward (it stopped because a longer run scored no better). The choice follows the one-standard-error
    rule of cross-validation: the shortest run whose mean is within one standard error of the best's
    (``sqrt(p (1 - p) / n_held_out)`` for the best accuracy p over ``n_held_out`` held-out texts), since a
    few dozen held-out texts cannot tell runs closer than that apart, and a longer run risks over-fitting.
    """
    candidates = sorted({s for fold in folds for s in fold})
    mean = {}
    for s in candidates:
        per_fold = []
        for fold in folds:
            reached = [k for k in fold if k <= s]
            per_fold.append(fold[max(reached)] if reached else fold[min(fold)])
        mean[s] = round(float(np.mean(per_fold)), 6)
    best = max(mean.values())
    error = standard_error(best, n_held_out)
    return min(s for s, v in mean.items() if v >= best - error - 1e-9), mean
