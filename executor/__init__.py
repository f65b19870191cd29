"""Sandboxed executor: runs untrusted, model-written ``solver`` functions on held-out cases.

Layers, all required: RestrictedPython with guards and allow-lists (``policy``), a separate
``python -I`` worker with an empty environment, an empty temporary directory, its own process
group and hard resource limits (``worker``), a network namespace where the machine allows one
(``isolation``), and wall-clock limits per case and per batch enforced by the parent, which kills
the worker's whole process group (``process``, ``pool``).
"""

from __future__ import annotations

import atexit
import threading

from .isolation import Isolation, network_isolation_available
from .isolation import detect as isolation_info
from .limits import Limits
from .pool import SandboxPool
from .process import SandboxUnavailable
from .results import ERROR_CATEGORIES, CaseResult, ExecutionReport

__all__ = [
    "ERROR_CATEGORIES", "CaseResult", "ExecutionReport", "Isolation", "Limits", "SandboxPool",
    "SandboxUnavailable", "isolation_info", "network_isolation_available", "run_solver",
]

_default_pool: SandboxPool | None = None
_default_lock = threading.Lock()


def _shared_pool() -> SandboxPool:
    global _default_pool
    with _default_lock:
        if _default_pool is None or _default_pool.closed:
            _default_pool = SandboxPool()
            atexit.register(_default_pool.close)
        return _default_pool


def run_solver(source: str, inputs: list[str], limits: Limits = Limits()) -> ExecutionReport:
    """Run ``solver`` from ``source`` on each input in the shared, lazily started worker pool."""
    return _shared_pool().run(source, inputs, limits)
