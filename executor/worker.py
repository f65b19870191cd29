"""The worker process: a template that forks one fresh child per job and never runs solver code.

Started by the parent as ``python -I -c <bootstrap>`` with an empty environment, in an empty
read-only temporary directory, in its own session and process group, inside a network namespace
where the machine allows one. Before anything else it sets its own resource limits (hard limits,
so nothing it runs later can raise them again), then moves the protocol pipes off the standard
file descriptors, imports the policy, makes itself non-dumpable and reports ready.

For each job the template forks a child; the child compiles the source with RestrictedPython,
runs the cases, sends their results and exits without running finalisers. No solver code ever
runs in the template, so every job starts from the same untouched state: nothing one solver
changes, defers or parks in memory reaches the next job. The template reaps the child and sends
the job's end (or, if the child died, dies the same way, so the parent sees one dead worker).
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import json
import mmap
import os
import resource
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, BinaryIO

from .protocol import clip, encode
from .results import BAD_OUTPUT, MEMORY, NO_SOLVER, RESTRICTED, RUNTIME_ERROR

MAX_OPEN_FILES = 16
FLUSH_SECONDS = 0.005
FLUSH_CHARS = 1 << 16
SETUP_INDEX = -1


def apply_limits(cpu_seconds: int, memory_mb: int) -> None:
    """Hard resource limits for this process; raises OSError/ValueError when one cannot be set."""
    memory = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
    # Blocks fork for any uid but root's (the kernel exempts root from RLIMIT_NPROC).
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


class Channel:
    """The worker's end of the protocol, on private file descriptors."""

    def __init__(self) -> None:
        self.reader: BinaryIO = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
        self.out_fd = os.dup(1)
        self.sending = False
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(encode(message))
        self.sending = True
        try:
            while data:
                data = data[os.write(self.out_fd, data) :]
        finally:
            self.sending = False

    def receive(self) -> dict[str, Any] | None:
        line = self.reader.readline()
        return json.loads(line) if line else None


PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
STOPPED = 75  # exit status of a template the parent asked to stop
CHILD_FAILED = 70  # exit status of a child whose own (trusted) code failed
LIBC = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    """``prctl(2)``; raises OSError when the kernel refuses."""
    if LIBC.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}) failed")


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        apply_limits(int(config["cpu_seconds"]), int(config["memory_mb"]))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"solverlab worker: cannot set resource limits: {exc}\n")
        sys.exit(3)
    channel = Channel()
    progress_fd = int(config["progress_fd"])
    progress = memoryview(mmap.mmap(progress_fd, 8)).cast("q")
    os.close(progress_fd)
    warnings.simplefilter("ignore")
    try:
        from . import policy

        # no process of this uid without CAP_SYS_PTRACE (none has it) may read our memory or ptrace us
        prctl(PR_SET_DUMPABLE, 0)
    except Exception as exc:  # RestrictedPython missing or broken: refuse, never fall back
        detail = clip(f"cannot load the restricted policy: {type(exc).__name__}: {exc}")
        channel.send({"k": "fatal", "detail": detail})
        sys.exit(4)
    runner = JobRunner(policy, channel, progress, int(config["memory_mb"]))
    runner.warm_up()
    template = Template(runner)
    # The parent sends SIGUSR1 to the worker's group just before it kills it for a deadline: the
    # job's child hands over finished results first, so that a hanging case does not cost the
    # cases before it. The template itself has nothing to hand over.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    # SIGUSR2 asks the template to end: it kills and reaps its child first, so no orphan is left
    signal.signal(signal.SIGUSR2, template.stop)
    gc.collect()
    gc.freeze()  # the children share these pages; keep the collector from touching them
    channel.send({"k": "ready", "pid": os.getpid()})
    while (job := channel.receive()) is not None:
        template.run(job)


class Template:
    """The pre-imported process every job's child is forked from; it never runs solver code."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.pid = os.getpid()
        self.child: int | None = None  # a pidfd: signals to it cannot reach a reused pid

    def run(self, job: dict[str, Any]) -> None:
        pid = os.fork()
        if pid == 0:
            self.child = None
            os._exit(self.runner.run_in_child(job, self.pid))
        self.child = os.pidfd_open(pid)
        try:
            _, status, _ = os.wait4(pid, 0)
        finally:
            pidfd, self.child = self.child, None
            os.close(pidfd)
        if os.WIFSIGNALED(status):
            die_like(os.WTERMSIG(status))
        if os.waitstatus_to_exitcode(status) != 0:
            os._exit(os.waitstatus_to_exitcode(status))
        self.runner.channel.send({"k": "end", **template_usage()})

    def stop(self, signum: int, frame: Any) -> None:
        child = self.child
        if child is not None:
            try:
                signal.pidfd_send_signal(child, signal.SIGKILL)
                os.waitid(os.P_PIDFD, child, os.WEXITED)
            except OSError:
                pass  # already reaped by the template's own wait
        os._exit(STOPPED)


def die_like(signum: int) -> None:
    """End this process by the signal that ended the child, so the parent reports the real cause."""
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):
        pass  # SIGKILL and SIGSTOP keep their default
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def template_usage() -> dict[str, float]:
    """The template's own CPU time and memory: its memory should never grow, as no job runs in it."""
    with open("/proc/self/statm", "rb") as handle:
        pages = int(handle.read().split()[0])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "vm_mb": pages * resource.getpagesize() / (1 << 20),
    }


Row = list[Any]  # [output, error, detail]


class JobRunner:
    def __init__(self, policy: Any, channel: Channel, progress: memoryview, memory_mb: int) -> None:
        self.policy = policy
        self.channel = channel
        self.progress = progress
        self.memory_mb = memory_mb
        self.rows: list[Row] = []
        self.flushing = False
        self.first = 0
        self.buffered_chars = 0
        self.last_flush = 0.0

    def warm_up(self) -> None:
        """Compile and run the executor's own trivial solver once (in the template: the only code
        it runs restricted), so that every job's child finds everything loaded."""
        solver, _, _ = self.define("import re\ndef solver(x):\n    return str(len(x))")
        if solver is not None:
            self.run_case(solver, "warm", 10)
            self.run_case(None, "warm", 10)

    def run_in_child(self, job: dict[str, Any], template_pid: int) -> int:
        """Run one job in a freshly forked child; the exit status for the template."""
        try:
            self.progress[0] = SETUP_INDEX  # tells the parent the job has started
            self.channel.reader.close()
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != template_pid:
                return CHILD_FAILED  # the template died before the line above
            signal.signal(signal.SIGUSR1, self.flush_on_signal)
            solver, error, detail = self.define(job["source"])
            self.channel.send({"k": "start", "error": error, "detail": detail})
            if solver is not None:
                self.run_cases(solver, job["inputs"], int(job["max_output_chars"]))
        except BaseException:
            return CHILD_FAILED
        return 0

    def define(self, source: str) -> tuple[Callable[[str], Any] | None, str | None, str | None]:
        compiled = self.policy.compile_solver(source)
        if compiled.code is None:
            return None, compiled.error, clip(compiled.detail or "")
        self.code = compiled.code
        try:
            solver = self.load_solver()
        except BaseException as exc:
            error, detail = self.describe(exc)
            return None, error, clip(f"while defining the solver: {detail}")
        problem = arity_problem(solver)
        if problem:
            return None, NO_SOLVER, problem
        return solver, None, None

    def load_solver(self) -> Any:
        namespace = self.policy.fresh_namespace()
        exec(self.code, namespace)
        return namespace.get(self.policy.SOLVER_NAME)

    def run_cases(self, solver: Callable[[str], Any], inputs: list[str], max_output_chars: int) -> None:
        self.rows, self.first, self.buffered_chars, self.last_flush = [], 0, 0, time.monotonic()
        for index, text in enumerate(inputs):
            self.progress[0] = index
            row = self.run_case(solver if index == 0 else None, text, max_output_chars)
            self.rows.append(row)
            self.buffered_chars += len(row[0] or row[2] or "")
            if time.monotonic() - self.last_flush >= FLUSH_SECONDS or self.buffered_chars >= FLUSH_CHARS:
                self.flush()
        self.flush()

    def flush(self) -> None:
        # Also called from the SIGUSR1 handler, which may interrupt a flush or a send in progress.
        if self.flushing or self.channel.sending:
            return
        self.flushing = True
        try:
            if self.rows:
                rows, first = self.rows, self.first
                self.rows, self.first, self.buffered_chars = [], first + len(rows), 0
                self.channel.send({"k": "cases", "i": first, "r": rows})
                self.last_flush = time.monotonic()
        finally:
            self.flushing = False

    def flush_on_signal(self, signum: int, frame: Any) -> None:
        # Runs between two bytecodes of whatever was running; never let it raise into solver code.
        try:
            if not (self.flushing or self.channel.sending):
                self.flush()
                self.channel.send({"k": "flushed"})
        except BaseException:
            pass

    def run_case(self, solver: Callable[[str], Any] | None, text: str, max_output_chars: int) -> Row:
        try:
            # each case gets its own module namespace; the first reuses the one just defined
            if solver is None:
                solver = self.load_solver()
            output = solver(text)
        except BaseException as exc:
            return [None, *self.describe(exc)]
        if type(output) is not str:
            return [None, BAD_OUTPUT, clip(f"solver returned {type(output).__name__}, expected str")]
        if len(output) > max_output_chars:
            return [None, BAD_OUTPUT, f"output has {len(output)} characters; the limit is {max_output_chars}"]
        try:
            output.encode("utf-8")
        except UnicodeEncodeError:
            return [None, BAD_OUTPUT, "output is not valid Unicode text (it contains a lone surrogate)"]
        return [output, None, None]

    def describe(self, exc: BaseException) -> tuple[str, str]:
        if isinstance(exc, MemoryError):
            return MEMORY, f"MemoryError: the solver needed more than the {self.memory_mb} MB memory limit"
        category = RESTRICTED if isinstance(exc, self.policy.RestrictedAccessError) else RUNTIME_ERROR
        try:
            message = str(exc)
        except BaseException:
            message = "<unprintable message>"
        line = solver_line(exc)
        where = f" (line {line})" if line else ""
        return category, clip(f"{type(exc).__name__}: {message}"[:400] + where)


def solver_line(exc: BaseException) -> int | None:
    """The last line of solver code in the traceback, if any."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<solver>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def arity_problem(solver: Any) -> str | None:
    if solver is None:
        return "the source defines no `solver`"
    if not callable(solver):
        return clip(f"`solver` is a {type(solver).__name__}, not a function")
    try:
        inspect.signature(solver).bind("input")
    except TypeError as exc:
        return clip(f"`solver` must take exactly one argument: {exc}")
    except Exception:
        return None  # no signature to read (a builtin, say): the call itself will tell
    return None
