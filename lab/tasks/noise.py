"""Noisy examples (after Li et al. 2025, "Patterns Over Principles"): some shown outputs made wrong.

A noisy example keeps its input and gets a plausible wrong output: what one of the family's other
worlds would give (a base-9 sum shown in a base-8 set), else a one-character corruption. Only
shown examples are ever made noisy; held-out cases stay clean.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

from lab.tasks.identifiability import candidate_worlds
from probes import Case, ProbeFamily, Setting

_FILLERS = string.digits + string.ascii_lowercase


def noisy_count(fraction: float, shots: int) -> int:
    """How many of `shots` examples a noise `fraction` makes wrong: the nearest whole number, halves
    rounded up (0.25 of 2 is 1, 0.1 of 4 is 0)."""
    return int(fraction * shots + 0.5)


def wrong_output(family: ProbeFamily, setting: Setting, case: Case, rng: random.Random) -> str:
    """A plausible output for `case.input` that `setting` judges wrong."""
    others = []
    for world in candidate_worlds(family, setting):
        if world == setting:
            continue
        try:
            output = family.solve(world, case.input)
        except (ValueError, KeyError, IndexError):
            continue
        if output not in others and not family.is_correct(setting, case, output):
            others.append(output)
    if others:
        return rng.choice(others)
    return _corrupted(family, setting, case, rng)


def _corrupted(family: ProbeFamily, setting: Setting, case: Case, rng: random.Random) -> str:
    """The output with one character replaced (or one appended), judged wrong by the setting."""
    text = case.output
    positions = list(range(len(text)))
    rng.shuffle(positions)
    for position in positions:
        for filler in rng.sample(_FILLERS, len(_FILLERS)):
            candidate = text[:position] + filler + text[position + 1 :]
            if not family.is_correct(setting, case, candidate):
                return candidate
    return text + rng.choice(_FILLERS)


def with_noise(
    family: ProbeFamily, setting: Setting, examples: Sequence[Case], fraction: float, seed: str
) -> tuple[Case, ...]:
    """The examples with `noisy_count(fraction, len(examples))` of them given a wrong output; which
    ones, and how, follow from `seed` alone."""
    shown = list(examples)
    if fraction <= 0 or not shown:
        return tuple(shown)
    rng = random.Random(f"noise|{seed}")
    for index in sorted(rng.sample(range(len(shown)), noisy_count(fraction, len(shown)))):
        case = shown[index]
        shown[index] = Case(case.input, wrong_output(family, setting, case, rng))
    return tuple(shown)
