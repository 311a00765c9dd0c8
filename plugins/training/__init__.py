"""Training: the ``muon_training`` and ``shampoo_training`` tasks, which judge an orthogonalizer
or an inverse root by the training run of the optimizer that calls it (docs/training.md)."""
