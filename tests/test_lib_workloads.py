"""Real gradient and momentum matrices: generated from a seed, cached, regenerated."""

from __future__ import annotations

import numpy as np
import pytest
from harness_builtins import workloads
from harness_builtins.orthogonalizers import orthogonalize_task

from harness import cache


def test_cache_dir_follows_harness_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    assert cache.cache_dir() == tmp_path


def test_real_matrix_is_a_block_of_the_captured_one(monkeypatch):
    G = np.arange(12 * 30, dtype=float).reshape(12, 30)
    monkeypatch.setattr(workloads, "training_matrix", lambda *args: G)
    np.testing.assert_array_equal(
        orthogonalize_task.real_matrix(12, 30, "gradient", "fc2", 10, 0), G
    )
    np.testing.assert_array_equal(
        orthogonalize_task.real_matrix(30, 12, "gradient", "fc2", 10, 0), G.T
    )
    np.testing.assert_array_equal(
        orthogonalize_task.real_matrix(4, 6, "gradient", "fc2", 10, 0), G[:4, :6]
    )
    with pytest.raises(ValueError, match="do not fit"):
        orthogonalize_task.real_matrix(40, 40, "gradient", "fc2", 10, 0)


def test_unknown_matrix_is_refused():
    with pytest.raises(ValueError, match="no captured matrix"):
        workloads.training_matrix("fc3", "gradient", 10)


@pytest.mark.slow
def test_matrices_are_generated_cached_and_regenerated(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    first = workloads.training_matrices(seed=0)
    files = list(tmp_path.glob("digits-mlp-v*-seed0.npz"))
    assert len(files) == 1
    assert set(first) == {
        workloads.key(layer, kind, step)
        for layer in workloads.LAYERS
        for kind in workloads.KINDS
        for step in workloads.CAPTURE_STEPS
    }
    assert first["fc1.gradient.step10"].shape == (3072, 768)
    assert first["fc2.momentum.step10"].shape == (768, 3072)
    np.testing.assert_array_equal(first["fc2.gradient.step1"], first["fc2.momentum.step1"])
    assert all(np.isfinite(m).all() and np.linalg.norm(m) > 0 for m in first.values())
    files[0].unlink()  # regenerated when missing, identically (deterministic from the seed)
    again = workloads.training_matrices(seed=0)
    np.testing.assert_allclose(
        again["fc2.gradient.step10"], first["fc2.gradient.step10"], rtol=1e-5, atol=1e-8
    )
