"""What a plugin provides, as the host sees it: ``Method`` and its decorator (``method``),
``Task`` and ``Problem`` (``task``), typed parameters (``params``), the ``Backend`` interface
(``backend``) and the sparse operator over each backend's sparse matrices (``sparse``)."""
