import numpy as np
import pytest
from tiny import build_tiny_body, make_texts

from fewshot.arguments import DistillationArguments
from fewshot.batching import text_groups
from fewshot.distill import distill, pair_count, teacher_pairs
from fewshot.embeddings import encode
from fewshot.errors import DistillError
from fewshot.model import FewShotModel
from fewshot.pairs import generate_pairs, random_pairs, text_pairs
from fewshot.sources import load_body
from fewshot.training import train_body


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    # another width and another tokenizer than the student's: they embed text independently
    return build_tiny_body(tmp_path_factory.mktemp("teacher"), dim=48, seed=5, shuffle_vocab=True)


def trained(body_dir, few_shot, seed=0):
    body = load_body(str(body_dir))
    pairs = text_pairs(generate_pairs(few_shot.label, seed=seed), few_shot.text)
    train_body(
        body, pairs, batching="pairs", max_steps=-1, num_epochs=2, batch_size=16, body_learning_rate=1e-3, seed=seed
    )
    return FewShotModel.fit(body, few_shot.text, few_shot.label, info={"base_model": str(body_dir)})


def test_targets_are_the_teachers_cosine_similarities_of_each_pair(teacher_dir):
    teacher = load_body(str(teacher_dir))
    texts = list(make_texts(30, seed=9).text)
    emb = encode(teacher, texts)
    pairs = teacher_pairs(emb, texts, count=400, seed=1)
    a = emb[pairs.idx_1] / np.linalg.norm(emb[pairs.idx_1], axis=1, keepdims=True)
    b = emb[pairs.idx_2] / np.linalg.norm(emb[pairs.idx_2], axis=1, keepdims=True)
    assert np.allclose(pairs.label, (a * b).sum(axis=1), atol=1e-6)
    assert (pairs.sentence_1 == [texts[i] for i in pairs.idx_1]).all()
    assert (pairs.idx_1 < pairs.idx_2).all()  # never a text with itself
    assert pairs.label.std() > 0.01  # they vary across pairs ...
    assert (pairs.label > 0.99).mean() < 0.5  # ... and are not all ~1 (setfit 1.2.0's bug)


def test_pair_budget_and_draw():
    assert pair_count(500, None, 500, 16) == 8000
    assert pair_count(500, 3, 500, 16) == 1500
    with pytest.raises(DistillError, match="num_iterations or distill.max_steps"):
        pair_count(10, None, -1, 16)
    i, j = random_pairs(10, 45, seed=0)  # all 45 pairs of 10 texts, each once
    assert len(set(zip(i, j))) == 45 and (i < j).all()
    i, j = random_pairs(10_000, 8000, seed=0)  # 50 million candidates, 8000 drawn
    assert len(set(zip(i, j))) == 8000


@pytest.mark.parametrize("batching", ["pairs", "groups"])
def test_distill_trains_student_towards_teacher_and_labels_from_teacher(tiny_body_dir, teacher_dir, tmp_path, batching):
    few_shot = make_texts(6, seed=1)
    unlabeled = list(make_texts(20, seed=7).text)
    teacher = trained(teacher_dir, few_shot, seed=1)
    student = trained(tiny_body_dir, few_shot, seed=2)
    before = student.encode(unlabeled)
    size = 16 if batching == "pairs" else 8
    args = DistillationArguments(batching=batching, max_steps=30, batch_size=size, body_learning_rate=1e-3, seed=3)
    result = distill(teacher, student.body, unlabeled, student.labels, args)
    if batching == "pairs":
        assert result.train.steps == 30 and len(result.pairs) == 480
    else:  # the texts dealt into groups of at most 8 an epoch, every pair among a group's texts a step
        assert result.train.steps == 30 and result.pairs.step.max() == 30
        sizes = {len(g) * (len(g) - 1) // 2 for g in text_groups(len(unlabeled), 8, 3, 0)}
        assert set(result.pairs.groupby("step").size()) <= sizes and max(sizes) <= 28
        assert (result.pairs.idx_1 < result.pairs.idx_2).all()
        assert (result.pairs.sentence_2 == [unlabeled[i] for i in result.pairs.idx_2]).all()
    after = result.model.encode(unlabeled)
    t = teacher.encode(unlabeled)

    def sims(e):
        u = e / np.linalg.norm(e, axis=1, keepdims=True)
        return (u[result.pairs.idx_1] * u[result.pairs.idx_2]).sum(axis=1)

    # the student's similarities move towards the teacher's
    assert np.abs(sims(after) - sims(t)).mean() < np.abs(sims(before) - sims(t)).mean()
    assert result.model.labels == student.labels
    agreement = (result.model.predict(unlabeled) == teacher.predict(unlabeled)).mean()
    assert agreement > 0.6
    result.model.save(tmp_path / "distilled")
    assert FewShotModel.load(tmp_path / "distilled").info["distilled_from"] == str(teacher_dir)


def test_teacher_with_other_labels_and_empty_pool_are_refused(tiny_body_dir, teacher_dir):
    few_shot = make_texts(4, seed=1)
    student = trained(tiny_body_dir, few_shot)
    other = few_shot.assign(label=few_shot.label.replace({"tech": "science"}))
    teacher = FewShotModel.fit(load_body(str(teacher_dir)), other.text, other.label)
    with pytest.raises(DistillError, match=r"teacher's labels .* differ from the student's"):
        distill(teacher, student.body, list(make_texts(5).text), student.labels, DistillationArguments(max_steps=2))
    with pytest.raises(DistillError, match="unlabeled pool has 0 text"):
        distill(student, student.body, [], student.labels, DistillationArguments(max_steps=2))


def test_head_can_also_learn_the_labelled_texts(tiny_body_dir, teacher_dir):
    few_shot = make_texts(4, seed=1)
    teacher = trained(teacher_dir, few_shot, seed=1)
    student = trained(tiny_body_dir, few_shot, seed=2)
    unlabeled = list(make_texts(5, seed=4).text)
    args = DistillationArguments(max_steps=2, batch_size=4, include_labeled=True, seed=0)
    result = distill(teacher, student.body, unlabeled, student.labels, args, labeled=few_shot)
    assert result.model.info["n_train"] == 15 + len(few_shot)
    assert DistillationArguments().include_labeled  # the default
    alone = distill(
        teacher,
        student.body,
        unlabeled,
        student.labels,
        DistillationArguments(max_steps=2, include_labeled=False),
        labeled=few_shot,
    )
    assert alone.model.info["n_train"] == 15  # include_labeled: false leaves the labelled texts out


@pytest.mark.parametrize(
    "change",
    [
        ("pairs", {"max_steps": 6}),
        ("pairs", {"body_learning_rate": 1e-2}),
        ("pairs", {"num_iterations": 2}),
        ("pairs", {"batch_size": 4}),
        ("pairs", {"warmup_proportion": 0.5}),
        ("groups", {"max_steps": 6}),
        ("groups", {"max_steps": -1, "num_epochs": 2}),
        ("groups", {"body_learning_rate": 1e-2}),
        ("groups", {"batch_size": 3}),
        ("groups", {"warmup_proportion": 0.5}),
        ("groups", {"seed": 1}),
        ("groups", {"mixed_precision": "fp32"}),  # the default: bf16
    ],
)
def test_every_length_and_rate_knob_changes_the_distilled_body(tiny_body_dir, teacher_dir, change):
    from dataclasses import replace

    batching, change = change
    few_shot = make_texts(4, seed=1)
    teacher = trained(teacher_dir, few_shot, seed=1)
    unlabeled = list(make_texts(8, seed=4).text)
    base = DistillationArguments(batching=batching, max_steps=3, batch_size=8, body_learning_rate=1e-3, seed=0)
    if batching == "groups":
        base = replace(base, batch_size=5, num_epochs=1)
    bodies = []
    for args in (base, replace(base, **change)):
        student = load_body(str(tiny_body_dir))
        distill(teacher, student, unlabeled, teacher.labels, args)
        bodies.append(student.encode(unlabeled))
    assert not np.array_equal(bodies[0], bodies[1])


def test_grouped_distillation_trains_the_groups_it_records_with_the_teachers_targets(tiny_body_dir, teacher_dir):
    """The loss of a step is CosineSimilarityLoss over every pair of its group, with the teacher's
    similarities as targets, and the groups the trainer dealt are the ones recorded in the pairs."""
    import torch

    from fewshot.batching import TextGroupSampler
    from fewshot.losses import TeacherSimilarityLoss

    few_shot = make_texts(4, seed=1)
    teacher = trained(teacher_dir, few_shot, seed=1)
    texts = list(make_texts(9, seed=4).text)  # 27 texts
    t = teacher.encode(texts)
    seen = []

    class Recording(TeacherSimilarityLoss):
        def forward(self, features, labels):
            seen.append(sorted(labels.tolist()))
            return super().forward(features, labels)

    import fewshot.losses

    original = fewshot.losses.TeacherSimilarityLoss
    fewshot.losses.TeacherSimilarityLoss = Recording
    try:
        student = load_body(str(tiny_body_dir))
        args = DistillationArguments(max_steps=7, batch_size=10, body_learning_rate=1e-3, seed=5)
        result = distill(teacher, student, texts, teacher.labels, args)
    finally:
        fewshot.losses.TeacherSimilarityLoss = original
    recorded = [sorted(set(g.idx_1) | set(g.idx_2)) for _, g in result.pairs.groupby("step")]
    assert seen == recorded and len(seen) == 7  # 3 groups of 9 an epoch, re-dealt each epoch
    assert recorded[0] != recorded[3] or recorded[1] != recorded[4]
    assert [sorted(g.tolist()) for g in text_groups(27, 10, 5, 0)] == recorded[:3]
    # the loss on a group: MSE of the student's cosine similarities against the teacher's, every pair
    body = load_body(str(tiny_body_dir))
    loss = TeacherSimilarityLoss(body, t)
    group = [2, 5, 11, 20]
    features = body.tokenize([texts[i] for i in group])
    value = float(loss([features], torch.tensor(group)).detach())
    s = encode(body, [texts[i] for i in group])
    s = s / np.linalg.norm(s, axis=1, keepdims=True)
    u = t[group] / np.linalg.norm(t[group], axis=1, keepdims=True)
    i, j = np.triu_indices(4, k=1)
    assert value == pytest.approx(float((((s[i] * s[j]).sum(1) - (u[i] * u[j]).sum(1)) ** 2).mean()), abs=1e-5)
    sampler = TextGroupSampler(list(range(27)), batch_size=10, seed=5)
    sampler.set_epoch(1)
    assert [sorted(b) for b in sampler] == [sorted(g.tolist()) for g in text_groups(27, 10, 5, 1)]


def test_grouped_distillation_refuses_a_pair_count():
    with pytest.raises(DistillError, match="num_iterations counts drawn pairs"):
        distill_args = DistillationArguments(num_iterations=3, max_steps=2)
        from fewshot.distill import _train_grouped

        _train_grouped(None, ["a", "b"], np.eye(2), distill_args, None)
