"""Graph Laplacians for the ``graph_filter`` task, as scipy.sparse CSR matrices, and the exact
eigendecomposition of grid Laplacians.

Every graph is undirected with unit edge weights, and L = D − W is its combinatorial
Laplacian (symmetric positive semidefinite, λ_min = 0, constant vectors in the null space of
each connected component). Random graphs draw everything from the ``rng`` they are given.

Grids carry free (Neumann) boundaries: the path graph P_m has Laplacian eigenvalues
4 sin²(πk/(2m)), k = 0..m−1, with the DCT-II basis as eigenvectors (Strang, "The discrete
cosine transform", SIAM Review 1999), and the d-dimensional grid is the Cartesian product
of d paths, L = Σᵢ I ⊗ … ⊗ L_P ⊗ … ⊗ I. So g(L)X is exact at any size: an orthonormal
d-dimensional DCT-II, a multiplication by g(λ), the inverse DCT (O(n log n)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def laplacian(W: Any) -> Any:
    """L = diag(W 1) − W for a symmetric sparse adjacency matrix W, as CSR."""
    from scipy.sparse import diags_array

    degrees = np.asarray(W.sum(axis=1)).ravel()
    return (diags_array(degrees) - W).tocsr()


def _from_edges(n: int, i: np.ndarray, j: np.ndarray) -> Any:
    """The unit-weight symmetric adjacency matrix of the edges (i, j): self-loops dropped,
    repeated edges merged."""
    from scipy.sparse import coo_array

    keep = i != j
    i, j = i[keep], j[keep]
    W = coo_array((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    W.data[:] = 1.0  # duplicates were summed by the conversion
    return W


def grid_side(n: int, dimensions: int) -> int:
    """The side m of an m^d grid with n nodes; a clear error when n is not a d-th power."""
    m = round(n ** (1 / dimensions))
    if m**dimensions != n:
        below = math.floor(n ** (1 / dimensions) + 1e-9)
        raise ValueError(
            f"a {dimensions}D grid needs n = m^{dimensions} nodes, got n = {n}; "
            f"closest: {below**dimensions} ({below}^{dimensions}) or "
            f"{(below + 1) ** dimensions} ({below + 1}^{dimensions})"
        )
    return m


def grid_laplacian(m: int, dimensions: int) -> Any:
    """The Laplacian of the m^d grid graph (2d neighbours inside, fewer on the boundary)."""
    from scipy.sparse import diags_array, eye_array, kron

    path = laplacian(diags_array([np.ones(m - 1), np.ones(m - 1)], offsets=[-1, 1]).tocsr())
    L = None
    for axis in range(dimensions):
        term = None
        for other in range(dimensions):
            factor = path if other == axis else eye_array(m)
            term = factor if term is None else kron(term, factor)
        L = term if L is None else L + term
    return L.tocsr()


def grid_eigenvalues(m: int, dimensions: int) -> np.ndarray:
    """The eigenvalue of every DCT-II mode of the m^d grid, as an array of shape (m,)*d."""
    path = 4 * np.sin(np.pi * np.arange(m) / (2 * m)) ** 2
    return sum(np.meshgrid(*([path] * dimensions), indexing="ij", sparse=True))


def grid_transform(X: np.ndarray, m: int, dimensions: int, inverse: bool = False) -> np.ndarray:
    """The coefficients of each column of X (n × b) in the grid's orthonormal eigenbasis (the
    d-dimensional DCT-II), or with ``inverse`` the signals from coefficients; C order, so mode
    k has eigenvalue ``grid_eigenvalues(m, d).ravel()[k]``."""
    from scipy.fft import dctn, idctn

    transform = idctn if inverse else dctn
    cube = X.reshape((m,) * dimensions + (X.shape[1],))
    axes = tuple(range(dimensions))
    return transform(cube, type=2, norm="ortho", axes=axes).reshape(X.shape)


def stochastic_block_laplacian(
    n: int, blocks: int, degree: float, ratio: float, rng: np.random.Generator
) -> Any:
    """A stochastic block model (Holland, Laskey and Leinhardt 1983): ``blocks`` equal blocks,
    edge probability p_in inside a block and p_out = p_in/``ratio`` across, set so the mean
    degree is ``degree``. Each block pair's edge count is drawn binomially, then its endpoints
    uniformly (repeats merged: O(edges), where networkx's generator takes minutes at 10⁵)."""
    sizes = np.full(blocks, n // blocks)
    sizes[: n % blocks] += 1
    starts = np.r_[0, np.cumsum(sizes)]
    inside = (sizes * (sizes - 1)).sum() / n  # mean number of same-block partners
    p_out = degree / (ratio * inside + (n - 1 - inside))
    p_in = ratio * p_out
    rows, cols = [], []
    for a in range(blocks):
        for b in range(a, blocks):
            pairs = sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b]
            count = rng.binomial(pairs, p_in if a == b else p_out)
            rows.append(rng.integers(starts[a], starts[a + 1], count))
            cols.append(rng.integers(starts[b], starts[b + 1], count))
    return laplacian(_from_edges(n, np.concatenate(rows), np.concatenate(cols)))


def barabasi_albert_laplacian(n: int, attach: int, rng: np.random.Generator) -> Any:
    """A Barabási–Albert preferential-attachment graph (Science 1999; networkx's generator):
    each new node links to ``attach`` existing nodes chosen with probability proportional to
    their degree. Heavy-tailed degrees, so λ_max ≈ max degree + 1 grows like √n."""
    import networkx as nx

    graph = nx.barabasi_albert_graph(n, attach, seed=int(rng.integers(2**31)))
    edges = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    return laplacian(_from_edges(n, edges[:, 0], edges[:, 1]))


def digits_knn_laplacian(n: int, neighbors: int, rng: np.random.Generator) -> Any:
    """The symmetrised k-nearest-neighbour graph (Euclidean, unit weights; an edge where
    either point is among the other's ``neighbors`` nearest) of n images of scikit-learn's
    bundled digits (1797 8×8 images, shipped inside scikit-learn), chosen at random."""
    from sklearn.datasets import load_digits
    from sklearn.neighbors import kneighbors_graph

    images = load_digits().data / 16.0
    if n > len(images):
        raise ValueError(f"the digits data set has {len(images)} images, n = {n}")
    X = images[np.sort(rng.choice(len(images), size=n, replace=False))]
    knn = kneighbors_graph(X, neighbors, mode="connectivity").tocoo()
    return laplacian(_from_edges(n, knn.row, knn.col))
