"""Sweeps: the example sets of every (shots, noise) point of a plan, each with its identifiability.

Every point is measured on the same held-out cases. Instance i of every point starts from the same
example pool: k shots show its first k examples, so a shot curve adds examples to the same set
rather than drawing new ones; noise then makes some of those shown outputs wrong. Instances are
numbered across the sweep, point by point (point p's instance i is p * instances + i), so every
example set has a key of its own; a plan of one point numbers them as before sweeps existed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from lab.tasks.identifiability import count_consistent
from lab.tasks.noise import with_noise
from probes import Case, ProbeFamily, Setting

# Example sets tried per instance before --identifiable gives up on a setting.
MAX_DRAWS = 500


class SweepError(ValueError):
    """A sweep that cannot be drawn; the message says which setting and what to change."""


@dataclass(frozen=True)
class SweepPoint:
    shots: int
    noise: float
    index: int  # position in the plan's sweep: shots major, noise minor


@dataclass(frozen=True)
class ExampleSet:
    """The examples one instance shows, where it sits in the sweep, and how many worlds fit them."""

    instance: int
    examples: tuple[Case, ...] = ()
    shots: int | None = None  # None: a mode that shows no examples
    noise: float | None = None
    consistent_worlds: int | None = None


NO_EXAMPLES = ExampleSet(instance=0)


def sweep_points(shots: Sequence[int], noise: Sequence[float]) -> tuple[SweepPoint, ...]:
    pairs = itertools.product(shots, noise)
    return tuple(SweepPoint(k, fraction, index) for index, (k, fraction) in enumerate(pairs))


def example_sets(
    family: ProbeFamily,
    setting: Setting,
    pools: Sequence[Sequence[Case]],
    points: Sequence[SweepPoint],
    seed: int,
) -> list[ExampleSet]:
    """Every point's instances, drawn from the per-instance pools (each at least the largest shots)."""
    out = []
    for point in points:
        for local, pool in enumerate(pools):
            clean = tuple(pool[: point.shots])
            out.append(_shown(family, setting, point, local, len(pools), clean, seed))
    return out


def identifiable_sets(
    family: ProbeFamily,
    setting: Setting,
    stream: Callable[[], Iterator[Case]],
    points: Sequence[SweepPoint],
    instances: int,
    seed: int,
) -> list[ExampleSet]:
    """Like `example_sets`, but each instance's clean examples are the next disjoint run of `shots`
    cases from a fresh `stream()` that only the setting's own world fits (InductionBench's rule)."""
    if not family.worlds:
        raise SweepError(
            f"{setting.spec} has no candidate worlds to tell apart, so --identifiable cannot apply; "
            "leave it out for this family"
        )
    chosen: dict[tuple[int, int], tuple[Case, ...]] = {}
    for shots in dict.fromkeys(point.shots for point in points):
        runs = itertools.islice(_runs(stream(), shots), MAX_DRAWS)
        singled = (run for run in runs if count_consistent(family, setting, run) == 1)
        for local in range(instances):
            found = next(singled, None)
            if found is None:
                raise SweepError(
                    f"no {shots} example(s) of {setting.spec} single out its world within {MAX_DRAWS} "
                    f"draws for instance {local}; show more examples or leave out --identifiable"
                )
            chosen[shots, local] = found
    return [
        _shown(family, setting, point, local, instances, chosen[point.shots, local], seed)
        for point in points
        for local in range(instances)
    ]


def _runs(cases: Iterator[Case], size: int) -> Iterator[tuple[Case, ...]]:
    """Consecutive disjoint runs of `size` cases."""
    while len(run := tuple(itertools.islice(cases, size))) == size:
        yield run


def _shown(
    family: ProbeFamily,
    setting: Setting,
    point: SweepPoint,
    local: int,
    instances: int,
    clean: tuple[Case, ...],
    seed: int,
) -> ExampleSet:
    noise_seed = f"{setting.spec}|{seed}|{local}|{point.shots}|{point.noise}"
    shown = with_noise(family, setting, clean, point.noise, noise_seed)
    return ExampleSet(
        instance=point.index * instances + local,
        examples=shown,
        shots=point.shots,
        noise=point.noise,
        consistent_worlds=count_consistent(family, setting, shown),
    )
