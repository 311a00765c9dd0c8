"""linalg-harness: a plugin-based benchmark harness for matrix methods.

The names a plugin author needs are importable from here; see docs/writing-plugins.md.
"""

from harness.model.backend import Availability, Backend
from harness.model.method import FAMILIES, Footprint, Method, method
from harness.model.params import Param
from harness.model.task import Loop, Problem, Task, task
from harness.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Availability",
    "Backend",
    "Footprint",
    "Loop",
    "Method",
    "Param",
    "Problem",
    "Task",
    "__version__",
    "hookimpl",
    "method",
    "task",
]
