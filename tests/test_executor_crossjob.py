"""No solver changes what a later solver computes or sees: one job, one untouched process.

Every cross-job test runs a hostile solver and then an innocent victim in the same pool of one
worker, and asserts the victim's outputs and verdict are identical to a run without the hostile
one. Each hostile is a class of attack (issue 12), not a single trick.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from executor import ExecutionReport, Limits, SandboxPool

LIMITS = Limits(case_seconds=2.0, batch_seconds=10.0, cpu_seconds=20, memory_mb=256)

# Solver classes may define __eq__; a mapping proxy compares through the real dict behind it,
# so the reflected __eq__ receives that dict: here, the named-group table of a pattern that the
# `re` module keeps in its cache for every later job of the same process.
GRAB = """
import re
class Grab:
    def __init__(self):
        self.got = []
    def __eq__(self, other):
        self.got.append(other)
        return False
def tables(pattern):
    grab = Grab()
    re.compile(pattern).groupindex == grab
    return grab.got
"""
NAMED = r"(?P<first>\w+) (?P<second>\w+)"


@dataclass(frozen=True)
class Attack:
    name: str
    hostile: str
    victim: str
    inputs: tuple[str, ...]


ATTACKS = [
    Attack(
        "state left in a trusted module table",
        GRAB
        + f"""
def solver(x):
    for table in tables(r'{NAMED}'):
        table['first'] = 2
        table['second'] = 1
    return x
""",
        f"""
import re
def solver(x):
    return re.match(r'{NAMED}', x).group('first')
""",
        ("hello world", "left right"),
    ),
    Attack(
        "work deferred to the garbage collector",
        """
def spin():
    try:
        yield 1
    finally:
        while True:
            pass
class Cycle:
    def __init__(self):
        self.me = self
        self.pending = spin()
        next(self.pending)
def solver(x):
    for i in range(50):
        Cycle()
    return x
""",
        """
def solver(x):
    parts = [[c] for c in x * 500]
    return str(len(parts))
""",
        ("ab", "cde"),
    ),
    Attack(
        "memory parked in a trusted cache",
        GRAB
        + """
def solver(x):
    for table in tables(r'(?P<park>x)'):
        table['parked'] = 'x' * (110 * 1024 * 1024)
    return x
""",
        """
def solver(x):
    return str(len(x * (140 * 1024 * 1024)))
""",
        ("y",),
    ),
    Attack(
        "memory error left behind",
        "def solver(x):\n    return 'a' * 10 ** 10\n",
        "def solver(x):\n    return str(len(x * (100 * 1024 * 1024)))\n",
        ("z",),
    ),
    Attack(
        "a hanging case",
        "def solver(x):\n    while True:\n        pass\n",
        "def solver(x):\n    return x[::-1]\n",
        ("abc",),
    ),
]


@pytest.fixture(scope="module")
def baselines() -> Iterator[dict[str, ExecutionReport]]:
    with SandboxPool(size=1, limits=LIMITS) as fresh:
        yield {a.name: fresh.run(a.victim, list(a.inputs)) for a in ATTACKS}


def outcome(report: ExecutionReport) -> tuple[object, ...]:
    return report.verdict, report.detail, [(r.output, r.error, r.detail) for r in report.results]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_a_hostile_solver_does_not_change_the_next_one(
    attack: Attack, baselines: dict[str, ExecutionReport]
) -> None:
    baseline = baselines[attack.name]
    assert baseline.verdict is None and all(r.error is None for r in baseline.results), baseline
    with SandboxPool(size=1, limits=LIMITS) as pool:
        pool.run(attack.hostile, list(attack.inputs))
        after = pool.run(attack.victim, list(attack.inputs))
    assert outcome(after) == outcome(baseline)


def test_every_job_gets_a_process_of_its_own() -> None:
    """Two jobs on one worker: the second is forked afresh, not run where the first ran."""
    with SandboxPool(size=1, limits=LIMITS) as pool:
        poisoned = pool.run(
            GRAB
            + f"""
import re
def solver(x):
    if x == 'poison':
        for table in tables(r'{NAMED}'):
            table['first'] = 2
        return x
    return re.match(r'{NAMED}', x).group('first')
""",
            ["hello world", "poison", "hello world"],
        )
        clean = pool.run(
            f"import re\ndef solver(x):\n    return re.match(r'{NAMED}', x).group('first')\n",
            ["hello world"],
        )
    # Documented: the cases of one job share their process (each gets a fresh module namespace
    # only), so a solver can change its own later cases, and nothing else.
    assert [r.output for r in poisoned.results] == ["hello", "poison", "world"]
    assert [r.output for r in clean.results] == ["hello"]


def test_module_globals_are_fresh_for_every_case() -> None:
    with SandboxPool(size=1, limits=LIMITS) as pool:
        report = pool.run(
            "seen = []\ndef solver(x):\n    seen.append(x)\n    return str(len(seen))\n", ["a", "b"]
        )
    assert [r.output for r in report.results] == ["1", "1"]


def test_a_custom_probe_generator_cannot_change_the_ground_truth_its_mapping_saves() -> None:
    from lab.custom import CustomProbe, PythonInputs, compile_probe

    generator = (
        GRAB
        + f"""
def generate(rng):
    for table in tables(r'{NAMED}'):
        table['first'] = 2
    return 'w' + str(rng.randint(0, 10 ** 9)) + ' v' + str(rng.randint(0, 10 ** 9))
"""
    )
    mapping = f"import re\ndef mapping(x: str) -> str:\n    return re.match(r'{NAMED}', x).group('first')\n"
    probe = CustomProbe(
        "first_word", "Two words.", "The first word.", "familiar", mapping, PythonInputs(generator)
    )
    compiled = compile_probe(probe)
    assert len(compiled.pool) >= 50
    assert all(case.output == case.input.split()[0] for case in compiled.pool)
