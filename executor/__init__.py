"""Sandboxed executor: runs untrusted, model-written ``solver`` functions on held-out cases.

Layers, all required: RestrictedPython with guards and allow-lists (``policy``), a separate
``python -I`` worker with an empty environment, an empty temporary directory, its own process
group and hard resource limits, that forks a fresh child for every job and never runs solver code
itself (``worker``), network and mount namespaces and a uid per worker where the machine allows
them (``isolation``), and wall-clock limits per case and per batch enforced by the parent, which
kills the worker's whole process group (``process``, ``pool``).
"""

from __future__ import annotations

import atexit
import threading

from .isolation import Isolation, network_isolation_available
from .isolation import detect as isolation_info
from .limits import DEFAULT_LIMITS, Limits
from .pool import SandboxPool
from .process import SandboxUnavailableError
from .results import ERROR_CATEGORIES, CaseResult, ExecutionReport
from .terminal import escape_controls

__all__ = [
    "DEFAULT_LIMITS",
    "ERROR_CATEGORIES",
    "CaseResult",
    "ExecutionReport",
    "Isolation",
    "Limits",
    "SandboxPool",
    "SandboxUnavailableError",
    "escape_controls",
    "isolation_info",
    "network_isolation_available",
    "run_solver",
]


class _SharedPool:
    """The pool behind ``run_solver``: started on first use, closed when the interpreter exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: SandboxPool | None = None

    def get(self) -> SandboxPool:
        with self._lock:
            if self._pool is None or self._pool.closed:
                self._pool = SandboxPool()
                atexit.register(self._pool.close)
            return self._pool


_shared = _SharedPool()


def run_solver(source: str, inputs: list[str], limits: Limits = DEFAULT_LIMITS) -> ExecutionReport:
    """Run ``solver`` from ``source`` on each input in the shared, lazily started worker pool."""
    return _shared.get().run(source, inputs, limits)
