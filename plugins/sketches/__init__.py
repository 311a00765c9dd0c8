"""Sketches: the sketching matrices and the tasks that judge them (subspace embedding,
matrix product), randomized SVD and low-rank approximation, sketched least squares, trace
estimation, and library baselines."""
