"""The two training workloads of the training tasks: small enough for a run of a few hundred
steps in seconds on two CPU cores, from data that ships with installed packages.

``digits``: the digits MLP of ``harness_builtins.workloads`` (the one whose gradients the
``orthogonalize`` task draws on) at width W: scikit-learn's 1797 8×8 images, 10 classes,

    x = GELU(embed(pixels))                 embed: 64 → W
    h = x + fc2(GELU(fc1(LayerNorm(x))))    fc1: W → 4W, fc2: 4W → W
    logits = head(LayerNorm(h))             head: W → 10

with a fixed split (a permutation from seed 0: 1437 training images, 360 validation) and
mini-batches of 128 drawn from the run's seed.

``charlm``: a character-level transformer language model (GPT-2 layout, pre-LayerNorm, two
blocks of causal self-attention with W/32 heads — one head where W is no multiple of 32 — and
a 4W MLP, learned positions, context 64, batches of 32 windows) on the Python standard
library's own source text: ``CORPUS_FILES``
read from ``sysconfig``'s stdlib folder in that order, characters outside printable ASCII
mapped to ``?`` (97 symbols). The first 90% is for training, the last 10% for validation
(validation loss over 32 fixed windows); the text is that of the running Python's stdlib, so
runs compare within one Python version (the run's metadata records it).

Each workload names its **hidden** 2-D weights (fc1, fc2; attention and MLP matrices): Muon
and Shampoo train those, AdamW the rest (embeddings, head, biases, LayerNorm gains), as in
the public Muon implementation.
"""

from __future__ import annotations

import functools
import math
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional

WorkloadName = Literal["digits", "charlm"]
CORPUS_FILES = (
    "textwrap.py",
    "heapq.py",
    "functools.py",
    "fractions.py",
    "difflib.py",
    "argparse.py",
    "dataclasses.py",
    "contextlib.py",
)
SYMBOLS = "\t\n" + "".join(chr(c) for c in range(32, 127))
CONTEXT, LM_BATCH, LM_VAL_WINDOWS, DIGITS_BATCH = 64, 32, 32, 128


@dataclass
class Workload:
    """A model, its parameters split into hidden 2-D weights and the rest, and its data."""

    model: nn.Module
    hidden: list[nn.Parameter]
    """2-D weights of the hidden layers: what Muon orthogonalizes and Shampoo preconditions."""
    other: list[nn.Parameter]
    """Embeddings, output head, biases and gains: trained by AdamW."""
    batch: Any
    """``batch(generator) -> (inputs, targets)``: a training mini-batch."""
    validation: tuple[torch.Tensor, torch.Tensor]

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self.model(inputs)
        return functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def validation_loss(self) -> float:
        with torch.no_grad():
            return float(self.loss(*self.validation))


class DigitsMLP(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.embed, self.head = nn.Linear(64, width), nn.Linear(width, 10)
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.fc1, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = functional.gelu(self.embed(pixels))
        h = x + self.fc2(functional.gelu(self.fc1(self.ln1(x))))
        return self.head(self.ln2(h))


class Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.heads = max(1, width // 32) if width % 32 == 0 else 1
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)
        self.fc1 = nn.Linear(width, 4 * width, bias=False)
        self.fc2 = nn.Linear(4 * width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(w, dim=-1)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, w))
        return x + self.fc2(functional.gelu(self.fc1(self.ln2(x))))


class CharLM(nn.Module):
    def __init__(self, width: int, layers: int = 2) -> None:
        super().__init__()
        self.tokens = nn.Embedding(len(SYMBOLS), width)
        self.positions = nn.Embedding(CONTEXT, width)
        self.blocks = nn.ModuleList(Block(width) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, len(SYMBOLS), bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tokens(tokens) + self.positions(
            torch.arange(tokens.shape[1], device=tokens.device)
        )
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


@functools.cache
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train pixels, train labels, validation pixels, validation labels): a fixed split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    cut = len(order) * 4 // 5
    pixels, labels = digits.data / 16.0, digits.target
    return pixels[order[:cut]], labels[order[:cut]], pixels[order[cut:]], labels[order[cut:]]


@functools.cache
def corpus() -> np.ndarray:
    """The stdlib source text as symbol indices (``SYMBOLS``; anything else is ``?``)."""
    folder = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((folder / name).read_text(encoding="utf-8") for name in CORPUS_FILES)
    index = {c: i for i, c in enumerate(SYMBOLS)}
    unknown = index["?"]
    return np.array([index.get(c, unknown) for c in text], dtype=np.int64)


def _digits(width: int, device: torch.device) -> Workload:
    train_x, train_y, val_x, val_y = (
        torch.as_tensor(a, dtype=torch.float32 if a.ndim == 2 else torch.long, device=device)
        for a in digits_split()
    )
    model = DigitsMLP(width).to(device)

    def batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(len(train_y), (DIGITS_BATCH,), generator=generator)
        rows = rows.to(device)
        return train_x[rows], train_y[rows]

    hidden = [model.fc1.weight, model.fc2.weight]
    return Workload(model, hidden, _others(model, hidden), batch, (val_x, val_y))


def _charlm(width: int, device: torch.device) -> Workload:
    text = torch.as_tensor(corpus(), device=device)
    cut = len(text) * 9 // 10
    train, val = text[:cut], text[cut:]
    model = CharLM(width).to(device)
    starts = torch.linspace(0, len(val) - CONTEXT - 2, LM_VAL_WINDOWS).long()
    windows = torch.stack([val[s : s + CONTEXT + 1] for s in starts.tolist()])

    def batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(len(train) - CONTEXT - 1, (LM_BATCH,), generator=generator)
        rows = torch.stack([train[s : s + CONTEXT + 1] for s in starts.tolist()])
        return rows[:, :-1], rows[:, 1:]

    hidden = [
        weight
        for block in model.blocks
        for weight in (block.qkv.weight, block.proj.weight, block.fc1.weight, block.fc2.weight)
    ]
    return Workload(model, hidden, _others(model, hidden), batch, (windows[:, :-1], windows[:, 1:]))


def _others(model: nn.Module, hidden: list[nn.Parameter]) -> list[nn.Parameter]:
    ids = {id(p) for p in hidden}
    return [p for p in model.parameters() if id(p) not in ids]


def make_workload(name: WorkloadName, width: int, seed: int, device: torch.device) -> Workload:
    """The workload ``name`` at ``width``, its weights initialised from ``seed``."""
    if width < 8:
        raise ValueError(f"width must be at least 8, got {width}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return (_digits if name == "digits" else _charlm)(width, device)


def chance_loss(name: WorkloadName) -> float:
    """The loss of a uniform guess: log(classes); a loss above it has learnt nothing."""
    return math.log(10 if name == "digits" else len(SYMBOLS))
