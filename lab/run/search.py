"""Hypothesis search and refinement in the code modes.

Search (Wang et al. 2023): several sampled functions per work unit, the one that fits the most shown
examples is chosen (ties go to the earlier sample). Refinement (Qiu et al. 2023): while the chosen
function fails a shown example, the model sees those examples with its outputs and writes a correction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from lab.run.items import ScoredFunction
from lab.run.records import FunctionRecord, Item
from lab.tasks.prompts import Mismatch

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Candidate:
    """One function a model wrote for a work unit: a sample, or a refinement of the chosen sample."""

    messages: Messages
    reply: str
    scored: ScoredFunction

    @property
    def function(self) -> FunctionRecord:
        return self.scored.function

    @property
    def items(self) -> list[Item]:
        return self.scored.items

    @property
    def sample(self) -> int:
        return self.function.sample

    @property
    def round(self) -> int:
        return self.function.round

    @property
    def fits(self) -> bool:
        return bool(self.function.fits_examples)

    def mismatches(self) -> list[Mismatch]:
        return [
            Mismatch(e.input, e.expected, e.what_it_gave()) for e in self.function.examples if not e.correct
        ]


def best_fit(candidates: list[Candidate]) -> Candidate:
    """The sample that gets the most shown examples right; ties go to the earliest sample."""
    return max(candidates, key=lambda c: (c.function.shown_correct, -c.sample))


# Writes one function: (messages, sample, round) -> the candidate, or None when its call failed.
Write = Callable[[Messages, int, int], "Candidate | None"]
# The messages asking to correct a candidate.
Refine = Callable[[Candidate], Messages]


@dataclass(frozen=True)
class SearchResult:
    candidates: list[Candidate]  # every sample, then every refinement round
    final: Candidate  # what the items score: the last round of the chosen sample

    def functions(self) -> list[FunctionRecord]:
        """Every candidate's record, flagged chosen or not; the final one goes last (items link to it)."""
        ordered = sorted(self.candidates, key=lambda c: (c.round, c is self.final, c.sample))
        return [replace(c.function, chosen=c.sample == self.final.sample) for c in ordered]


def search(
    messages: Messages,
    *,
    samples: int,
    rounds: int,
    refinable: bool,
    write: Write,
    refine: Refine,
    should_stop: Callable[[], bool],
) -> SearchResult | None:
    """Sample, choose by fit on the shown examples, refine; None when a call failed or the run stops."""
    drawn: list[Candidate] = []
    for sample in range(samples):
        candidate = write(messages, sample, 0)
        if candidate is None or should_stop():
            return None
        drawn.append(candidate)
    chosen = best_fit(drawn)
    chain = [chosen]
    while len(chain) <= rounds and refinable and not chain[-1].fits:
        last = chain[-1]
        refined = write(refine(last), chosen.sample, last.round + 1)
        if refined is None or should_stop():
            return None
        chain.append(refined)
    return SearchResult(drawn + chain[1:], chain[-1])
