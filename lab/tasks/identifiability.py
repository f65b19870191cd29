"""Identifiability: which of a family's candidate worlds agree with every shown example.

A set of examples singles out its world when exactly one candidate agrees with all of them
(InductionBench, 2025, poses only such tasks). The candidates are every choice of the family's
`worlds` parameters, the other parameters kept: for arithmetic every base 2..36 (a base in which an
example's digits do not fit disagrees), for ciphers every cipher and shift, for syntax every order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from probes import Case, ProbeError, ProbeFamily, Setting


def candidate_worlds(family: ProbeFamily, setting: Setting) -> tuple[Setting, ...]:
    """Every world of the family that differs from `setting` only in its `worlds` parameters, in
    declaration order (`setting` among them); empty when the family declares no candidates."""
    if not family.worlds:
        return ()
    choices = [next(p for p in family.parameters if p.name == name).choices for name in family.worlds]
    out: list[Setting] = []
    for combination in itertools.product(*choices):
        values = {**setting.as_dict(), **dict(zip(family.worlds, combination, strict=True))}
        try:
            world = family.setting(**family.canonical(values))
        except ProbeError:
            continue
        if world not in out:
            out.append(world)
    return tuple(out)


def agrees(family: ProbeFamily, world: Setting, example: Case) -> bool:
    """Whether `world` maps the example's input to its output (False where the input is not one of
    that world's, e.g. digits that do not fit its base)."""
    try:
        expected = family.solve(world, example.input)
    except (ValueError, KeyError, IndexError):
        return False
    return family.is_correct(world, Case(example.input, expected), example.output)


def consistent_worlds(family: ProbeFamily, setting: Setting, examples: Sequence[Case]) -> tuple[Setting, ...]:
    """The candidate worlds of `setting` that agree with every example."""
    return tuple(
        world
        for world in candidate_worlds(family, setting)
        if all(agrees(family, world, example) for example in examples)
    )


def count_consistent(family: ProbeFamily, setting: Setting, examples: Sequence[Case]) -> int | None:
    """How many candidate worlds agree with every example; None when the family has no candidates or
    no examples were shown."""
    if not family.worlds or not examples:
        return None
    return len(consistent_worlds(family, setting, examples))
