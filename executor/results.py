"""What the executor reports: one result per input, plus a verdict for the source as a whole."""

from __future__ import annotations

from dataclasses import dataclass

SYNTAX_ERROR = "syntax_error"
RESTRICTED = "restricted"
NO_SOLVER = "no_solver"
RUNTIME_ERROR = "runtime_error"
TIMEOUT = "timeout"
MEMORY = "memory"
BAD_OUTPUT = "bad_output"
CRASHED = "crashed"

ERROR_CATEGORIES: frozenset[str] = frozenset(
    {SYNTAX_ERROR, RESTRICTED, NO_SOLVER, RUNTIME_ERROR, TIMEOUT, MEMORY, BAD_OUTPUT, CRASHED}
)
# Categories a worker may report for a single case; the others are verdicts or the parent's own.
CASE_CATEGORIES: frozenset[str] = frozenset({RESTRICTED, RUNTIME_ERROR, MEMORY, BAD_OUTPUT})


@dataclass(frozen=True)
class CaseResult:
    """The outcome for one input: an output string, or an error category with a readable detail."""

    input: str
    output: str | None
    error: str | None
    detail: str | None


@dataclass(frozen=True)
class ExecutionReport:
    """The outcome for one solver on a list of inputs.

    ``verdict`` is set when the source never got to run on the inputs (it did not compile, was
    rejected, defines no usable ``solver``, or failed while being defined); every result then
    carries that same error.
    """

    verdict: str | None
    detail: str | None
    results: list[CaseResult]
