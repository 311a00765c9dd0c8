"""Method plugin: random feature maps Φ with Φ(X) Φ(Y)ᵀ ≈ K(X, Y), for the
``kernel_approximation`` task, whose inputs are ``(X, features, kernel)``: X (n×d, one point a
row), the number m of random directions, and the kernel's name:

- ``"rbf"``, K(x, y) = exp(−‖x − y‖²/2): random Fourier features (Rahimi and Recht, NIPS
  2007), Φ(x) = m^(−½) [cos(Wx), sin(Wx)] (2m columns; Bochner: E cos(wᵀ(x − y)) = K for
  w ~ N(0, I));
- ``"softmax"``, K(x, y) = exp(xᵀy), the kernel of softmax attention: positive random
  features (FAVOR+, Choromanski et al., ICLR 2021), Φ(x) = m^(−½) exp(Wx − ‖x‖²/2)
  (m columns, all positive; E exp(wᵀ(x + y) − ‖x‖²/2 − ‖y‖²/2) = exp(xᵀy)).

The methods differ only in how the m rows w of W (each marginally N(0, I_d)) are coupled,
in blocks of d:

- ``iid_random_features``: independent Gaussian rows;
- ``orthogonal_random_features`` (ORF: Yu et al., NIPS 2016): each block's directions are
  the rows of a Haar-random orthogonal matrix, each scaled by an independent χ_d norm (the
  norm of a fresh N(0, I_d) vector), so that every row is still N(0, I_d);
- ``simplex_random_features`` (SimRF: Reid, Choromanski, Likhosherstov and Weller, ICML
  2023): each block's directions are the d vertices of a regular simplex (unit vectors with
  pairwise inner products −1/(d − 1)), randomly rotated, with independent χ_d norms. The
  paper proves it the coupling of smallest MSE among weight-independent geometrically coupled
  positive random features.

A last, partial block keeps its first rows. W is drawn on the host from ``seed``
(``method_rng``: numpy's PCG64, a stream apart from the problem's; QR for the rotations), so
every backend sees the same directions; the feature map is computed on the device, written
against ``xp``. See docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES

from harness import Method, hookimpl, method

TASKS = {"kernel_approximation"}
KERNELS = ("rbf", "softmax")


STREAM = 0x5EED
"""Mixed into every seed of these methods' draws: numpy's ``default_rng(seed)`` would
otherwise repeat the first draws of a problem generated from the same seed (a task's Gaussian
points would come back as the directions W)."""


def method_rng(seed: int) -> np.random.Generator:
    """The generator of a method's random draws: ``default_rng([seed, STREAM])``, a stream
    independent of ``default_rng(seed)``, from which the harness generates problems."""
    return np.random.default_rng([seed, STREAM])


def haar_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Haar-distributed d×d orthogonal matrix (QR of a Gaussian, R's signs moved into Q)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def chi_norms(rng: np.random.Generator, count: int, d: int) -> np.ndarray:
    """``count`` independent χ_d draws, the norms of N(0, I_d) vectors."""
    return np.linalg.norm(rng.standard_normal((count, d)), axis=1)


def simplex_vertices(d: int) -> np.ndarray:
    """The d×d matrix whose rows are the unit vertices of a regular simplex centred at 0:
    (eᵢ − 1/d) / √((d − 1)/d), with pairwise inner products −1/(d − 1)."""
    return (np.eye(d) - 1.0 / d) / np.sqrt((d - 1) / d)


def iid_directions(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """m independent N(0, I_d) rows."""
    return rng.standard_normal((m, d))


def orthogonal_directions(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """Blocks of d orthogonal directions (rows of a Haar rotation) with χ_d norms."""
    blocks = [haar_rotation(rng, d) for _ in range(-(-m // d))]
    return np.concatenate(blocks)[:m] * chi_norms(rng, m, d)[:, None]


def simplex_directions(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """Blocks of d rotated simplex directions with χ_d norms (d ≥ 2)."""
    if d < 2:
        raise ValueError(f"simplex random features need d ≥ 2 dimensions, got d = {d}")
    S = simplex_vertices(d)
    blocks = [S @ haar_rotation(rng, d) for _ in range(-(-m // d))]
    return np.concatenate(blocks)[:m] * chi_norms(rng, m, d)[:, None]


Directions = Callable[[np.random.Generator, int, int], np.ndarray]


def feature_map(xp: Any, X: Any, W: np.ndarray, kernel: str) -> Any:
    """Φ(X) for the directions W (host, m×d), on X's device and in its dtype (see above)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    m = W.shape[0]
    Wt = xp.asarray(W.T, dtype=X.dtype, device=array_device(X))
    P = X @ Wt
    if kernel == "rbf":
        return xp.concat([xp.cos(P), xp.sin(P)], axis=1) / m**0.5
    half_norms = xp.sum(X * X, axis=1, keepdims=True) / 2
    return xp.exp(P - half_norms) / m**0.5


def random_features(
    xp: Any, X: Any, features: int, kernel: str, seed: int, directions: Directions
) -> Any:
    """Φ(X) with ``features`` directions drawn by ``directions`` from ``seed``."""
    if features < 1:
        raise ValueError(f"features must be ≥ 1, got {features}")
    W = directions(method_rng(seed), features, X.shape[1])
    return feature_map(xp, X, W, kernel)


def feature_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """The projection X Wᵀ: 2 n d m (the elementwise cos/sin/exp are not counted)."""
    return 2.0 * sizes["n"] * sizes["d"] * sizes["features"]


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=feature_flops)
def iid_random_features(X: Any, features: int, kernel: str, *, xp: Any, seed: int = 0) -> Any:
    """Random features with m = ``features`` i.i.d. N(0, I) directions: random Fourier
    features (Rahimi–Recht 2007) for ``rbf``, positive random features (FAVOR+) for
    ``softmax``. Returns Φ(X): n × 2m (rbf) or n × m (softmax)."""
    return random_features(xp, X, features, kernel, seed, iid_directions)


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=feature_flops)
def orthogonal_random_features(
    X: Any, features: int, kernel: str, *, xp: Any, seed: int = 0
) -> Any:
    """Orthogonal random features (Yu et al. 2016): directions in blocks of d, the rows of a
    Haar rotation, each with an independent χ_d norm; same feature maps as
    ``iid_random_features``."""
    return random_features(xp, X, features, kernel, seed, orthogonal_directions)


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=feature_flops)
def simplex_random_features(X: Any, features: int, kernel: str, *, xp: Any, seed: int = 0) -> Any:
    """Simplex random features (SimRF, Reid et al. 2023): directions in blocks of d, the
    vertices of a randomly rotated regular simplex (pairwise cosine −1/(d − 1)), each with an
    independent χ_d norm; same feature maps as ``iid_random_features``."""
    return random_features(xp, X, features, kernel, seed, simplex_directions)


@hookimpl
def harness_methods() -> list[Method]:
    return [iid_random_features, orthogonal_random_features, simplex_random_features]
