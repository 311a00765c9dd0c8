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

Per-example gradients (``per_example_factors``): fc1 and fc2 act on each image's one
activation vector, so the gradient of example i's own loss ℓᵢ with respect to the weight is the
outer product δᵢ aᵢᵀ of the gradient δᵢ = ∂ℓᵢ/∂(layer output) and the layer's input aᵢ; their
mean over the 1797 images is the captured batch gradient. The factors (aᵢ, δᵢ) are captured at
the same steps, from the same (identical) training run, and kept in a cache file of their own.

The matrices are cached in ``$HARNESS_CACHE`` (default ``~/.cache/linalg-harness``) as
``digits-mlp-v<version>-seed<seed>.npz`` (the factors as ``...-per-example.npz``) and
regenerated when missing (a few seconds on two cores). Their spectra are tabulated in
docs/methods.md.
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


def training_matrices(seed: int = 0, per_example: bool = False) -> dict[str, np.ndarray]:
    """Every captured matrix, keyed by ``key(layer, kind, step)``, as float64 numpy arrays;
    with ``per_example``, the per-example gradient factors instead (kinds ``inputs`` and
    ``output_gradients``, see ``per_example_factors``).

    Read from the cache, or generated (and cached) when the file is missing.
    """
    suffix = "-per-example" if per_example else ""
    name = f"digits-mlp-v{WORKLOAD_VERSION}-seed{seed}{suffix}.npz"
    matrices = cache.read(name, _load)
    if matrices is None:
        matrices = _train(seed, per_example)
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


def per_example_factors(layer: str, step: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(a, δ) for ``layer`` at training ``step``: a (1797 × in) the layer's inputs, δ (1797 ×
    out) the gradients of each example's own loss with respect to the layer's outputs, so that
    the per-example gradient of the weight (out × in) is Gᵢ = δᵢ aᵢᵀ and the captured batch
    gradient is (1/1797) Σᵢ Gᵢ."""
    if layer not in LAYERS or step not in CAPTURE_STEPS:
        raise ValueError(
            f"no per-example gradients of {layer} at step {step}: layers {LAYERS}, "
            f"steps {CAPTURE_STEPS}"
        )
    factors = training_matrices(seed, per_example=True)
    return factors[key(layer, "inputs", step)], factors[key(layer, "output_gradients", step)]


def _train(seed: int, per_example: bool = False) -> dict[str, np.ndarray]:
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
        inputs = {"fc1": model["ln1"](x)}
        outputs = {"fc1": model["fc1"](inputs["fc1"])}
        inputs["fc2"] = functional.gelu(outputs["fc1"])
        outputs["fc2"] = model["fc2"](inputs["fc2"])
        for output in outputs.values():
            output.retain_grad()
        h = x + outputs["fc2"]
        loss = functional.cross_entropy(model["head"](model["ln2"](h)), labels)
        loss.backward()
        optimizer.step()
        if step in CAPTURE_STEPS and per_example:
            for layer in LAYERS:  # the mean loss's output gradient is δᵢ / N
                captured[key(layer, "inputs", step)] = inputs[layer].detach().numpy().copy()
                captured[key(layer, "output_gradients", step)] = outputs[
                    layer
                ].grad.detach().numpy() * len(labels)
        elif step in CAPTURE_STEPS:
            for layer in LAYERS:
                weight = model[layer].weight
                momentum = optimizer.state[weight]["momentum_buffer"]
                captured[key(layer, "gradient", step)] = weight.grad.detach().numpy().copy()
                captured[key(layer, "momentum", step)] = momentum.detach().numpy().copy()
    return captured
