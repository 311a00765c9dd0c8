"""Orthogonalizers: the ``orthogonalize`` task (polar factor of a matrix), Newton–Schulz and
its coefficient sets, Polar Express, QR family, Cayley and Householder parametrizations,
Jacobi SVD, AuON, and torch's Muon as a baseline."""
