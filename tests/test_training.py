"""The training tasks (docs/training.md): the optimizers' steps on tiny problems, the loop's
record of a run (a diverged run included), and the shipped suite from the command line."""

from __future__ import annotations

import functools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from harness_builtins.training import loop
from harness_builtins.training.kernels import Kernel, KernelFailure
from harness_builtins.training.muon import Muon
from harness_builtins.training.shampoo import Shampoo, root_residual
from harness_builtins.training.training_tasks import training_metrics

from harness.plugins.registry import Registry
from harness.results.db import ResultsDB

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def registry() -> Registry:
    return Registry.load()


def kernel(name: str, backend: str = "torch", dtype: str = "float32", **params: object) -> Kernel:
    """The registered method ``name`` as an optimizer's kernel."""
    reg = registry()
    bound = functools.partial(reg.method(name), xp=reg.backend(backend).xp, **params)
    return Kernel(bound, reg.backend(backend), dtype)


def test_muon_with_svd_polar_is_the_reference_update() -> None:
    """Two steps of Muon (Nesterov) with svd_polar, against the update written out in numpy:
    B ← μB + (1−μ)G, U = (1−μ)G + μB, W ← W − η √max(1, m/n) polar(U)."""
    rng = np.random.default_rng(0)
    weight = torch.tensor(rng.standard_normal((12, 5)), requires_grad=True)
    grads = [rng.standard_normal((12, 5)) for _ in range(2)]
    muon = Muon([weight], kernel("svd_polar", dtype="float64"), lr=0.1, momentum=0.9)
    expected, buffer = weight.detach().numpy().copy(), np.zeros((12, 5))
    for grad in grads:
        weight.grad = torch.tensor(grad)
        muon.step()
        buffer = 0.9 * buffer + 0.1 * grad
        U, _, Vh = np.linalg.svd(0.1 * grad + 0.9 * buffer, full_matrices=False)
        expected -= 0.1 * math.sqrt(12 / 5) * U @ Vh
    np.testing.assert_allclose(weight.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    assert max(muon.accuracy()) < 1e-12  # svd_polar's output is orthogonal to rounding


def test_muon_with_torch_muons_kernel_is_torch_optim_muon() -> None:
    """Our Muon around the ``torch_muon`` orthogonalizer takes torch.optim.Muon's steps."""
    rng = np.random.default_rng(1)
    start = torch.tensor(rng.standard_normal((16, 8)), dtype=torch.float32)
    ours, theirs = start.clone().requires_grad_(), start.clone().requires_grad_()
    muon = Muon([ours], kernel("torch_muon"), lr=0.02)
    reference = torch.optim.Muon([theirs], lr=0.02, weight_decay=0.0)
    for _ in range(3):
        grad = torch.tensor(rng.standard_normal((16, 8)), dtype=torch.float32)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        muon.step()
        reference.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_shampoo_roots_are_accurate_and_reduce_the_loss() -> None:
    """Shampoo with eigh_root on a least-squares problem: the loss falls, every root it
    computed is accurate (‖X⁴A − I‖ small)."""
    rng = np.random.default_rng(2)
    A = torch.tensor(rng.standard_normal((40, 6)) * np.logspace(0, 1, 6), dtype=torch.float32)
    B = A @ torch.tensor(rng.standard_normal((6, 4)), dtype=torch.float32)
    weight = torch.zeros(6, 4, requires_grad=True)
    shampoo = Shampoo([weight], kernel("eigh_root"), lr=0.05, root_every=5)
    losses = []
    for _ in range(40):
        loss = ((A @ weight - B) ** 2).mean()
        weight.grad = torch.autograd.grad(loss, weight)[0]
        losses.append(float(loss.detach()))
        shampoo.step(losses[-1])
    assert losses[-1] < 0.1 * losses[0]
    errors = shampoo.accuracy()
    assert len(errors) == 2 * 8 and max(errors) < 1e-3


def test_root_residual_of_an_exact_root_is_zero() -> None:
    A = torch.diag(torch.tensor([1.0, 16.0], dtype=torch.float64))
    assert root_residual(torch.diag(torch.tensor([1.0, 0.5], dtype=torch.float64)), A, 4) < 1e-15


@pytest.mark.parametrize("optimizer", ["muon", "shampoo", "polyak", "adamw", "sgd", "torch_muon"])
def test_every_optimizer_learns_the_digits(optimizer: str) -> None:
    method = "eigh_root" if optimizer in ("shampoo", "polyak") else "svd_polar"
    setup = loop.Setup(
        "digits", 32, 30, seed=0, optimizer=optimizer, lr=loop.DEFAULT_LR[optimizer], eval_every=10
    )  # type: ignore[arg-type]
    curve, summary, _ = loop.train(
        kernel(method).kernel, setup, registry().backend("torch"), "float32"
    )
    assert summary[0] == summary[1] == 0 and summary[2] == 30 and curve.shape == (3, 6)
    assert curve[-1, 3] < 0.5 * math.log(10)  # well below chance
    assert np.all(np.diff(curve[:, 1]) > 0)  # seconds grow with the steps


def test_a_diverging_run_is_a_result() -> None:
    """SGD at learning rate 1e6 on the digits: the loss stops being finite; the run ends
    there with ``diverged_at_step`` and the finite rows before it, never an error."""
    setup = loop.Setup("digits", 32, 20, seed=0, optimizer="sgd", lr=1e6, eval_every=1)
    output = loop.train(kernel("svd_polar").kernel, setup, registry().backend("torch"), "float32")
    curve, summary, _ = output
    assert 1 < summary[0] <= 20 and len(curve) == summary[0] - 1
    assert np.isfinite(curve).all()
    problem = (
        registry()
        .task("muon_training")
        .generate({"width": 32, "steps": 20}, np.random.default_rng(0))
    )
    metrics = training_metrics(problem, output)
    assert metrics["diverged_at_step"] == summary[0] and "val_loss" not in metrics


def test_a_kernel_that_raises_ends_the_run_as_a_result() -> None:
    """cholesky_qr2 on a rank-one update raises; the kernel says so as ``KernelFailure``,
    which the loop turns into ``kernel_failed_at_step``."""
    rank_one = torch.ones(8, 1) @ torch.ones(1, 4)
    with pytest.raises(KernelFailure, match="Cholesky"):
        kernel("cholesky_qr2")(rank_one)


def test_the_kernel_runs_through_the_host_on_numpy() -> None:
    """On the numpy backend the kernel's inputs go through the host in float64: Muon with
    svd_polar follows the torch backend's run to float32 rounding."""
    setup = loop.Setup("digits", 32, 10, seed=0, optimizer="muon", lr=0.02, eval_every=5)
    runs = [
        loop.train(kernel("svd_polar", b).kernel, setup, registry().backend(b), "float32")[0]
        for b in ("torch", "numpy")
    ]
    np.testing.assert_allclose(runs[0][:, 3], runs[1][:, 3], rtol=1e-3)


def test_methods_fit_by_the_task_their_loop_takes() -> None:
    reg = registry()
    shampoo, muon = reg.task("shampoo_training"), reg.task("muon_training")
    assert reg.method("eigh_root").fits(shampoo) and not reg.method("eigh_root").fits(muon)
    assert reg.method("newton_schulz").fits(muon) and not reg.method("pcg_jacobi").fits(shampoo)


@pytest.mark.slow
def test_the_smoke_tier_runs_from_the_cli(tmp_path: Path) -> None:
    """`harness run suites/training.yaml --tier smoke`: every case ok, each with its loss curve
    (loss against step and seconds) stored; `harness report` draws the kernels and the
    baselines in the task page's training section."""
    db = tmp_path / "t.sqlite"
    suite = ROOT / "suites" / "training.yaml"
    command = [
        sys.executable,
        "-m",
        "harness",
        "run",
        str(suite),
        "--tier",
        "smoke",
        "--db",
        str(db),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    database = ResultsDB(db, readonly=True)
    cases = database.cases(database.latest_run())
    assert cases and all(c.status.value == "ok" for c in cases)
    for case in cases:
        assert case.curve and {"step", "seconds", "val_loss"} <= set(case.curve[-1])
        assert case.metrics and case.metrics["val_loss"] < math.log(97)
    kernel_cases = [c for c in cases if c.task == "muon_training" and "optimizer" not in c.problem]
    assert kernel_cases and all("orthogonality_error" in c.curve[0] for c in kernel_cases)
    report = [sys.executable, "-m", "harness", "report", "--db", str(db), "--out", "site"]
    done = subprocess.run(report, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / "site" / "task-muon_training.html").read_text()
    training = page[page.index('<h2 id="training">') :]
    for name in ("torch_muon", "adamw", "sgd", "newton_schulz", "svd_polar"):
        assert f'data-name="{name}' in training  # kernels and baselines in the loss plots
    assert '<table class="sortable training">' in training


def test_a_method_refuses_in_training_what_it_refuses_on_its_own_task() -> None:
    """The problem's inputs are the kernel's (fc1's shape; a factor and p), so ``supports``
    judges them: cayley (square only) in muon_training, pade_sqrt (p = 2 only) at p = 4."""
    reg, rng = registry(), np.random.default_rng(0)
    sizes = {"width": 8, "steps": 2}
    muon = reg.task("muon_training").generate(sizes, rng)
    assert "square" in (reg.method("cayley").refusal(muon.inputs) or "")
    for root, refused in ((4, True), (2, False)):
        shampoo = reg.task("shampoo_training").generate(sizes, rng, root=root)
        reason = reg.method("pade_sqrt").refusal(shampoo.inputs, params={})
        assert (reason is not None) == refused
