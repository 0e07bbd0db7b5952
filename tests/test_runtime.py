"""Runtime (fewshot.runtime): progress bars only for a person, determinism restored, torchrun's rank."""

import torch

from fewshot import runtime


def test_progress_bars_are_off_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not runtime.progress_enabled()


def test_deterministic_kernels_are_restored_as_found():
    assert not torch.are_deterministic_algorithms_enabled()
    with runtime.deterministic():
        assert torch.are_deterministic_algorithms_enabled()
    assert not torch.are_deterministic_algorithms_enabled()


def test_rank_and_world_size_come_from_torchrun(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert (runtime.rank(), runtime.world_size(), runtime.is_main_process()) == (0, 1, True)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert (runtime.rank(), runtime.world_size(), runtime.is_main_process()) == (1, 2, False)
