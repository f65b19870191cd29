"""Warm worker processes shared by threads, and the per-call orchestration of deadlines and re-runs.

All of a function's cases go to one worker in one job, which the worker runs in a freshly forked
child. When a case hangs or kills its worker,
the parent marks that case, replaces the worker and sends the cases that have no result yet to
the fresh one, so one bad case does not cost the others their results. The batch deadline bounds
the whole call.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from .isolation import Isolation, detect
from .limits import DEFAULT_LIMITS, Limits
from .process import NOT_STARTED, Failure, JobOutcome, SandboxUnavailableError, WorkerProcess
from .protocol import encode
from .results import CRASHED, MEMORY, RESTRICTED, TIMEOUT, CaseResult, ExecutionReport

MAX_SOURCE_CHARS = 1_000_000
MAX_CRASHES_IN_A_ROW = 3
MAX_LOST_WORKERS = 3  # workers that may fail before a job begins before the call gives up
MAX_JOBS_PER_WORKER = 1000
VM_SHARE = 0.75  # of the address-space limit; the template itself needs some 40 MB of it


def check_required_layers() -> None:
    """Refuse to run at all when a required layer cannot be provided on this machine."""
    problems = []
    if not sys.platform.startswith("linux"):
        problems.append(f"the executor needs Linux (found {sys.platform})")
    if importlib.util.find_spec("RestrictedPython") is None:
        problems.append("RestrictedPython is not installed (pip install RestrictedPython==9.0)")
    if importlib.util.find_spec("resource") is None:
        problems.append("the resource module (rlimits) is not available")
    if not hasattr(os, "memfd_create") or not hasattr(os, "killpg"):
        problems.append("os.memfd_create and os.killpg are needed")
    if problems:
        raise SandboxUnavailableError("cannot run untrusted solvers safely: " + "; ".join(problems))


@dataclass
class _Lease:
    """The worker one call is using; replaced after a kill, empty if no replacement could start."""

    worker: WorkerProcess | None


def _shut_down(idle: list[WorkerProcess], busy: set[WorkerProcess]) -> None:
    """Finalizer of a pool nobody closed: no thread uses an idle worker, so those can be disposed."""
    for worker in list(idle):
        worker.dispose()
    for worker in list(busy):
        worker.terminate()


class SandboxPool:
    """Pre-started worker processes; thread-safe; ``close()`` kills them all."""

    def __init__(self, size: int = 2, limits: Limits = DEFAULT_LIMITS) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        check_required_layers()
        self.isolation: Isolation = detect()
        self.limits = limits
        self.size = size
        self._cond = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._slots = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, _shut_down, self._idle, self._busy)
        started: list[WorkerProcess] = []
        try:
            for _ in range(size):
                started.append(WorkerProcess(limits.worker_key, self.isolation))
            for worker in started:
                worker.wait_ready()
        except BaseException:
            for worker in started:
                worker.dispose()
            self._finalizer.detach()
            raise
        self._idle.extend(started)
        self._slots = size

    # -- public -----------------------------------------------------------------------------

    def run(self, source: str, inputs: Sequence[str], limits: Limits | None = None) -> ExecutionReport:
        """Run ``solver`` from ``source`` on every input; never raises for anything the source does."""
        limits = limits or self.limits
        if type(source) is not str:
            raise TypeError("source must be a str")
        inputs = list(inputs)
        if any(type(text) is not str for text in inputs):
            raise TypeError("inputs must be a list of str")
        if len(source) > MAX_SOURCE_CHARS:
            detail = f"source has {len(source)} characters; the sandbox accepts at most {MAX_SOURCE_CHARS}"
            return ExecutionReport(
                RESTRICTED, detail, [CaseResult(t, None, RESTRICTED, detail) for t in inputs]
            )
        lease = _Lease(self._acquire(limits.worker_key))
        try:
            return self._execute(lease, source, inputs, limits)
        finally:
            if lease.worker is not None:
                self._release(lease.worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._cond.notify_all()
        for worker in idle:
            worker.dispose()
        for worker in busy:
            worker.terminate()  # its owner sees the kill, finds the pool closed and disposes it
        self._finalizer.detach()

    def worker_pids(self) -> list[int]:
        with self._cond:
            return sorted(w.pid for w in [*self._idle, *self._busy] if w.alive)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one call ---------------------------------------------------------------------------

    def _execute(self, lease: _Lease, source: str, inputs: list[str], limits: Limits) -> ExecutionReport:
        deadline = time.monotonic() + limits.batch_seconds
        results: list[CaseResult | None] = [None] * len(inputs)
        pending = list(range(len(inputs)))
        verdict: tuple[str, str | None] | None = None
        first_attempt = True
        crashes = 0
        lost_workers = 0
        while lease.worker is not None:
            worker = lease.worker
            job = encode(
                {
                    "source": source,
                    "inputs": [inputs[i] for i in pending],
                    "max_output_chars": limits.max_output_chars,
                }
            )
            outcome = worker.run_job(
                job, len(pending), limits.case_seconds, deadline, limits.max_output_chars
            )
            # replies arrive in order for a prefix of the pending cases
            for index, (output, error, why) in zip(pending, outcome.replies, strict=False):
                results[index] = CaseResult(inputs[index], output, error, why)
            failure = outcome.failure
            start = outcome.start
            if start is not None and start.error is not None:
                verdict = (start.error, start.detail) if first_attempt else None
                self._fill(results, inputs, start.error, start.detail)
                break
            if failure is None:
                self._note_usage(worker, outcome)
                break
            category, detail = self._describe(failure, limits)
            if failure.index == NOT_STARTED:
                # the worker failed before the job began: nothing to do with the source, no verdict
                lost_workers += 1
                if failure.kind != "batch_timeout" and lost_workers < MAX_LOST_WORKERS and not self._closed:
                    self._replace(lease, results, inputs)
                    continue
                lost = f"not run: the worker failed before the job began: {detail}"
                self._fill(results, inputs, category, lost)
                break
            if failure.index == -1:
                verdict = (category, detail) if first_attempt else None
                self._fill(results, inputs, category, detail)
                break
            if failure.index is not None and failure.index < len(pending):
                index = pending[failure.index]
                results[index] = CaseResult(inputs[index], None, category, detail)
            pending = [i for i in pending if results[i] is None]
            crashes = crashes + 1 if category == CRASHED else 0
            stop = self._stop_reason(failure, crashes, limits)
            if stop or not pending:
                if stop:
                    self._fill(results, inputs, *stop)
                break
            self._replace(lease, results, inputs)
            first_attempt = False
        self._fill(results, inputs, CRASHED, "not run")  # unreachable in practice: every path fills
        final = [r for r in results if r is not None]
        if verdict is not None:
            return ExecutionReport(verdict[0], verdict[1], final)
        return ExecutionReport(None, None, final)

    @staticmethod
    def _fill(results: list[CaseResult | None], inputs: list[str], error: str, detail: str | None) -> None:
        for index, result in enumerate(results):
            if result is None:
                results[index] = CaseResult(inputs[index], None, error, detail)

    @staticmethod
    def _describe(failure: Failure, limits: Limits) -> tuple[str, str]:
        if failure.kind == "case_timeout":
            return TIMEOUT, f"took longer than the {limits.case_seconds:g} s wall-clock limit"
        if failure.kind == "batch_timeout":
            return TIMEOUT, f"the {limits.batch_seconds:g} s limit for the whole batch was reached"
        if failure.kind == "cpu_limit":
            return TIMEOUT, failure.detail
        return CRASHED, failure.detail

    def _stop_reason(self, failure: Failure, crashes: int, limits: Limits) -> tuple[str, str] | None:
        if failure.kind == "batch_timeout":
            return TIMEOUT, f"not run: the {limits.batch_seconds:g} s limit for the whole batch was reached"
        if crashes >= MAX_CRASHES_IN_A_ROW:
            return CRASHED, f"not run: the worker crashed on {crashes} cases in a row"
        if self._closed:
            return CRASHED, "not run: the sandbox pool was closed"
        return None

    @staticmethod
    def _note_usage(worker: WorkerProcess, outcome: JobOutcome) -> None:
        """Retire a worker whose template used much of its CPU, RSS or address space, or after a
        memory error (jobs run in children that are gone, so neither should ever happen)."""
        cpu_seconds, memory_mb = worker.key
        end = outcome.end
        worn = (
            end is None
            or end.cpu_seconds > cpu_seconds / 2
            or end.rss_mb > memory_mb / 2
            or end.vm_mb > memory_mb * VM_SHARE
        )
        hit_memory_limit = any(error == MEMORY for _, error, _ in outcome.replies)
        if worn or hit_memory_limit or worker.jobs_run >= MAX_JOBS_PER_WORKER:
            worker.retire = True

    # -- workers ----------------------------------------------------------------------------

    def _acquire(self, key: tuple[int, int]) -> WorkerProcess:
        stale: WorkerProcess | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the sandbox pool is closed")
                for dead in [w for w in self._idle if not w.alive]:
                    self._idle.remove(dead)
                    self._slots -= 1
                    dead.dispose()
                # most recently used first: its memory and caches are warm
                match = next((w for w in reversed(self._idle) if w.key == key), None)
                if match is not None:
                    self._idle.remove(match)
                    self._busy.add(match)
                    worker = match
                    break
                if self._idle and self._slots >= self.size:
                    stale = self._idle.pop(0)
                    break
                if self._slots < self.size:
                    self._slots += 1
                    break
                self._cond.wait()
        if stale is not None:
            stale.dispose()
        if match is None:
            worker = self._start(key)
        try:
            worker.wait_ready()
        except SandboxUnavailableError:
            self._drop(worker)
            raise
        return worker

    def _start(self, key: tuple[int, int]) -> WorkerProcess:
        """A new worker in a slot the caller has reserved; the slot is given back on failure."""
        try:
            worker = WorkerProcess(key, self.isolation)
        except BaseException:
            with self._cond:
                self._slots -= 1
                self._cond.notify()
            raise
        with self._cond:
            if not self._closed:
                self._busy.add(worker)
                return worker
            self._slots -= 1
        worker.dispose()
        raise SandboxUnavailableError("the sandbox pool was closed")

    def _drop(self, worker: WorkerProcess) -> None:
        worker.dispose()
        with self._cond:
            self._busy.discard(worker)
            self._slots -= 1
            self._cond.notify()

    def _replace(self, lease: _Lease, results: list[CaseResult | None], inputs: list[str]) -> None:
        """Put a fresh, ready worker with the same limits in place of a killed one (same slot).

        If none can be started, the cases still open are marked crashed, and the lease is empty.
        """
        old = lease.worker
        assert old is not None
        lease.worker = None
        old.dispose()
        with self._cond:
            self._busy.discard(old)
        try:
            fresh = self._start(old.key)
        except SandboxUnavailableError as exc:
            self._fill(results, inputs, CRASHED, f"not run: {exc}")
            return
        try:
            fresh.wait_ready()
        except SandboxUnavailableError as exc:
            self._drop(fresh)
            self._fill(results, inputs, CRASHED, f"not run: {exc}")
            return
        lease.worker = fresh

    def _release(self, worker: WorkerProcess) -> None:
        with self._cond:
            self._busy.discard(worker)
            if worker.alive and not worker.retire and not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            warm_up = not self._closed
            if not warm_up:
                self._slots -= 1
                self._cond.notify()
        worker.dispose()
        if warm_up:
            self._warm_up(worker.key)

    def _warm_up(self, key: tuple[int, int]) -> None:
        """Start a replacement in a freed slot; its hand-shake is awaited when it is first used."""
        try:
            fresh = WorkerProcess(key, self.isolation)
        except SandboxUnavailableError:
            with self._cond:
                self._slots -= 1
                self._cond.notify()
            return
        with self._cond:
            if not self._closed:
                self._idle.append(fresh)
                self._cond.notify()
                return
            self._slots -= 1
        fresh.dispose()
