"""A plugin of methods that fail in every way a worker process can: the isolation tests
register it (as an importable module, so worker processes can import it too)."""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from harness import hookimpl, method


@method(family="orthogonalizer")
def explodes(G, *, xp):
    raise ValueError("this method always raises")


@method(family="orthogonalizer")
def sleeps(G, *, xp):
    if "MISBEHAVING_PIDFILE" in os.environ:  # lets a test find this worker
        with open(os.environ["MISBEHAVING_PIDFILE"], "w") as pidfile:
            pidfile.write(str(os.getpid()))
    time.sleep(3600)


@method(family="orthogonalizer")
def exits(G, *, xp):
    os._exit(3)


@method(family="orthogonalizer")
def segfaults(G, *, xp):
    ctypes.string_at(0)


@method(family="orthogonalizer")
def hoards(G, *, xp):
    kept = []
    while True:
        kept.append(np.ones(2**24))  # 128 MiB at a time, touched


@hookimpl
def harness_methods():
    return [explodes, sleeps, exits, segfaults, hoards]
