"""The hook specifications every harness plugin implements a subset of.

A plugin is a module (or object) registered under the entry-point group ``harness``; its
hook implementations are functions marked with ``harness.hookimpl`` and named as below.
Each hook returns a list of objects the registry accepts. The specifications take no
arguments today; arguments added later are passed by name, and pluggy lets an
implementation accept any subset of them, so today's plugins keep working.
"""

# The specifications are signatures: pluggy never calls their bodies, so they have none.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from harness.model.backend import Backend
    from harness.model.method import Method
    from harness.model.task import Task

PROJECT_NAME = "harness"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def harness_backends() -> list[Backend]:
    """Return the backends this plugin provides (``harness.Backend`` instances).

    A backend whose library or device is missing is still returned; its ``availability()``
    says why it cannot run.
    """


@hookspec
def harness_methods() -> list[Method]:
    """Return the methods this plugin provides (``harness.Method``, e.g. from ``@method``)."""


@hookspec
def harness_tasks() -> list[Task]:
    """Return the tasks this plugin provides (``harness.Task``, e.g. from ``@task``)."""
