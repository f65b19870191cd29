"""Custom probes compiled and kept: a definition's mapping and input generator run in the sandbox.

A custom probe is data (`lab.custom.definition.CustomProbe`, saved and exported as a small JSON file).
Its mapping, and a generator written in Python, are untrusted code: they run only in the sandbox
executor, never in this process, and each in a fresh process of its own. Compiling a probe draws a pool
of distinct inputs and runs the mapping on them once in the sandbox; the family built from that pool
holds no code, so runs, charts and the command line use it exactly like a built-in family. Saved probes
are registered in `probes.REGISTRY` by `install_saved`, which every entry point calls before it reads a
probe spec.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from executor import ExecutionReport, Limits, SandboxPool, SandboxUnavailableError
from lab.custom.definition import (
    MIN_POOL,
    POOL_SEEDS,
    POOL_SIZE,
    PREVIEW_CASES,
    CustomProbe,
    CustomProbeError,
    InputGenerator,
    PythonInputs,
    from_json,
    probe_from_dict,
    text_problem,
    to_json,
)
from lab.run.store import CustomProbeExistsError, Store
from probes import BUILT_IN, REGISTRY, Case, Parameter, ProbeError, ProbeFamily, register, unregister

# A first call on one input catches a broken definition in seconds; the full call has a batch limit.
SMOKE_LIMITS = Limits(case_seconds=2.0, batch_seconds=6.0, cpu_seconds=10, memory_mb=256)
POOL_LIMITS = Limits(case_seconds=2.0, batch_seconds=20.0, cpu_seconds=10, memory_mb=256)

Run = Callable[[str, list[str], Limits], ExecutionReport]


MAPPING_ENTRY = """

solver = None
try:
    mapping
except NameError:
    pass
else:
    if callable(mapping):
        def solver(x):
            return mapping(x)
"""

# The sandbox has no `random` module; a seeded splitmix64 generator stands in for it.
SANDBOX_RANDOM = """

class SandboxRandom:
    MASK = 18446744073709551615

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next64(self):
        self.state = (self.state + 11400714819323198485) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 13787848793156543929) & self.MASK
        z = ((z ^ (z >> 27)) * 10723151780598845931) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        if n <= 0:
            raise ValueError("empty range")
        bits = n.bit_length()
        while True:
            value = 0
            have = 0
            while have < bits:
                value = (value << 64) | self.next64()
                have = have + 64
            value = value >> (have - bits)
            if value < n:
                return value

    def random(self):
        return (self.next64() >> 11) / 9007199254740992.0

    def uniform(self, a, b):
        return a + (b - a) * self.random()

    def randrange(self, start, stop=None, step=1):
        if stop is None:
            start, stop = 0, start
        if step == 0:
            raise ValueError("randrange() step must not be zero")
        count = (stop - start + step - (1 if step > 0 else -1)) // step
        if count <= 0:
            raise ValueError("empty range for randrange()")
        return start + step * self.below(count)

    def randint(self, a, b):
        return self.randrange(a, b + 1)

    def choice(self, seq):
        if not len(seq):
            raise IndexError("cannot choose from an empty sequence")
        return seq[self.below(len(seq))]

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, population, k):
        pool = list(population)
        if not 0 <= k <= len(pool):
            raise ValueError("sample larger than population or is negative")
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
"""

GENERATOR_ENTRY = """

solver = None
try:
    generate
except NameError:
    pass
else:
    if callable(generate):
        def solver(x):
            return generate(SandboxRandom(int(x)))
"""


def mapping_source(probe: CustomProbe) -> str:
    return probe.mapping + MAPPING_ENTRY


def generator_source(source: str) -> str:
    return source + SANDBOX_RANDOM + GENERATOR_ENTRY


@dataclass(frozen=True)
class _Function:
    """One user function, for messages."""

    label: str  # "mapping", "input generator"
    signature: str
    place: Callable[[int, str], str]  # (index, input) -> where it failed


_MAPPING = _Function("mapping", "def mapping(x: str) -> str", lambda i, text: f"input {text!r}")
_GENERATOR = _Function("input generator", "def generate(rng) -> str", lambda i, text: f"seed {text}")

_VERDICT_WORDS = {
    "syntax_error": "is not valid Python",
    "restricted": "was refused by the sandbox",
    "runtime_error": "failed while being loaded",
    "timeout": "ran out of time while being loaded",
    "memory": "ran out of memory while being loaded",
    "crashed": "crashed the sandbox while being loaded",
}
_CASE_WORDS = {
    "restricted": "was refused by the sandbox",
    "runtime_error": "raised an error",
    "timeout": "ran out of time",
    "memory": "ran out of memory",
    "bad_output": "did not return text",
    "crashed": "crashed the sandbox",
}


def _detail(text: str | None) -> str:
    text = (text or "").removeprefix("while defining the solver: ")
    return (
        text.replace("solver returned", "it returned").replace("the solver needed", "it needed")
        or "no detail"
    )


def _run_checked(run: Run, function: _Function, source: str, inputs: list[str]) -> list[str]:
    """The function's output for every input, or a CustomProbeError naming the first failure.

    One input first: a definition that does not load, hangs or exhausts memory is reported in
    seconds instead of after a limit per input.
    """
    first = run(source, inputs[:1], SMOKE_LIMITS)
    _check_verdict(first, function)
    if any(r.error in _COSTLY_FAILURES for r in first.results):
        _check_results(first, function)
    report = run(source, inputs, POOL_LIMITS)
    _check_verdict(report, function)
    _check_results(report, function)
    return [str(r.output) for r in report.results]


_COSTLY_FAILURES = frozenset({"timeout", "memory", "crashed"})


def _check_verdict(report: ExecutionReport, function: _Function) -> None:
    if report.verdict == "no_solver":
        raise CustomProbeError(f"The {function.label} code defines no function `{function.signature}`.")
    if report.verdict is not None:
        words = _VERDICT_WORDS.get(report.verdict, report.verdict)
        raise CustomProbeError(f"The {function.label} code {words}: {_detail(report.detail)}")


def _check_results(report: ExecutionReport, function: _Function) -> None:
    failed = [(i, r) for i, r in enumerate(report.results) if r.output is None]
    if failed:
        index, result = failed[0]
        words = _CASE_WORDS.get(result.error or "", result.error or "failed")
        more = f" ({len(failed) - 1} more inputs failed too)" if len(failed) > 1 else ""
        raise CustomProbeError(
            f"The {function.label} {words} on {function.place(index, result.input)}: "
            f"{_detail(result.detail)}{more}"
        )


@dataclass(frozen=True)
class CompiledProbe:
    """A probe and its pool: distinct inputs with the mapping's output for each."""

    probe: CustomProbe
    pool: tuple[Case, ...]

    def family(self) -> ProbeFamily:
        return _family(self.probe, self.pool)

    def preview(self, n: int = PREVIEW_CASES) -> list[Case]:
        family = self.family()
        return family.cases(family.default_setting(), n, seed=0)


def compile_probe(probe: CustomProbe, run: Run | None = None) -> CompiledProbe:
    """Draw the input pool and run the mapping on it, all user code in the sandbox.

    `run` is the executor (source, inputs, limits) -> report; by default a fresh one-worker pool,
    closed afterwards. Generator and mapping are separate jobs, each in a fresh process.
    """
    if run is None:
        try:
            with SandboxPool(size=1, limits=POOL_LIMITS) as pool:
                return compile_probe(probe, pool.run)
        except SandboxUnavailableError as exc:
            raise CustomProbeError(f"the sandbox cannot run code on this machine: {exc}") from None
    inputs = _draw_inputs(probe.generator, run)
    outputs = _run_checked(run, _MAPPING, mapping_source(probe), inputs)
    for text, output in zip(inputs, outputs, strict=True):
        problem = text_problem(output)
        if problem:
            raise CustomProbeError(f"The mapping's output for input {text!r}, {output!r}, {problem}.")
    if len(set(outputs)) == 1:
        raise CustomProbeError(
            f"The mapping gives the same output {outputs[0]!r} for all {len(inputs)} inputs: there is no "
            "rule to find."
        )
    return CompiledProbe(probe, tuple(Case(i, o) for i, o in zip(inputs, outputs, strict=True)))


def _draw_inputs(generator: InputGenerator, run: Run) -> list[str]:
    seeds = range(POOL_SEEDS)
    if isinstance(generator, PythonInputs):
        drawn = _run_checked(run, _GENERATOR, generator_source(generator.source), [str(s) for s in seeds])
    else:
        drawn = [generator.draw(random.Random(seed)) for seed in seeds]
    for seed, text in zip(seeds, drawn, strict=True):
        problem = text_problem(text)
        if problem:
            raise CustomProbeError(f"The input generator's value for seed {seed}, {text!r}, {problem}.")
    distinct = list(dict.fromkeys(drawn))[:POOL_SIZE]
    if len(distinct) < MIN_POOL:
        raise CustomProbeError(
            f"The input generator gave only {len(distinct)} distinct inputs in {POOL_SEEDS} draws; a probe "
            f"needs at least {MIN_POOL} (a study uses n held-out cases and shots × instances examples, "
            "all different)."
        )
    return distinct


def normalise(answer: str) -> str:
    """Single spaces, no surrounding space; case and everything else count."""
    return " ".join(answer.split())


def _family(probe: CustomProbe, pool: Sequence[Case]) -> ProbeFamily:
    outputs = {case.input: case.output for case in pool}
    inputs = tuple(outputs)

    def solve(setting: object, text: str) -> str:
        try:
            return outputs[text]
        except KeyError:
            raise ValueError(
                f"custom probe {probe.name!r} has no output for {text!r}: only the {len(inputs)} inputs "
                "drawn when it was saved have one"
            ) from None

    return ProbeFamily(
        name=probe.name,
        description=probe.description,
        parameters=(Parameter("world", str, (probe.world,), probe.world, "a custom probe's one world"),),
        standard=({"world": probe.world},),
        task=probe.description,
        solve=solve,
        draw=lambda setting, rng: rng.choice(inputs),
        rule=lambda setting: probe.rule,
        normalise=normalise,
        is_default_world=lambda params: params["world"] == "familiar",
    )


# ---------------------------------------------------------------------------------------------
# Saved probes


def save(store: Store, compiled: CompiledProbe) -> bool:
    """Save and register a compiled probe; False if it was saved already with this definition."""
    probe = compiled.probe
    try:
        created = store.save_custom_probe(
            probe.name, probe.to_dict(), [(case.input, case.output) for case in compiled.pool]
        )
    except CustomProbeExistsError as exc:
        raise CustomProbeError(str(exc)) from None
    register(compiled.family())
    return created


def _compiled(definition: Mapping[str, Any], pool: Sequence[tuple[str, str]]) -> CompiledProbe:
    return CompiledProbe(probe_from_dict(dict(definition)), tuple(Case(i, o) for i, o in pool))


def saved(store: Store) -> list[CompiledProbe]:
    """The saved probes that can be read (see `install_saved` for the others)."""
    out = []
    for record in store.custom_probes():
        try:
            out.append(_compiled(record.definition, record.pool))
        except CustomProbeError:
            continue
    return out


def load(store: Store, name: str) -> CompiledProbe:
    record = store.custom_probe(name.strip().lower())
    if record is None:
        names = ", ".join(r.name for r in store.custom_probes()) or "none"
        raise CustomProbeError(f"no custom probe {name!r} in {store.path}; saved: {names}")
    return _compiled(record.definition, record.pool)


def delete(store: Store, name: str) -> None:
    """Forget a saved probe. Items of runs that used it stay; those runs can no longer be resumed."""
    name = name.strip().lower()
    if not store.delete_custom_probe(name):
        raise CustomProbeError(f"no custom probe {name!r} in {store.path}")
    if name not in BUILT_IN:
        unregister(name)


def install_saved(store: Store) -> list[str]:
    """Make `probes.REGISTRY`'s custom families exactly the store's saved probes.

    Returns a readable problem for each saved probe that cannot be installed (e.g. a newer
    built-in family of the same name).
    """
    problems = []
    wanted: set[str] = set()
    for record in store.custom_probes():
        try:
            compiled = _compiled(record.definition, record.pool)
            register(compiled.family())
        except (CustomProbeError, ProbeError) as exc:
            problems.append(f"custom probe {record.name!r} is not available: {exc}")
            continue
        wanted.add(compiled.probe.name)
    for name in [n for n in REGISTRY if n not in BUILT_IN and n not in wanted]:
        unregister(name)
    return problems


def fingerprints(store: Store, names: Iterable[str]) -> dict[str, str]:
    """`custom probe NAME` -> a digest of its definition and pool, for the saved probes among `names`.

    A run records these when it is planned; a probe deleted and saved anew under the same name
    would give the run other cases, so resuming then is refused.
    """
    out = {}
    for name in sorted(set(names)):
        record = store.custom_probe(name)
        if record is None or name in BUILT_IN:
            continue
        payload = json.dumps([record.definition, record.pool], sort_keys=True)
        out[f"custom probe {name}"] = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return out


def import_json(store: Store, text: str | bytes, run: Run | None = None) -> CompiledProbe:
    """Read an exported probe, compile it in the sandbox and save it."""
    compiled = compile_probe(from_json(text), run)
    save(store, compiled)
    return compiled


def export_json(store: Store, name: str) -> str:
    return to_json(load(store, name).probe)
