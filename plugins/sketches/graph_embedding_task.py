"""Task plugin: ``graph_embedding``, judging node embeddings of a stochastic block model by how
well they recover its blocks.

Inputs ``(A, dim)``: the symmetrically normalised adjacency A = D^(−½) W D^(−½) of the graph
(scipy.sparse CSR, or dense with ``sparse: false`` so that a backend without sparse matrices
runs it; isolated nodes get a zero row) and the embedding dimension. A method returns an
embedding E (n × any width).

Metrics, in float64 on the host, with a nearest-centroid classifier on the row-normalised
embedding (rows scaled to unit length; a zero row stays zero): each block's centroid is the
mean of a random half of its nodes (the train nodes), and every other node is assigned to the
nearest centroid (Euclidean). The blocks are the graph's only labels: nothing else is learned.

- ``accuracy``: the fraction of the other half assigned to its own block;
- ``accuracy_gap``: the accuracy of the exact spectral embedding (the top ``blocks``
  eigenvectors of A by float64 eigh, as in Ng, Jordan and Weiss 2001) minus ``accuracy``.

The main metric is ``accuracy``, higher-is-better; ``accuracy_gap`` is lower-is-better.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from harness_builtins.spectral import graphs

from harness import Problem, Task, hookimpl, task


def block_labels(n: int, blocks: int) -> np.ndarray:
    """The block of each node, as ``graphs.stochastic_block_laplacian`` lays them out:
    ``blocks`` contiguous blocks, the first n mod blocks of them one node larger."""
    sizes = np.full(blocks, n // blocks)
    sizes[: n % blocks] += 1
    return np.repeat(np.arange(blocks), sizes)


def centroid_accuracy(E: np.ndarray, labels: np.ndarray, train: np.ndarray) -> float:
    """Nearest-centroid accuracy on the nodes outside ``train`` (see the module docstring)."""
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    E = E / np.where(norms > 0, norms, 1.0)
    test = np.setdiff1d(np.arange(len(E)), train)
    blocks = np.unique(labels)
    centroids = np.stack([E[train][labels[train] == b].mean(axis=0) for b in blocks])
    distances = ((E[test][:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(blocks[np.argmin(distances, axis=1)] == labels[test]))


def graph_embedding_metrics(problem: Problem, output: Any) -> dict[str, float]:
    E = np.asarray(output)
    labels, train = problem.reference["labels"], problem.reference["train"]
    if E.ndim != 2 or E.shape[0] != len(labels):
        raise ValueError(f"the embedding is {E.shape}, expected one row per node ({len(labels)})")
    accuracy = centroid_accuracy(E, labels, train)
    return {
        "accuracy": accuracy,
        "accuracy_gap": problem.reference["spectral_accuracy"] - accuracy,
    }


def normalized_adjacency(L: Any) -> Any:
    """D^(−½) W D^(−½) from the Laplacian L = D − W (scipy.sparse), as CSR."""
    from scipy.sparse import diags_array

    degrees = L.diagonal()
    scale = np.where(degrees > 0, 1 / np.sqrt(np.where(degrees > 0, degrees, 1.0)), 0.0)
    W = diags_array(degrees) - L
    return (diags_array(scale) @ W @ diags_array(scale)).tocsr()


@task(
    name="graph_embedding",
    family="sketch",
    size_names=("n", "dim"),
    metrics=graph_embedding_metrics,
    example_sizes=(64, 8),
    main_metric="accuracy",
    higher_is_better=("accuracy",),
)
def generate_graph_embedding(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    blocks: int = 4,
    mean_degree: float = 10.0,
    ratio: float = 5.0,
    sparse: bool = True,
) -> Problem:
    """A stochastic block model on n nodes (``graphs.stochastic_block_laplacian``: ``blocks``
    equal blocks, edges ``ratio`` times likelier inside a block, mean degree
    ``mean_degree``), its normalised adjacency A (sparse CSR, or dense with ``sparse: false``),
    the embedding dimension ``dim``, the blocks, a random half of each block for the centroids,
    and the accuracy of the exact spectral embedding (top ``blocks`` eigenvectors of A)."""
    n, dim = sizes["n"], sizes["dim"]
    if not 2 <= blocks <= n // 2 or dim < 1 or ratio <= 0:
        raise ValueError(
            f"graph_embedding needs 2 ≤ blocks ≤ n/2, dim ≥ 1 and ratio > 0; got n = {n}, "
            f"blocks = {blocks}, dim = {dim}, ratio = {ratio}"
        )
    A = normalized_adjacency(graphs.stochastic_block_laplacian(n, blocks, mean_degree, ratio, rng))
    labels = block_labels(n, blocks)
    train = np.sort(
        np.concatenate(
            [
                rng.choice(
                    np.flatnonzero(labels == b), size=np.sum(labels == b) // 2, replace=False
                )
                for b in range(blocks)
            ]
        )
    )
    top = np.linalg.eigh(A.toarray())[1][:, -blocks:]
    reference = {
        "labels": labels,
        "train": train,
        "spectral_accuracy": centroid_accuracy(top, labels, train),
    }
    return Problem(inputs=(A if sparse else A.toarray(), dim), reference=reference)


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_graph_embedding]
