"""Score one work unit's reply into typed items (and, in code modes, the function it wrote)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace

from executor import ExecutionReport
from lab.run.plan import WorkUnit
from lab.run.records import TRUNCATED, FunctionRecord, Item, ShownExample
from lab.tasks import modes
from lab.tasks.memorised import looks_memorised
from lab.tasks.modes import MODES, Framing
from lab.tasks.prompts import solver_source
from lab.tasks.scoring import NO_CODE, UNPARSED, extract_code
from probes import Case, ProbeFamily

RunSolver = Callable[[str, list[str]], ExecutionReport]


@dataclass(frozen=True)
class Reply:
    """A model's reply to one call, as stored: `truncated` when it stopped at the token cap."""

    text: str
    call_id: int
    truncated: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one case was scored as."""

    predicted: str | None
    correct: bool
    error: str | None
    detail: str | None = None


def make_item(
    unit: WorkUnit, run_id: str, call_id: int | None, index: int, case: Case, outcome: Outcome
) -> Item:
    return Item(
        run_id=run_id,
        model=unit.model.label,
        probe=unit.setting.family,
        setting=unit.setting.label,
        default_world=unit.setting.default_world,
        mode=unit.mode,
        instance=unit.instance,
        case_index=index,
        input=case.input,
        expected=case.output,
        predicted=outcome.predicted,
        correct=outcome.correct,
        error=outcome.error,
        detail=outcome.detail,
        call_id=call_id,
        consistent_worlds=unit.consistent_worlds,
        shots=unit.shots,
        noise=unit.noise,
    )


def unanswered_items(unit: WorkUnit, run_id: str, call_id: int, error: str, detail: str) -> list[Item]:
    """A unit the provider had no reply for (e.g. `not_recorded`): every case wrong, with that error."""
    outcome = Outcome(None, False, error, detail)
    return [make_item(unit, run_id, call_id, index, case, outcome) for index, case in unit.cases]


def direct_items(
    unit: WorkUnit, family: ProbeFamily, reply: Reply, run_id: str, *, framing: Framing
) -> list[Item]:
    """A direct reply scored by its mode against each case it answers."""
    items = []
    for index, case in unit.cases:
        score = MODES[unit.mode].score(modes.Reply(family, unit.setting, case, reply.text, framing))
        error = TRUNCATED if score.error == UNPARSED and reply.truncated else score.error
        outcome = Outcome(score.predicted, score.correct, error)
        items.append(make_item(unit, run_id, reply.call_id, index, case, outcome))
    return items


@dataclass(frozen=True)
class ScoredFunction:
    """A code-mode reply scored: the items of the held-out cases and the function record."""

    items: list[Item]
    function: FunctionRecord


def code_items(
    unit: WorkUnit,
    family: ProbeFamily,
    reply: Reply,
    run_id: str,
    run: RunSolver,
    *,
    framing: Framing,
    sample: int = 0,
    round_: int = 0,
) -> ScoredFunction:
    """Run the model's solver on the shown examples and the held-out cases in one sandbox round trip;
    the family judges each output (`is_correct`: exact after normalising, or its own grading)."""
    code = extract_code(reply.text)
    # A function that stops where the reply was cut is kept for inspection but not run.
    cut_short = reply.truncated and (code is None or not _compiles(code))
    examples = list(unit.examples)
    function = FunctionRecord(
        run_id=run_id,
        model=unit.model.label,
        probe=unit.setting.family,
        setting=unit.setting.label,
        mode=unit.mode,
        instance=unit.instance,
        call_id=reply.call_id,
        code=code,
        verdict=None,
        detail=None,
        examples=(),
        fits_examples=None if not examples else False,
        memorised=False,
        held_out_failed=tuple(i for i, _ in unit.cases),
        sample=sample,
        round=round_,
    )
    if code is None or cut_short:
        error, detail = (
            (TRUNCATED, "the reply stopped at the token cap before a whole Python function solver")
            if cut_short
            else (NO_CODE, "the reply holds no Python block defining solver")
        )
        outcome = Outcome(None, False, error)
        items = [make_item(unit, run_id, reply.call_id, i, case, outcome) for i, case in unit.cases]
        return ScoredFunction(items, replace(function, verdict=error, detail=detail))
    source = solver_source(unit.setting, unit.mode, code, framing)
    report = run(source, [c.input for c in examples] + [c.input for _, c in unit.cases])
    shown = tuple(
        ShownExample(
            input=case.input,
            expected=case.output,
            output=result.output,
            error=result.error,
            detail=result.detail,
            correct=result.output is not None and family.is_correct(unit.setting, case, result.output),
        )
        for case, result in zip(examples, report.results[: len(examples)], strict=True)
    )
    items = []
    for (index, case), result in zip(unit.cases, report.results[len(examples) :], strict=True):
        predicted = family.normalise(result.output) if result.output is not None else None
        correct = result.output is not None and family.is_correct(unit.setting, case, result.output)
        outcome = Outcome(predicted, correct, result.error, result.detail)
        items.append(make_item(unit, run_id, reply.call_id, index, case, outcome))
    scored = replace(
        function,
        verdict=report.verdict,
        detail=report.detail,
        memorised=looks_memorised(code, examples),
        examples=shown,
        fits_examples=None if not examples else all(s.correct for s in shown),
        held_out_failed=tuple(item.case_index for item in items if not item.correct),
    )
    return ScoredFunction(items, scored)


def _compiles(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True
