"""The executor's public behaviour: results, verdicts, limits, re-runs after kills, threads, closing."""

from __future__ import annotations

import gc
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import executor
from executor import CaseResult, ExecutionReport, Limits, SandboxPool, network_isolation_available, run_solver

LIMITS = Limits(case_seconds=1.0, batch_seconds=10.0, cpu_seconds=10, memory_mb=256, max_output_chars=200)

REVERSE = "def solver(x):\n    return x[::-1]\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(size=2, limits=LIMITS) as shared:
        yield shared


def group_is_gone(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                return False
    return True


def group_states(pgid: int) -> list[str]:
    """States of the processes in a process group (a worker and the child running its job)."""
    states = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                states.append(fields[0])
    return states


def wait_until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


# -- results -----------------------------------------------------------------------------------


def test_outputs_in_input_order(pool: SandboxPool) -> None:
    report = pool.run(REVERSE, ["abc", "", "x y", "é☃"])
    assert report == ExecutionReport(
        None,
        None,
        [
            CaseResult("abc", "cba", None, None),
            CaseResult("", "", None, None),
            CaseResult("x y", "y x", None, None),
            CaseResult("é☃", "☃é", None, None),
        ],
    )


def test_thousand_inputs_in_one_call(pool: SandboxPool) -> None:
    inputs = [str(i) for i in range(1000)]
    report = pool.run("def solver(x):\n    return str(int(x) * 2)\n", inputs)
    assert [r.output for r in report.results] == [str(i * 2) for i in range(1000)]


def test_no_inputs_still_checks_the_source(pool: SandboxPool) -> None:
    assert pool.run(REVERSE, []) == ExecutionReport(None, None, [])
    report = pool.run("def solver(x) return x", [])
    assert report.verdict == "syntax_error" and report.results == []


def test_a_useful_solver_has_what_it_needs(pool: SandboxPool) -> None:
    """The allow-lists leave room for ordinary solver code: modules, classes, printing, unpacking."""
    source = """
import math, re, itertools, functools, operator, string
from collections import Counter, defaultdict, deque, namedtuple

Pair = namedtuple('Pair', 'char count')

class Tally:
    def __init__(self):
        self.counts = defaultdict(int)

    def add(self, char):
        self.counts[char] = self.counts[char] + 1

@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def solver(x):
    tally = Tally()
    for char in x:
        tally.add(char)
    pairs = sorted((Pair(c, n) for c, n in tally.counts.items()), key=lambda p: (-p.count, p.char))
    first, *rest = [p.char for p in pairs]
    total = 0
    total += sum(p.count for p in pairs)
    window = deque(maxlen=2)
    window.extend(x)
    digits = ''.join(c for c in x if c in string.digits)
    print('debug', total)
    words = re.findall(r'[a-z]+', x)
    combos = len(list(itertools.combinations(x, 2)))
    product = functools.reduce(operator.mul, [1, 2, 3], 1)
    most = Counter(x).most_common(1)[0][0]
    return (f"{first}|{''.join(rest)}|{total}|{''.join(window)}|{digits}|{words}|{combos}|"
            f"{product}|{most}|{fib(30)}|{math.isqrt(17)}|{format(math.pi, '.3f')}|{printed.strip()}")
"""
    report = pool.run(source, ["ab1a"])
    assert report.results[0].error is None, report
    assert report.results[0].output == "a|1b|4|1a|1|['ab', 'a']|6|6|a|832040|4|3.142|debug 4"


def test_printed_text_is_kept_but_capped(pool: SandboxPool) -> None:
    source = (
        "def solver(x):\n    for i in range(5000):\n        print(x * 10)\n    return str(len(printed))\n"
    )
    assert pool.run(source, ["ab"]).results[0].output == "10000"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=40))
def test_any_text_survives_the_round_trip(pool: SandboxPool, inputs: list[str]) -> None:
    report = pool.run("def solver(x):\n    return x\n", inputs)
    assert [(r.input, r.output, r.error) for r in report.results] == [(t, t, None) for t in inputs]


# -- verdicts and categories --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def solve(x):\n    return x\n", "no_solver"),
        ("solver = 42\n", "no_solver"),
        ("def solver(a, b):\n    return a\n", "no_solver"),
        ("def solver():\n    return 'x'\n", "no_solver"),
        ("def solver(x, *, strict):\n    return x\n", "no_solver"),
        ("def solver(x)\n    return x\n", "syntax_error"),
        ("def solver(x):\n  return x\n    pass\n", "syntax_error"),
        ("def solver(x):\n    return x._secret\n", "restricted"),
        ("x = 1 / 0\ndef solver(x):\n    return x\n", "runtime_error"),
    ],
)
def test_verdicts(pool: SandboxPool, source: str, expected: str) -> None:
    report = pool.run(source, ["a", "b"])
    assert report.verdict == expected
    assert report.detail
    assert [(r.input, r.output, r.error, r.detail) for r in report.results] == [
        ("a", None, expected, report.detail),
        ("b", None, expected, report.detail),
    ]


def test_solver_with_optional_parameters_is_fine(pool: SandboxPool) -> None:
    report = pool.run("def solver(x, suffix='!', *rest):\n    return x + suffix\n", ["a"])
    assert report.results[0].output == "a!"


def test_runtime_error_detail_names_type_message_and_line(pool: SandboxPool) -> None:
    source = "def solver(x):\n    if x == 'b':\n        return str(1 // 0)\n    return x\n"
    report = pool.run(source, ["a", "b"])
    assert report.verdict is None
    assert report.results[0] == CaseResult("a", "a", None, None)
    assert report.results[1].error == "runtime_error"
    assert report.results[1].detail == "ZeroDivisionError: integer division or modulo by zero (line 3)"


def test_output_longer_than_the_limit(pool: SandboxPool) -> None:
    report = pool.run("def solver(x):\n    return x * 100\n", ["abc", "xy"])
    assert report.results[0].error == "bad_output"
    assert report.results[0].detail == "output has 300 characters; the limit is 200"
    assert report.results[1].output == "xy" * 100


def test_source_too_long_is_refused_without_running(pool: SandboxPool) -> None:
    report = pool.run("#" * 1_000_001, ["a"])
    assert report.verdict == "restricted"


def test_bad_arguments_are_a_programming_error(pool: SandboxPool) -> None:
    with pytest.raises(TypeError):
        pool.run(REVERSE, ["a", 1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        pool.run(b"def solver(x): return x", ["a"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Limits(case_seconds=0)


# -- limits and re-runs ----------------------------------------------------------------------------

HANG_ON_H = "def solver(x):\n    while x.startswith('h'):\n        pass\n    return x.upper()\n"


def test_batch_limit_marks_what_was_not_reached(pool: SandboxPool) -> None:
    limits = Limits(case_seconds=0.6, batch_seconds=1.0, cpu_seconds=10, memory_mb=256)
    report = pool.run(HANG_ON_H, ["a", "h1", "h2", "b"], limits)
    assert [(r.output, r.error) for r in report.results] == [
        ("A", None),
        (None, "timeout"),
        (None, "timeout"),
        (None, "timeout"),
    ]
    assert "wall-clock" in (report.results[1].detail or "")
    assert "batch" in (report.results[2].detail or "") and "batch" in (report.results[3].detail or "")


@pytest.mark.parametrize(
    "hang",
    [
        "while x == 'hang':\n        pass",  # Python code: the worker hands over its results first
        "if x == 'hang':\n        re.match('(a+)+$', 'a' * 40 + 'b')",  # inside C code: finished cases re-run
    ],
)
def test_hanging_case_costs_no_other_result(pool: SandboxPool, hang: str) -> None:
    source = f"import re\ndef solver(x):\n    {hang}\n    return x + '!'\n"
    inputs = ["hang", *"abc", "hang", *"def", "hang"]
    limits = Limits(case_seconds=0.5, batch_seconds=10.0, cpu_seconds=10, memory_mb=256)
    report = pool.run(source, inputs, limits)
    assert [(r.output, r.error) for r in report.results] == [
        (None, "timeout") if t == "hang" else (t + "!", None) for t in inputs
    ]


def test_no_file_descriptors_or_directories_leak_across_replacements(pool: SandboxPool) -> None:
    def worker_dirs() -> set[str]:
        return {p.name for p in Path(tempfile.gettempdir()).glob("solverlab-worker-*")}

    pool.run(REVERSE, ["warm"])
    fds_before, dirs_before = len(os.listdir("/proc/self/fd")), worker_dirs()
    for _ in range(3):
        report = pool.run(
            HANG_ON_H, ["h"], Limits(case_seconds=0.3, batch_seconds=5.0, cpu_seconds=10, memory_mb=256)
        )
        assert report.results[0].error == "timeout"
    assert pool.run(REVERSE, ["ab"]).results[0].output == "ba"
    assert len(os.listdir("/proc/self/fd")) <= fds_before
    assert len(worker_dirs()) <= len(dirs_before)


def test_a_forgotten_pool_is_shut_down_when_collected() -> None:
    forgotten = SandboxPool(size=1, limits=LIMITS)
    pids = forgotten.worker_pids()
    del forgotten
    gc.collect()
    assert all(group_is_gone(pid) for pid in pids)


def test_killed_worker_is_reported_as_crashed_and_the_rest_still_run() -> None:
    limits = Limits(case_seconds=5.0, batch_seconds=20.0, cpu_seconds=10, memory_mb=256)
    with SandboxPool(size=1, limits=limits) as solo:
        [victim] = solo.worker_pids()
        result: list[ExecutionReport] = []
        thread = threading.Thread(target=lambda: result.append(solo.run(HANG_ON_H, ["a", "hang", "b"])))
        thread.start()
        # wait until the worker's job is spinning in the hanging case, then kill the worker from outside
        assert wait_until(lambda: "R" in group_states(victim))
        time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        thread.join(30)
        [report] = result
        assert [(r.output, r.error) for r in report.results] == [("A", None), (None, "crashed"), ("B", None)]
        assert "SIGKILL" in (report.results[1].detail or "")
        assert group_is_gone(victim)
        assert solo.run(REVERSE, ["ab"]).results[0].output == "ba"


def test_memory_error_retires_the_worker(pool: SandboxPool) -> None:
    before = pool.worker_pids()
    report = pool.run("def solver(x):\n    return 'a' * 10 ** 10\n", ["a"])
    assert report.results[0].error == "memory"
    assert set(pool.worker_pids()) != set(before)
    assert all(group_is_gone(pid) for pid in set(before) - set(pool.worker_pids()))
    assert pool.run(REVERSE, ["ab"]).results[0].output == "ba"


def test_per_call_limits_with_other_rlimits(pool: SandboxPool) -> None:
    bigger = Limits(case_seconds=1.0, batch_seconds=10.0, cpu_seconds=5, memory_mb=300)
    assert pool.run(REVERSE, ["ab"], bigger).results[0].output == "ba"
    assert len(pool.worker_pids()) <= pool.size
    assert pool.run(REVERSE, ["cd"]).results[0].output == "dc"


def test_cpu_limit_ends_a_runaway_worker() -> None:
    limits = Limits(case_seconds=10.0, batch_seconds=20.0, cpu_seconds=1, memory_mb=256)
    with SandboxPool(size=1, limits=limits) as solo:
        report = solo.run("def solver(x):\n    while True:\n        pass\n", ["a"])
        assert report.results[0].error == "timeout"
        assert "CPU" in (report.results[0].detail or "")


# -- threads and life cycle ---------------------------------------------------------------------------


def test_many_threads_share_a_small_pool(pool: SandboxPool) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for round_ in range(5):
                source = f"def solver(x):\n    return x + '-{n}-{round_}'\n"
                report = pool.run(source, [str(i) for i in range(20)])
                assert [r.output for r in report.results] == [f"{i}-{n}-{round_}" for i in range(20)]
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(pool.worker_pids()) <= pool.size


def test_close_kills_every_worker_and_refuses_more_work() -> None:
    solo = SandboxPool(size=2, limits=LIMITS)
    pids = solo.worker_pids()
    assert len(pids) == 2
    solo.close()
    assert all(group_is_gone(pid) for pid in pids)
    with pytest.raises(RuntimeError):
        solo.run(REVERSE, ["a"])
    solo.close()  # idempotent


def test_close_while_a_call_is_running() -> None:
    limits = Limits(case_seconds=5.0, batch_seconds=20.0, cpu_seconds=10, memory_mb=256)
    solo = SandboxPool(size=1, limits=limits)
    [pid] = solo.worker_pids()
    result: list[ExecutionReport] = []
    thread = threading.Thread(target=lambda: result.append(solo.run(HANG_ON_H, ["hang", "b"])))
    thread.start()
    assert wait_until(lambda: "R" in group_states(pid))
    solo.close()
    thread.join(30)
    [report] = result
    assert [r.error for r in report.results] == ["crashed", "crashed"], report
    assert group_is_gone(pid)
    assert solo.worker_pids() == []


def test_context_manager_closes() -> None:
    with SandboxPool(size=1, limits=LIMITS) as solo:
        pids = solo.worker_pids()
        assert solo.run(REVERSE, ["ab"]).results[0].output == "ba"
    assert solo.closed and all(group_is_gone(pid) for pid in pids)


def test_run_solver_uses_a_shared_default_pool() -> None:
    report = run_solver(REVERSE, ["abc"], LIMITS)
    assert report.results[0].output == "cba"
    assert run_solver(REVERSE, ["x"]).results[0].output == "x"
    assert isinstance(network_isolation_available(), bool)
    assert executor.isolation_info().describe().startswith("network: ")


# -- a worker lost before the job begins, retiring -------------------------------------------------


def test_a_worker_that_fails_before_the_job_begins_is_replaced_and_the_job_runs_again() -> None:
    """Never charged to the source: a stopped worker cannot fork the job's child, so it times out
    before the job begins; the job runs on a fresh worker and gets its real results, no verdict."""
    with SandboxPool(size=1, limits=LIMITS) as solo:
        [stuck] = solo.worker_pids()
        os.kill(stuck, signal.SIGSTOP)
        report = solo.run(REVERSE, ["abc", "de"])
        assert report.verdict is None
        assert [(r.output, r.error) for r in report.results] == [("cba", None), ("ed", None)]
        assert group_is_gone(stuck)
        assert solo.worker_pids() != [stuck]


def test_workers_that_keep_failing_before_the_job_begins_give_no_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = executor.process.WorkerProcess.run_job

    def stop_then_run(self: executor.process.WorkerProcess, *args: object) -> executor.process.JobOutcome:
        os.kill(self.pid, signal.SIGSTOP)
        return started(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(executor.process.WorkerProcess, "run_job", stop_then_run)
    with SandboxPool(size=1, limits=LIMITS) as solo:
        report = solo.run(REVERSE, ["abc"])
    assert report.verdict is None and report.detail is None
    [result] = report.results
    assert result.error == "timeout" and "before the job began" in (result.detail or "")


def test_workers_retire_on_address_space_as_well_as_rss() -> None:
    from executor.pool import SandboxPool as Pool
    from executor.process import JobOutcome
    from executor.protocol import End

    class Worker:
        key = (10, 256)
        jobs_run = 1
        retire = False

    for end, retire in [
        (End(0.1, 20.0, 20.0), False),
        (End(0.1, 20.0, 250.0), True),  # address space parked, little of it resident
        (End(0.1, 200.0, 220.0), True),
        (End(9.0, 20.0, 20.0), True),
    ]:
        worker = Worker()
        Pool._note_usage(worker, JobOutcome(end=end))  # type: ignore[arg-type]
        assert worker.retire is retire, end
