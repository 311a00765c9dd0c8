"""A run, from plan to stored results: the plain data passed between processes (``case``),
the run from its stored plan (``runner``), where cases run (``placement``: this machine,
``executors``, or a Dask cluster, ``dask_executor``), one case in a fresh worker
(``isolation``) and where it runs (``execute``), the timing protocol and its statistics
(``timing``, ``stats``), and what a run records about the machine (``roofline``,
``metadata``, ``conditions``)."""
