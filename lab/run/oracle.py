"""The oracle mode's conversation for one work unit: queries answered in the sandbox, submissions
checked against the hidden rule, one counterexample a wrong submission.

The hidden rule runs only in the sandbox (`lab.tasks.oracle_mappings`: each query input is read by
the family's parser first, and refused when it does not parse). A submission runs in the sandbox on
the held-out cases (scored as in the other code modes) and on fresh inputs drawn with a seed; the
oracle answers with the first fresh input where it is wrong, else the first held-out one. The items
score the last submission; they link to the conversation's last call, whose messages hold every
turn (the usage line of the oracle's turns says how many queries and submissions were used).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

from lab.run.items import Reply, RunSolver, ScoredFunction, code_items
from lab.run.plan import WorkUnit
from lab.run.records import FunctionRecord, Item
from lab.tasks.modes import Framing
from lab.tasks.oracle import (
    MAX_ERROR_TURNS,
    Answer,
    Budget,
    Malformed,
    Query,
    Submission,
    Usage,
    answers_turn,
    counterexample_turn,
    error_turn,
    no_queries_turn,
    parse_reply,
    screen_input,
)
from lab.tasks.oracle_mappings import oracle_mapping
from probes import Case, ProbeFamily

FRESH_CASES = 20  # fresh random inputs a submission is checked on, beside the held-out cases
FRESH_SEED = 104_729  # offsets the plan's seed, so fresh inputs differ from the held-out draw

Messages = list[dict[str, str]]
Call = Callable[[Messages], "Reply | None"]


@dataclass(frozen=True)
class OracleResult:
    """A finished conversation: the items of the last submission and every submission's function."""

    items: list[Item]
    functions: list[FunctionRecord]


def fresh_cases(unit: WorkUnit, family: ProbeFamily, seed: int) -> list[Case]:
    """Inputs drawn for the differential test, none of them shown or held out."""
    taken = {case.input for case in unit.examples} | {case.input for _, case in unit.cases}
    stream = family.iter_cases(unit.setting, seed + FRESH_SEED * (unit.instance + 1))
    return list(itertools.islice((c for c in stream if c.input not in taken), FRESH_CASES))


@dataclass
class _Conversation:
    unit: WorkUnit
    family: ProbeFamily
    budget: Budget
    run: RunSolver
    run_id: str
    fresh: list[Case]
    queries: int = 0
    errors: int = 0

    def answer(self, query: Query) -> tuple[list[Answer], int]:
        """Each input within the budget answered or refused (both count); how many were over it."""
        mapping = oracle_mapping(self.family)
        room = self.budget.queries - self.queries
        asked, over = query.inputs[:room], len(query.inputs[room:]) + query.unread
        self.queries += len(asked)
        refusals = [screen_input(text) or mapping.refusal(self.unit.setting, text) for text in asked]
        runnable = [text for text, refusal in zip(asked, refusals, strict=True) if refusal is None]
        report = self.run(mapping.source(self.unit.setting), runnable) if runnable else None
        outputs = iter(report.results if report else ())
        answers = []
        for text, refusal in zip(asked, refusals, strict=True):
            if refusal is not None:
                answers.append(Answer(text, None, refusal))
                continue
            result = next(outputs)
            if result.output is None:
                answers.append(Answer(text, None, f"the rule is not defined on this input ({result.error})"))
            else:
                answers.append(Answer(text, result.output))
        return answers, over

    def counterexample(self, scored: ScoredFunction, code: str) -> tuple[str, str, str] | None:
        """One input where the submission differs from the rule: a fresh one first, else a held-out one."""
        report = self.run(code, [case.input for case in self.fresh]) if self.fresh else None
        for case, result in zip(self.fresh, report.results if report else (), strict=True):
            if result.output is None or not self.family.is_correct(self.unit.setting, case, result.output):
                return case.input, case.output, _gave(result.output, result.error, result.detail)
        for item in scored.items:
            if not item.correct:
                return item.input, item.expected, _gave(item.predicted, item.error, item.detail)
        return None

    def submit(self, reply: Reply, round_: int) -> ScoredFunction:
        return code_items(
            self.unit, self.family, reply, self.run_id, self.run, framing=Framing.BLIND, round_=round_
        )


def _gave(output: str | None, error: str | None, detail: str | None) -> str:
    if output is not None:
        return output
    return f"no output ({error}: {detail})" if detail else f"no output ({error})"


def converse(
    unit: WorkUnit,
    family: ProbeFamily,
    *,
    budget: Budget,
    call: Call,
    run: RunSolver,
    run_id: str,
    seed: int,
) -> OracleResult | None:
    """Talk with the model until it succeeds, spends its submissions or errs too often; None when a
    call failed (the unit is retried on resume)."""
    talk = _Conversation(unit, family, budget, run, run_id, fresh_cases(unit, family, seed))
    messages = list(unit.messages)
    submitted: list[ScoredFunction] = []
    last: Reply | None = None
    for _ in range(budget.max_turns + 1):
        last = call(messages)
        if last is None:
            return None
        action = parse_reply(last.text)
        used = Usage(talk.queries, len(submitted))
        if isinstance(action, Submission):
            scored = talk.submit(last, len(submitted))
            submitted.append(scored)
            wrong = talk.counterexample(scored, action.code)
            if wrong is None or len(submitted) >= budget.submissions:
                break
            turn = counterexample_turn(*wrong, Usage(talk.queries, len(submitted)), budget)
        elif isinstance(action, Query) and talk.queries < budget.queries:
            answers, over = talk.answer(action)
            turn = answers_turn(answers, over, Usage(talk.queries, len(submitted)), budget)
        else:
            talk.errors += 1
            if talk.errors > MAX_ERROR_TURNS:
                break
            reason = action.reason if isinstance(action, Malformed) else None
            turn = error_turn(reason, used, budget) if reason else no_queries_turn(used, budget)
        messages = [*messages, {"role": "assistant", "content": last.text}, {"role": "user", "content": turn}]
    assert last is not None
    return _result(talk, submitted, last)


def _result(talk: _Conversation, submitted: list[ScoredFunction], last: Reply) -> OracleResult:
    """The last submission's items, linked to the conversation's last call (it holds every turn)."""
    if submitted:
        final = submitted[-1]
        functions = [scored.function for scored in submitted]
    else:
        final = talk.submit(Reply("", last.call_id, last.truncated), 0)
        functions = [replace(final.function, detail="the conversation ended without a submission")]
    items = [replace(item, call_id=last.call_id) for item in final.items]
    return OracleResult(items, functions)
