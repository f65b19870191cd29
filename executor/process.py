"""The parent's handle on one worker process: start, hand-shake, run one job under deadlines, kill."""

from __future__ import annotations

import json
import mmap
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from .isolation import PACKAGE_ROOT, Isolation, new_uid
from .protocol import (
    CaseReply,
    End,
    ProtocolError,
    Start,
    max_line_bytes,
    parse_line,
    read_cases,
    read_end,
    read_start,
)

BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[2]); from executor.worker import main; main()"
STARTUP_SECONDS = 30.0
POLL_SECONDS = 0.05
DRAIN_SECONDS = 0.05
PENDING_INDEX = -2
NOT_STARTED = PENDING_INDEX
READ_CHUNK = 1 << 16
START_SECONDS = 5.0  # for a worker to fork the child that runs a job
STOP_SECONDS = 1.0  # for a worker to stop its job's child and exit when asked
ORPHAN_SECONDS = 3.0  # for the init process to reap a child whose worker was killed from outside


_uids_lock = threading.Lock()
_uids_in_use: set[int] = set()  # of this process's live workers, when each gets its own uid


class SandboxUnavailableError(RuntimeError):
    """A required isolation layer is missing, so the executor refuses to run solver code."""


@dataclass(frozen=True)
class Failure:
    """Why a job stopped early, and the job-relative case that made it stop."""

    kind: str  # "case_timeout", "batch_timeout", "cpu_limit", "died", "protocol"
    # the case to blame, -1 for the set-up before any case, None for no case, NOT_STARTED when
    # the job's child never started (the worker failed on its own: the source is not to blame)
    index: int | None
    detail: str


@dataclass
class JobOutcome:
    start: Start | None = None
    replies: list[CaseReply] = field(default_factory=list)
    end: End | None = None
    failure: Failure | None = None


class WorkerProcess:
    """One pre-started worker. Used by one thread at a time; ``terminate`` may come from any thread."""

    def __init__(self, key: tuple[int, int], isolation: Isolation) -> None:
        self.key = key
        self.jobs_run = 0
        self.ready = False
        self.retire = False
        self._kill_lock = threading.Lock()
        self._reaped = False
        self._disposed = False
        self._buffer = bytearray()
        self._flushed = False
        self._count = 0
        self._max_output_chars = 0
        cpu_seconds, memory_mb = key
        self.uid: int | None = None
        launcher = isolation.launcher
        if isolation.uid_per_worker:
            with _uids_lock:
                self.uid = new_uid(_uids_in_use)
                _uids_in_use.add(self.uid)
            launcher = isolation.launcher_for(self.uid)
        self.cwd = tempfile.mkdtemp(prefix="solverlab-worker-")
        os.chmod(self.cwd, 0o500)
        progress_fd = os.memfd_create("solverlab-progress")
        try:
            os.ftruncate(progress_fd, 8)
            self._mmap = mmap.mmap(progress_fd, 8)
            self.progress = memoryview(self._mmap).cast("q")
            config = json.dumps(
                {"cpu_seconds": cpu_seconds, "memory_mb": memory_mb, "progress_fd": progress_fd}
            )
            self._proc = subprocess.Popen(
                [*launcher, sys.executable, "-I", "-c", BOOTSTRAP, config, PACKAGE_ROOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={},
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=(progress_fd,),
                close_fds=True,
            )
        except OSError as exc:
            self._release_memory()
            self._release_uid()
            os.rmdir(self.cwd)
            raise SandboxUnavailableError(f"cannot start a worker process: {exc}") from exc
        finally:
            os.close(progress_fd)
        self.pid = self._proc.pid
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in_fd = self._proc.stdin.fileno()
        self._out_fd = self._proc.stdout.fileno()
        os.set_blocking(self._in_fd, False)
        os.set_blocking(self._out_fd, False)

    # -- life cycle -------------------------------------------------------------------------

    def wait_ready(self, seconds: float = STARTUP_SECONDS) -> None:
        """Wait for the worker's hand-shake; raise SandboxUnavailableError if it cannot run solvers."""
        if self.ready:
            return
        deadline = time.monotonic() + seconds
        selector = selectors.DefaultSelector()
        selector.register(self._out_fd, selectors.EVENT_READ)
        try:
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.terminate()
                    raise SandboxUnavailableError(f"worker did not start within {seconds:.0f} s")
                if selector.select(remaining) and not self._read_some():
                    raise SandboxUnavailableError(f"worker failed to start: {self._startup_error()}")
        finally:
            selector.close()
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        try:
            message = parse_line(line)
        except ProtocolError as exc:
            self.terminate()
            raise SandboxUnavailableError(f"worker failed to start: {exc}") from None
        if message.get("k") == "fatal":
            self.terminate()
            raise SandboxUnavailableError(f"worker refused to start: {message.get('detail')}")
        if message != {"k": "ready", "pid": self.pid}:
            self.terminate()
            raise SandboxUnavailableError("worker failed to start: unexpected hand-shake")
        assert self._proc.stderr is not None
        self._proc.stderr.close()
        self.ready = True

    def _startup_error(self) -> str:
        self.terminate()
        assert self._proc.stderr is not None
        try:
            text = self._proc.stderr.read(4096).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            text = ""
        return text or f"exit status {self._proc.returncode}"

    @property
    def alive(self) -> bool:
        """False once the worker has been killed or found dead (it may still exit at any moment)."""
        with self._kill_lock:
            if not self._reaped and self._proc.poll() is not None:
                self._reaped = True  # exited by itself; reaped now, so never signal its group again
            return not self._reaped

    def terminate(self) -> None:
        """Stop the worker and its job's child, kill its whole process group and reap it.

        Idempotent, any thread. The worker is asked first (it kills and reaps its child, which
        no solver code can prevent: the worker runs none), so the group is gone when this returns;
        SIGKILL to the group follows in any case. A child orphaned by a worker killed from outside
        dies with it (parent-death signal) and is waited for, up to a bound.
        """
        with self._kill_lock:
            if self._reaped:
                return
            # The group id cannot be reused before the leader is reaped, so this is safe.
            if self.ready:
                try:
                    os.kill(self.pid, signal.SIGUSR2)
                    self._proc.wait(STOP_SECONDS)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._reaped = True
        deadline = time.monotonic() + ORPHAN_SECONDS
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pid, 0)  # only looks: the id may name another group by now
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(POLL_SECONDS / 10)

    def dispose(self) -> None:
        """Terminate and release pipes, shared memory and the temporary directory (owner only)."""
        self.terminate()
        if self._disposed:
            return
        self._disposed = True
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._release_memory()
        self._release_uid()
        try:
            os.rmdir(self.cwd)
        except OSError:
            os.chmod(self.cwd, 0o700)
            shutil.rmtree(self.cwd, ignore_errors=True)

    def _release_uid(self) -> None:
        with _uids_lock:
            _uids_in_use.discard(self.uid)  # type: ignore[arg-type]

    def _release_memory(self) -> None:
        if hasattr(self, "progress"):
            self.progress.release()
        if hasattr(self, "_mmap"):
            self._mmap.close()

    def exit_description(self) -> tuple[str, str]:
        """(failure kind, detail) for a worker that has been reaped."""
        code = self._proc.returncode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            if -code == signal.SIGXCPU:
                return "cpu_limit", f"worker killed by {name}: CPU time limit of {self.key[0]} s reached"
            return "died", f"worker process died from signal {name}"
        return "died", f"worker process exited unexpectedly with status {code}"

    # -- jobs -------------------------------------------------------------------------------

    def run_job(
        self, job: bytes, count: int, case_seconds: float, deadline: float, max_output_chars: int
    ) -> JobOutcome:
        """Send one job and collect its results, killing the worker on any deadline or fault."""
        outcome = JobOutcome()
        self.jobs_run += 1
        self._count, self._max_output_chars = count, max_output_chars
        self.progress[0] = PENDING_INDEX
        unsent = memoryview(job)
        selector = selectors.DefaultSelector()
        selector.register(self._out_fd, selectors.EVENT_READ)
        selector.register(self._in_fd, selectors.EVENT_WRITE)
        seen_index, seen_since = PENDING_INDEX, time.monotonic()
        try:
            while True:
                now = time.monotonic()
                index = self.progress[0]
                if index != seen_index:
                    seen_index, seen_since = index, now
                if now >= deadline:
                    return self._fail(outcome, "batch_timeout", index, count, "batch time limit reached")
                # waiting for the job's child to start is the machine's time, not the solver's
                limit = max(case_seconds, START_SECONDS) if seen_index == PENDING_INDEX else case_seconds
                if now - seen_since >= limit:
                    return self._fail(
                        outcome,
                        "case_timeout",
                        index,
                        count,
                        f"no result within the {limit:g} s wall-clock limit",
                    )
                wait = min(POLL_SECONDS, deadline - now, seen_since + limit - now)
                for key, _ in selector.select(max(wait, 0.0)):
                    if key.fd == self._in_fd:
                        unsent = self._write_some(unsent)
                        if not unsent:
                            selector.unregister(self._in_fd)
                        continue
                    if not self._read_some():
                        self.terminate()
                        kind, detail = self.exit_description()
                        return self._fail(outcome, kind, index, count, detail)
                    try:
                        if self._take_messages(outcome):
                            return outcome
                    except ProtocolError as exc:
                        return self._fail(
                            outcome, "protocol", index, count, f"malformed worker reply ({exc})"
                        )
        except BrokenPipeError:
            self.terminate()
            kind, detail = self.exit_description()
            return self._fail(outcome, kind, self.progress[0], count, detail)
        finally:
            selector.close()

    def _write_some(self, unsent: memoryview) -> memoryview:
        try:
            written = os.write(self._in_fd, unsent)
        except BlockingIOError:
            return unsent
        return unsent[written:]

    def _read_some(self) -> bool:
        try:
            chunk = os.read(self._out_fd, READ_CHUNK)
        except BlockingIOError:
            return True
        self._buffer += chunk
        return bool(chunk)

    def _take_messages(self, outcome: JobOutcome) -> bool:
        """Consume complete lines; True once the job's end message has arrived."""
        line_cap = max_line_bytes(self._max_output_chars)
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > line_cap:
                    raise ProtocolError("reply too long")
                return False
            if newline > line_cap:
                raise ProtocolError("reply too long")
            line = bytes(self._buffer[:newline])
            del self._buffer[: newline + 1]
            message = parse_line(line)
            kind = message["k"]
            if kind == "flushed":
                self._flushed = True
            elif outcome.start is None:
                if kind != "start":
                    raise ProtocolError(f"expected start, got {kind!r}")
                outcome.start = read_start(message)
            elif kind == "cases" and outcome.start.error is None:
                done = len(outcome.replies)
                outcome.replies.extend(read_cases(message, done, self._count - done, self._max_output_chars))
            elif kind == "end":
                if outcome.start.error is None and len(outcome.replies) != self._count:
                    raise ProtocolError("job ended with results missing")
                outcome.end = read_end(message)
                return True
            else:
                raise ProtocolError(f"unexpected message {kind!r}")

    def _drain(self, outcome: JobOutcome) -> None:
        """Ask a worker about to be killed for the results it has finished but not yet sent."""
        if outcome.start is None or outcome.start.error is not None:
            return
        self._flushed = False
        with self._kill_lock:
            if self._reaped:
                return
            try:
                # to the group, so that the job's child gets it at once; safe: the leader is not reaped
                os.killpg(self.pid, signal.SIGUSR1)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + DRAIN_SECONDS
        selector = selectors.DefaultSelector()
        selector.register(self._out_fd, selectors.EVENT_READ)
        try:
            while not self._flushed and (remaining := deadline - time.monotonic()) > 0:
                if selector.select(remaining) and (not self._read_some() or self._take_messages(outcome)):
                    return
        except ProtocolError:
            return
        finally:
            selector.close()

    def _fail(self, outcome: JobOutcome, kind: str, index: int, count: int, detail: str) -> JobOutcome:
        if kind in ("case_timeout", "batch_timeout"):
            self._drain(outcome)
            if outcome.end is not None:
                return outcome  # everything arrived after all
        self.terminate()
        case: int | None
        if outcome.start is None:
            # only the job's child moves the cell off PENDING, before any solver code runs
            case = NOT_STARTED if self.progress[0] == PENDING_INDEX else -1
        else:
            # the progress cell is written by untrusted code: only believe it inside the open range
            done = len(outcome.replies)
            case = index if done <= index < count else None
        outcome.failure = Failure(kind, case, detail)
        return outcome
