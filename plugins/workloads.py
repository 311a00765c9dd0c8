"""Real gradient and momentum matrices, from actually training a small network.

The network is a GPT-2-sized MLP block on scikit-learn's shipped ``digits`` data set (1797
8×8 images, 10 classes; it ships inside scikit-learn, nothing is downloaded):

    x = GELU(embed(pixels))                 embed: 64 → 768
    h = x + fc2(GELU(fc1(LayerNorm(x))))    fc1: 768 → 3072, fc2: 3072 → 768
    logits = head(LayerNorm(h))             head: 768 → 10

trained with torch on the CPU, in float32, full batch (all 1797 images every step),
cross-entropy loss, SGD with momentum 0.95 (buffer m_t = 0.95 m_{t−1} + g_t, as in Muon) and
learning rate 0.05, for ``TRAIN_STEPS`` steps from a seed. At each step in ``CAPTURE_STEPS``
the gradient and the momentum buffer of ``fc1.weight`` (3072×768) and ``fc2.weight``
(768×3072) are kept, in torch's (out, in) layout.

The matrices are cached in ``$HARNESS_CACHE`` (default ``~/.cache/linalg-harness``) as
``digits-mlp-v<version>-seed<seed>.npz`` and regenerated when missing (a few seconds on two
cores). Their spectra are tabulated in docs/methods.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness import cache

WORKLOAD_VERSION = 1
"""Bump when the network or the training changes, so that stale caches are not reused."""
TRAIN_STEPS = 10
CAPTURE_STEPS = (1, 10)
LAYERS = ("fc1", "fc2")
KINDS = ("gradient", "momentum")
WIDTH, HIDDEN = 768, 3072


def key(layer: str, kind: str, step: int) -> str:
    return f"{layer}.{kind}.step{step}"


def training_matrices(seed: int = 0) -> dict[str, np.ndarray]:
    """Every captured matrix, keyed by ``key(layer, kind, step)``, as float64 numpy arrays.

    Read from the cache, or generated (and cached) when the file is missing.
    """
    name = f"digits-mlp-v{WORKLOAD_VERSION}-seed{seed}.npz"
    matrices = cache.read(name, _load)
    if matrices is None:
        matrices = _train(seed)
        cache.write(name, lambda path: _save(path, matrices))
    return matrices


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {name: np.asarray(data[name], dtype=np.float64) for name in data.files}


def _save(path: Path, matrices: dict[str, np.ndarray]) -> None:
    with path.open("wb") as file:
        np.savez(file, **matrices)


def training_matrix(layer: str, kind: str, step: int, seed: int = 0) -> np.ndarray:
    """One captured matrix (see the module docstring)."""
    if layer not in LAYERS or kind not in KINDS or step not in CAPTURE_STEPS:
        raise ValueError(
            f"no captured matrix {key(layer, kind, step)}: layers {LAYERS}, kinds {KINDS}, "
            f"steps {CAPTURE_STEPS}"
        )
    return training_matrices(seed)[key(layer, kind, step)]


def _train(seed: int) -> dict[str, np.ndarray]:
    try:
        import torch
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            f"real gradient matrices need torch and scikit-learn installed ({exc})"
        ) from exc
    from torch import nn
    from torch.nn import functional

    digits = load_digits()
    pixels = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    labels = torch.tensor(digits.target, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.ModuleDict(
            {
                "embed": nn.Linear(64, WIDTH),
                "ln1": nn.LayerNorm(WIDTH),
                "fc1": nn.Linear(WIDTH, HIDDEN),
                "fc2": nn.Linear(HIDDEN, WIDTH),
                "ln2": nn.LayerNorm(WIDTH),
                "head": nn.Linear(WIDTH, 10),
            }
        )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.95)
    captured: dict[str, np.ndarray] = {}
    for step in range(1, TRAIN_STEPS + 1):
        optimizer.zero_grad()
        x = functional.gelu(model["embed"](pixels))
        h = x + model["fc2"](functional.gelu(model["fc1"](model["ln1"](x))))
        loss = functional.cross_entropy(model["head"](model["ln2"](h)), labels)
        loss.backward()
        optimizer.step()
        if step in CAPTURE_STEPS:
            for layer in LAYERS:
                weight = model[layer].weight
                momentum = optimizer.state[weight]["momentum_buffer"]
                captured[key(layer, "gradient", step)] = weight.grad.detach().numpy().copy()
                captured[key(layer, "momentum", step)] = momentum.detach().numpy().copy()
    return captured
