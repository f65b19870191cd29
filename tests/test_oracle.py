"""The oracle mode end to end on the scripted server: queries answered by the hidden rule in the
sandbox, submissions checked with a counterexample, hostile replies refused or counted, the counts
read back by the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.presets import parse_preset
from lab.results import oracle as oracle_results
from lab.results import read
from lab.run import study
from lab.run.plan import RunPlan, estimated_calls, total_items, work_units
from lab.run.store import Store
from lab.tasks.oracle import MAX_ERROR_TURNS, read_usage, timeline
from lab.tasks.prompts import build_messages
from probes import parse_spec
from tests.scripted import fenced, solver_source
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)
BASE9 = "arithmetic:base=9"
WRONG = fenced("def solver(x: str) -> str:\n    return 'wrong'\n")
Messages = list[dict[str, str]]


def oracle_plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": (BASE9,),
        "modes": ("oracle",),
        "shots": 3,
        "n": 5,
        "instances": 2,
        "seed": 1,
        "max_tokens": 64,
        "concurrency": 2,
        "queries": 4,
        "submissions": 2,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def run(store: Store, plan: RunPlan):
    run_id = study.prepare_run(store, plan)
    return study.execute_run(store, run_id, retry=FAST_RETRY)


def turn(messages: Messages) -> int:
    """How many replies the model gave before this call."""
    return sum(1 for m in messages if m["role"] == "assistant")


def right_solver() -> str:
    return fenced(solver_source(parse_spec(BASE9)[0]))


def scripted(responder) -> ScriptedServer:
    def respond(messages: Messages) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        return responder(messages)

    return ScriptedServer(respond)


def summary_of(store: Store, run_id: str):
    items = read.items_frame(store, [run_id], links=True)
    return oracle_results.oracle_summary(store, items), items


def test_a_model_that_queries_well_and_submits_the_right_function_succeeds(db_path: Path) -> None:
    queried: list[str] = []

    def responder(messages: Messages) -> str:
        if turn(messages) == 0:
            return "Let me probe the rule.\n```query\n1+8\n10+10\n```\n"
        queried.append(messages[-1]["content"])
        return right_solver()

    with scripted(responder) as server:
        plan = oracle_plan(server.base_url)
        store = Store(db_path)
        record = run(store, plan)
        assert record.status == "finished", record.reason
        assert server.chat_requests == 2 * plan.instances + 1  # a query and a submission each, + the check
    # The hidden rule answered from the sandbox: base 9, so 1+8 = 10 and 10+10 = 20.
    assert len(queried) == 2
    assert all("Input: 1+8\nOutput: 10" in text and "Input: 10+10\nOutput: 20" in text for text in queried)
    assert all("(Queries used: 2 of 4. Submissions used: 0 of 2.)" in text for text in queried)
    summary, items = summary_of(store, record.id)
    assert len(items) == total_items(plan) == 10 and items["correct"].all()
    [row] = summary.itertuples()
    assert (row.instances, row.success, row.queries, row.submissions) == (2, 1.0, 2.0, 1.0)
    assert row.success_low < 1.0 == row.success_high  # Wilson over 2 instances
    assert (row.query_budget, row.submission_budget) == (4, 2)
    functions = store.functions([record.id])
    assert [(f["instance"], f["round"]) for f in functions] == [(0, 0), (1, 0)]


def test_a_model_that_never_queries_and_submits_a_wrong_function_fails_with_every_submission(
    db_path: Path,
) -> None:
    counterexamples: list[str] = []

    def responder(messages: Messages) -> str:
        if turn(messages):
            counterexamples.append(messages[-1]["content"])
        return WRONG

    with scripted(responder) as server:
        plan = oracle_plan(server.base_url, submissions=3)
        store = Store(db_path)
        record = run(store, plan)
        assert record.status == "finished", record.reason
        assert server.chat_requests == 3 * plan.instances + 1
    assert len(counterexamples) == 2 * plan.instances
    assert all(
        "Your function gave: wrong" in text and "Expected output: " in text for text in counterexamples
    )
    summary, items = summary_of(store, record.id)
    assert not items["correct"].any() and set(items["predicted"]) == {"WRONG"}
    [row] = summary.itertuples()
    assert (row.success, row.queries, row.submissions) == (0.0, 0.0, 3.0)
    assert row.submissions_low <= 3.0 == row.submissions_high
    functions = store.functions([record.id])
    assert sorted((f["instance"], f["round"]) for f in functions) == [
        (i, r) for i in (0, 1) for r in range(3)
    ]
    # A counterexample is a fresh input, never a held-out one, while fresh inputs show the error.
    held_out = set(items["input"])
    shown = {text.split("Input: ")[1].split("\n")[0] for text in counterexamples}
    assert not shown & held_out


def test_hostile_queries_are_refused_or_counted_without_harm(db_path: Path) -> None:
    flood = "\n".join(f"{i}+1" for i in range(10_000))
    hostile = "```query\n" + "7" * 5000 + "\nab\x07c+1\nzz+1\n1+1\n" + flood + "\n```"
    seen: list[str] = []

    def responder(messages: Messages) -> str:
        seen.append(messages[-1]["content"])
        return [hostile, "I am not sure.", "```query\n2+2\n```", right_solver()][turn(messages)]

    with scripted(responder) as server:
        plan = oracle_plan(server.base_url, instances=1)
        store = Store(db_path)
        record = run(store, plan)
        assert record.status == "finished", record.reason
    answers, malformed, exhausted = seen[1:4]
    assert "5000 characters; inputs have at most 200" in answers
    assert "control characters" in answers and "'zz+1'" in answers and "is not a base-9 number" in answers
    assert "Input: 1+1\nOutput: 2" in answers and answers.count("this counts as a query") == 3
    assert "10000 more input(s) not answered: no queries left" in answers
    assert "(Queries used: 4 of 4. Submissions used: 0 of 2.)" in answers
    assert "could not be read: it holds no ```query block" in malformed
    assert exhausted.startswith("No queries left")
    summary, items = summary_of(store, record.id)
    [row] = summary.itertuples()
    assert (row.success, row.queries, row.submissions) == (1.0, 4.0, 1.0)
    [call_id] = set(items["call_id"])
    call = store.get_call(int(call_id))
    assert call is not None and read_usage(call["messages"]).queries == 4
    kinds = [t.kind for t in timeline(call["messages"], call["response"])]
    assert kinds == [
        "task, examples and protocol",
        "query (10004 inputs)",
        "answer",
        "malformed",
        "answer",
        "query (1 inputs)",
        "answer",
        "submission",
    ]


def test_a_model_that_never_acts_ends_after_the_error_turns_without_a_submission(db_path: Path) -> None:
    with scripted(lambda messages: "Hmm.") as server:
        plan = oracle_plan(server.base_url, instances=1)
        store = Store(db_path)
        record = run(store, plan)
        assert record.status == "finished", record.reason
        assert server.chat_requests == MAX_ERROR_TURNS + 1 + 1
    summary, items = summary_of(store, record.id)
    assert set(items["error"]) == {"no_code"}
    [row] = summary.itertuples()
    assert (row.success, row.queries, row.submissions) == (0.0, 0.0, 0.0)
    [function] = store.functions([record.id])
    assert function["verdict"] == "no_code"


def test_the_plan_keeps_old_hashes_and_refuses_rounds_and_samples() -> None:
    plan = oracle_plan("http://127.0.0.1:1/v1", modes=("solverlearner",))
    assert (
        plan.identity_hash()
        == oracle_plan("http://127.0.0.1:1/v1", modes=("solverlearner",), queries=9).identity_hash()
    )
    data = plan.to_dict()
    del data["queries"], data["submissions"]
    assert RunPlan.from_dict(data).identity_hash() == plan.identity_hash()
    oracle = oracle_plan("http://127.0.0.1:1/v1")
    assert oracle.identity_hash() != oracle_plan("http://127.0.0.1:1/v1", queries=9).identity_hash()
    assert estimated_calls(oracle) == (4 + 2 + MAX_ERROR_TURNS) * 2
    with pytest.raises(ValueError, match="takes no --samples or --rounds"):
        oracle_plan("http://127.0.0.1:1/v1", rounds=1)
    with pytest.raises(ValueError, match="submissions from 1"):
        oracle_plan("http://127.0.0.1:1/v1", submissions=0)


def test_the_oracle_is_offered_only_where_the_hidden_rule_runs_in_the_sandbox() -> None:
    plan = oracle_plan("http://127.0.0.1:1/v1", probes=(BASE9, "syntax:order=osv", "cipher:cipher=atbash"))
    assert total_items(plan) == 2 * 5 * 2  # syntax has no oracle: skipped, like ccc where there is no check
    assert json.loads(json.dumps(plan.to_dict()))["queries"] == 4


def test_the_opening_states_the_budget_and_the_protocol() -> None:
    plan = oracle_plan("http://127.0.0.1:1/v1", instances=1)
    [unit] = work_units(plan)
    [opening] = unit.messages
    assert (
        "You have 4 queries in all" in opening["content"] and "You have 2 submissions" in opening["content"]
    )
    assert "```query block, one input a line" in opening["content"]
    default = build_messages(unit.setting, "oracle", unit.examples)[0]["content"]
    assert "You have 10 queries in all" in default and "You have 3 submissions" in default
    # One wording under either framing: the oracle's solver always takes the one input string.
    paper = build_messages(unit.setting, "oracle", unit.examples, framing="paper", budget=plan.budget)
    assert paper == build_messages(unit.setting, "oracle", unit.examples, framing="blind", budget=plan.budget)


def test_a_preset_may_name_the_oracle_mode() -> None:
    data = {
        "solverlab_preset": 1,
        "name": "oracle-try",
        "description": "the oracle mode on three families",
        "reproduces": "nothing yet",
        "runs": [{"label": "oracle", "probes": [BASE9, "cipher", "strings"], "modes": ["oracle"], "n": 5}],
    }
    [preset_run] = parse_preset(data, "oracle-try").runs
    assert preset_run.modes == ("oracle",)


def test_a_conversation_cut_by_a_failed_call_is_finished_on_resume_from_the_cache(db_path: Path) -> None:
    server = ScriptedServer()

    def respond(messages: Messages) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        if turn(messages) == 0:
            if not resumed:
                server.fail_next(500, FAST_RETRY.attempts)  # every attempt of the next call fails
            return "```query\n1+8\n```"
        return right_solver()

    resumed = False
    server.responder = respond
    with server:
        plan = oracle_plan(server.base_url, instances=1)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        first = study.execute_run(store, run_id, retry=FAST_RETRY)
        assert first.status == "incomplete" and store.totals(run_id).items == 0
        resumed = True
        second = study.execute_run(store, run_id, retry=FAST_RETRY)
        assert second.status == "finished", second.reason
        openings = [r for r in server.requests if len(r["messages"]) == 1 and "Reply with OK" not in str(r)]
        assert len(openings) == 1  # the first turn came from the cache on resume
    summary, items = summary_of(store, run_id)
    [row] = summary.itertuples()
    assert (row.success, row.queries, row.submissions) == (1.0, 1.0, 1.0) and items["correct"].all()
