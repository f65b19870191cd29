"""Sweeps end to end: a scripted OpenAI-compatible server answers; items, consistency, figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lab.models import ModelSpec, RetryPolicy
from lab.results.stats import summary as summarise
from lab.results.sweep_charts import noise_curve, shot_curve
from lab.results.sweeps import consistency, identifiability, swept_rows
from lab.run import study
from lab.run.plan import RunPlan, WorkUnit, work_units
from lab.run.store import Store
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)


def sweep_plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": ("listfn:function=length",),
        "modes": ("io", "deductive"),
        "shots": (2, 4),
        "noise": (0.0, 0.5),
        "n": 5,
        "instances": 4,
        "seed": 6,
        "max_tokens": 64,
        "concurrency": 4,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def responder(plan: RunPlan, answer: Callable[[WorkUnit], str]) -> Callable[[list[dict[str, str]]], str]:
    replies = {json.dumps(u.messages, sort_keys=True): f"\\boxed{{{answer(u)}}}" for u in work_units(plan)}

    def respond(messages: list[dict[str, str]]) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        return replies.get(json.dumps(messages, sort_keys=True), "not scripted")

    return respond


def run_items(db_path: Path, answer: Callable[[WorkUnit], str]) -> tuple[RunPlan, pd.DataFrame]:
    with ScriptedServer() as server:
        plan = sweep_plan(server.base_url)
        server.responder = responder(plan, answer)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        study.execute_run(store, run_id, retry=FAST_RETRY)
        items = pd.DataFrame(store.items([run_id]))
    return plan, items.assign(correct=items["correct"].astype(bool))


def test_a_model_that_ignores_the_examples_is_fully_consistent(db_path: Path) -> None:
    # Right on the even held-out cases whatever the examples say.
    _, items = run_items(db_path, lambda u: u.cases[0][1].output if u.cases[0][0] % 2 == 0 else "[99]")
    assert len(items) == 2 * 2 * 4 * 5 + 5  # io at every point, deductive once
    table = consistency(items)
    assert list(table["noise"]) == [0.5, 0.5] and list(table["shots"]) == [2, 4]
    assert list(table["n"]) == [20, 20] and list(table["consistency"]) == [1.0, 1.0]
    assert (table["ci_low"] < 1.0).all() and (table["ci_high"] == 1.0).all()
    summary = swept_rows(summarise(items))
    io = summary[summary["mode"] == "io"]
    assert list(zip(io["shots"], io["noise"], io["accuracy"], strict=True)) == [
        (2, 0.0, 0.6),
        (2, 0.5, 0.6),
        (4, 0.0, 0.6),
        (4, 0.5, 0.6),
    ]
    deductive = summary[summary["mode"] == "deductive"]
    assert len(deductive) == 1 and deductive["shots"].isna().all() and deductive["accuracy"].iloc[0] == 0.6
    assert len(shot_curve(summary).data) == 2  # the io curve and the deductive level
    assert list(shot_curve(summary).data[0].x) == [2, 4]
    assert list(noise_curve(summary).data[0].x) == [0.0, 0.5]


def test_a_model_that_copies_the_last_example_has_the_consistency_counted_by_hand(db_path: Path) -> None:
    plan, items = run_items(db_path, lambda u: u.examples[-1].output if u.examples else "[99]")
    # By hand: a copied output is right when the last shown list is as long as the held-out one. At
    # noise 0.5 half the examples get another list function's output, so a copy from a corrupted
    # last example is wrong; its verdict differs from noise 0's where that copy had been right.
    units = [u for u in work_units(plan) if u.mode == "io"]
    last = {(u.shots, u.noise, u.instance % plan.instances): u.examples[-1].output for u in units}
    held_out = [case for _, case in sorted({u.cases[0] for u in units})]
    for shots in (2, 4):
        same = sum(
            (last[shots, 0.0, i] == case.output) == (last[shots, 0.5, i] == case.output)
            for i in range(plan.instances)
            for case in held_out
        )
        row = consistency(items).set_index("shots").loc[shots]
        assert row["consistent"] == same and row["consistency"] == same / 20
    # The held-out lengths are 4, 9, 4, 10, 5 (seed 6). With 2 shots the clean last examples of
    # instances 0..3 are [5], [4], [8], [4]: right on 1, 2, 0 and 2 cases. At noise 0.5 the last
    # example of instances 1 and 3 is corrupted, so 2 + 2 verdicts flip: 16 of 20 stay (0.8). With 4
    # shots the clean last examples are [5], [3], [2], [1] (right on 1, 0, 0, 0); every instance's
    # last example is corrupted at noise 0.5, which flips only instance 0's one right case: 19 of 20.
    table = consistency(items)
    assert list(table["consistent"]) == [16, 19]
    assert list(table["consistency"]) == [0.8, 0.95]
    summary = summarise(items).set_index(["mode", "shots", "noise"])
    assert summary.loc[("io", 2, 0.0), "correct"] == 5 and summary.loc[("io", 2, 0.5), "correct"] == 1
    split = identifiability(items)
    assert split["n"].sum() == 2 * 2 * 4 * 5 and set(split["examples"]) <= {
        "identifiable",
        "ambiguous",
        "no world fits",
    }
