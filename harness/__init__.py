"""linalg-harness: a plugin-based benchmark harness for matrix methods.

The names a plugin author needs are importable from here; see docs/writing-plugins.md.
"""

from harness.backend import Availability, Backend
from harness.hookspecs import hookimpl
from harness.method import FAMILIES, Method, method
from harness.params import Param
from harness.task import Problem, Task, task

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Availability",
    "Backend",
    "Method",
    "Param",
    "Problem",
    "Task",
    "__version__",
    "hookimpl",
    "method",
    "task",
]
