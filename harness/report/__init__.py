"""The HTML report: a static, self-contained site of stored runs that works offline from
file:// (inline SVG plots drawn in Python, a little inline script for sorting, the metric
selector and tooltips; no network).

Modules, one concept each: ``rows`` (cases with their repetitions merged), ``analysis``
(Pareto front, scaling exponents, log floors), ``svg`` (plots), ``figure`` (a plot with its
log/linear toggle and CSV data), ``charts`` (the report's plots), ``training``
(a training task's loss plots and final-loss table),
``tables`` (sortable tables), ``markup`` (escaping and number formats), ``pages`` (the pages),
``site`` (the folder of pages, and publishing). ``docs/reports.md`` describes what each page
shows.
"""

from harness.report.site import publish, write

__all__ = ["publish", "write"]
