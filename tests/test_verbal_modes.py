"""The verbal modes end to end: the model states a rule in words, then applies it or writes solver."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.run import study
from lab.run.plan import RunPlan, estimated_calls, work_units
from lab.run.store import Store
from lab.tasks.prompts import APPLY_OWN_RULE, RULE_REQUEST, build_messages, followup_messages
from probes import get_family
from tests.scripted import fenced, solver_source
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)
ARITHMETIC = get_family("arithmetic")


def verbal_plan(base_url: str) -> RunPlan:
    return RunPlan(
        models=(ModelSpec("openai/scripted", api_base=base_url),),
        probes=("arithmetic:base=9",),
        modes=("verbal_apply", "verbal_code"),
        shots=4,
        n=5,
        instances=2,
        seed=4,
        max_tokens=64,
        concurrency=4,
    )


def rule_responder(plan: RunPlan):
    """States base 9 (right) for instance 0 and base 10 (wrong) for instance 1, then applies the base it
    stated: a right rule applied faithfully, a wrong one applied faithfully."""
    rules = {}
    for unit in work_units(plan):
        base = 9 if unit.instance == 0 else 10
        rules[json.dumps(unit.messages, sort_keys=True)] = f"Rule: add the two numbers in base {base}."

    def respond(messages: list[dict[str, str]]) -> str:
        last = messages[-1]["content"]
        if "Reply with OK" in last:
            return "OK"
        if RULE_REQUEST in last:
            return rules.get(json.dumps(messages, sort_keys=True), "not scripted")
        base = int(re.search(r"base (\d+)", messages[-2]["content"]).group(1))
        world = ARITHMETIC.setting(base=base)
        if APPLY_OWN_RULE in last:
            query = re.search(r"Input: (\S+)", last).group(1)
            return f"By my rule, \\boxed{{{ARITHMETIC.solve(world, query)}}}"
        return fenced(solver_source(world))

    return respond


def test_verbal_modes_apply_and_write_the_rule_they_stated(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = verbal_plan(server.base_url)
        server.responder = rule_responder(plan)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=FAST_RETRY)
        requests = server.chat_requests
    assert record.status == "finished"
    items = pd.DataFrame(store.items([run_id]))
    by_cell = items.groupby(["mode", "instance"])["correct"].agg(["size", "sum"])
    # Instance 0 stated the right base: all 5 right; instance 1 stated base 10 where base 9 holds and
    # every held-out case of base 9 tells them apart: all 5 wrong.
    assert by_cell.to_dict("index") == {
        ("verbal_apply", 0): {"size": 5, "sum": 5},
        ("verbal_apply", 1): {"size": 5, "sum": 0},
        ("verbal_code", 0): {"size": 5, "sum": 5},
        ("verbal_code", 1): {"size": 5, "sum": 0},
    }
    # The model check, one rule call per instance (both verbal modes open with the same turn, so the
    # second takes it from the cache), then a call per case (apply) or per instance (code). The
    # estimate counts cached replies too.
    assert requests == 1 + 2 + 2 * 5 + 2
    assert estimated_calls(plan) == 2 * (1 + 5) + 2 * (1 + 1)
    # The stated rule is stored: it is the assistant turn of every item's call.
    for item in store.items([run_id]):
        messages = store.get_call(item["call_id"])["messages"]
        assert messages[1] == {
            "role": "assistant",
            "content": f"Rule: add the two numbers in base {9 if item['instance'] == 0 else 10}.",
        }
        assert RULE_REQUEST in messages[0]["content"]


def test_the_first_turn_is_shared_by_every_case_and_the_second_asks_for_the_stated_rule() -> None:
    setting = ARITHMETIC.setting(base=9)
    examples = ARITHMETIC.cases(setting, 3, 0)
    first = build_messages(setting, "verbal_apply", examples, "12+13")
    assert first == build_messages(setting, "verbal_apply", examples, "45+1")
    assert first == build_messages(setting, "verbal_code", examples)
    assert all(f"Output: {case.output}" in first[0]["content"] for case in examples)
    assert "12+13" not in first[0]["content"]
    apply = followup_messages(setting, "verbal_apply", first, "Rule: base 9.", "12+13")
    assert apply[:2] == [*first, {"role": "assistant", "content": "Rule: base 9."}]
    assert APPLY_OWN_RULE in apply[2]["content"] and "Input: 12+13" in apply[2]["content"]
    code = followup_messages(setting, "verbal_code", first, "Rule: base 9.")
    assert "implements the rule you stated" in code[2]["content"]
    with pytest.raises(ValueError, match="only the verbal modes state a rule first"):
        followup_messages(setting, "io", first, "Rule: base 9.", "12+13")
    with pytest.raises(ValueError, match="no query given"):
        followup_messages(setting, "verbal_apply", first, "Rule: base 9.")
