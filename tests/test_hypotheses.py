"""Samples, best-fit selection, refinement rounds, pass@k and the comprehension check, end to end
through the real litellm client against the scripted OpenAI-compatible server."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.results import read, sampling
from lab.results.detail import candidate_table, item_detail
from lab.results.sampling import BEST_FIT, FIRST_SAMPLE, pass_at_k
from lab.run import study
from lab.run.plan import RunError, RunPlan, estimated_calls, total_items, work_units
from lab.run.records import FunctionRecord
from lab.run.store import Store
from probes import get_family
from tests.scripted import fenced, plan_responder, solver_source
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=20)
BASE9 = get_family("arithmetic").setting(base=9)
WRONG = "def solver(x):\n    return 'wrong'\n"
RAISES = "def solver(x):\n    raise ValueError('no idea')\n"


def plan_for(base_url: str, **overrides: Any) -> RunPlan:
    values: dict[str, Any] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": (BASE9.spec,),
        "modes": ("solverlearner",),
        "shots": 3,
        "n": 4,
        "instances": 1,
        "seed": 1,
        "max_tokens": 64,
        "concurrency": 2,
        "framing": "blind",  # the scripted functions take the whole input, solver(x); as plans were then
    }
    values.update(overrides)
    return RunPlan(**values)


def sample_of(body: dict[str, Any], plan: RunPlan) -> int:
    return int(body["seed"]) - plan.seed


def is_probe(body: dict[str, Any]) -> bool:
    return "Reply with OK" in body["messages"][-1]["content"]


def wrong_on(inputs: list[str]) -> str:
    """Right everywhere except on these inputs."""
    return solver_source(BASE9).replace(
        "def solver(x: str) -> str:\n",
        f"def solver(x: str) -> str:\n    if x in {inputs!r}:\n        return '0'\n",
    )


def run(store: Store, plan: RunPlan) -> str:
    run_id = study.prepare_run(store, plan)
    record = study.execute_run(store, run_id, retry=FAST_RETRY)
    assert record.status == "finished", record.reason
    return run_id


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (3, 1, 1, 1 / 3),
        (3, 1, 2, 2 / 3),
        (3, 1, 3, 1.0),
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 3, 4, 1 - 35 / 210),  # 1 - C(7,4)/C(10,4)
        (4, 0, 4, 0.0),
        (4, 4, 1, 1.0),
    ],
)
def test_pass_at_k_matches_a_hand_computation(n: int, c: int, k: int, expected: float) -> None:
    assert math.isclose(pass_at_k(n, c, k), expected)


def test_pass_at_k_refuses_impossible_counts() -> None:
    for n, c, k in ((3, 4, 1), (3, 1, 0), (3, 1, 4), (3, -1, 1)):
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_selection_keeps_the_candidate_that_fits_the_shown_examples_best(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = plan_for(server.base_url, samples=3, temperature=0.7)
        unit = next(iter(work_units(plan)))
        shown = [case.input for case in unit.examples]
        # Sample 0 fits nothing, sample 1 misses one shown example, sample 2 fits all three.
        by_sample = {0: WRONG, 1: wrong_on(shown[:1]), 2: solver_source(BASE9)}
        server.request_responder = lambda body: (
            "OK" if is_probe(body) else fenced(by_sample[sample_of(body, plan)])
        )
        store = Store(db_path)
        run_id = run(store, plan)
        assert server.chat_requests == 1 + 3
        temperatures = {r["temperature"] for r in server.requests if not is_probe(r)}
    assert temperatures == {0.7}
    functions = read.functions_frame(store, [run_id]).sort_values("sample")
    assert functions["sample"].tolist() == [0, 1, 2]
    assert functions["chosen"].tolist() == [0, 0, 1]
    assert read.summary_frame(store, [run_id])["accuracy"].tolist() == [1.0]

    measures = sampling.sampling(read.functions_frame(store, [run_id])).set_index("measure")["value"]
    # Per held-out case: sample 0 wrong, samples 1 and 2 right (sample 1 errs only on a shown example).
    assert measures[FIRST_SAMPLE] == 0.0
    assert measures[BEST_FIT] == 1.0
    assert math.isclose(measures["pass@1"], 2 / 3)
    assert measures["pass@2"] == 1.0 and measures["pass@3"] == 1.0


def test_ties_in_fit_go_to_the_earlier_sample(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = plan_for(server.base_url, samples=3, temperature=0.7)
        unit = next(iter(work_units(plan)))
        held_out = [case.input for _, case in unit.cases]
        # Samples 1 and 2 both fit every shown example; only sample 2 is also right on held-out cases.
        by_sample = {0: WRONG, 1: wrong_on(held_out), 2: solver_source(BASE9)}
        server.request_responder = lambda body: (
            "OK" if is_probe(body) else fenced(by_sample[sample_of(body, plan)])
        )
        store = Store(db_path)
        run_id = run(store, plan)
    functions = read.functions_frame(store, [run_id]).sort_values("sample")
    assert functions["chosen"].tolist() == [0, 1, 0]
    assert read.summary_frame(store, [run_id])["accuracy"].tolist() == [0.0]
    measures = sampling.sampling(read.functions_frame(store, [run_id])).set_index("measure")["value"]
    assert measures[BEST_FIT] == 0.0 and math.isclose(measures["pass@1"], 1 / 3)


def test_refinement_sends_the_failing_examples_and_stops_once_the_function_fits(db_path: Path) -> None:
    conversations: list[list[dict[str, str]]] = []

    def respond(body: dict[str, Any]) -> str:
        if is_probe(body):
            return "OK"
        messages = body["messages"]
        conversations.append(messages)
        turn = len(messages) // 2  # 1 user message, then (assistant, user) per round
        return fenced({0: WRONG, 1: RAISES}.get(turn, solver_source(BASE9)))

    with ScriptedServer(request_responder=respond) as server:
        plan = plan_for(server.base_url, rounds=5)
        unit = next(iter(work_units(plan)))
        store = Store(db_path)
        run_id = run(store, plan)
        # The first function, two corrections, then it fits: no further round although 5 were allowed.
        assert server.chat_requests == 1 + 3
    first_feedback = conversations[1][-1]["content"]
    for case in unit.examples:
        assert (
            f"Input: {case.input}\nExpected output: {case.output}\nYour function gave: wrong"
            in first_feedback
        )
    assert conversations[1][:2] == [unit.messages[0], {"role": "assistant", "content": fenced(WRONG)}]
    second_feedback = conversations[2][-1]["content"]
    assert "no output (runtime_error" in second_feedback and "no idea" in second_feedback

    assert read.summary_frame(store, [run_id])["accuracy"].tolist() == [1.0]
    by_round = sampling.rounds(read.functions_frame(store, [run_id]))
    assert by_round["round"].tolist() == [0, 1, 2]
    assert by_round["accuracy"].tolist() == [0.0, 0.0, 1.0]
    item = store.items([run_id])[0]
    detail = item_detail(store, item)
    assert len(detail.messages) == 5 and detail.messages[-1]["content"] == second_feedback
    assert [(c["sample"], c["round"]) for c in detail.candidates] == [(0, 0), (0, 1), (0, 2)]
    table = candidate_table(detail)
    assert table["held-out right"].tolist() == ["0 of 4", "0 of 4", "4 of 4"]
    assert table["shown examples right"].tolist() == ["0 of 3", "0 of 3", "3 of 3"]
    assert table["chosen"].all() and not table["lookup table"].any()


def test_refinement_stops_after_the_last_round_and_carries_fitting_units_forward(db_path: Path) -> None:
    plan_settings = (BASE9.spec, "cipher:cipher=atbash")

    def respond(body: dict[str, Any]) -> str:
        if is_probe(body):
            return "OK"
        if "lower-case letters" in body["messages"][0]["content"]:  # the cipher task, in every mode
            return fenced(solver_source(get_family("cipher").setting(cipher="atbash")))
        return fenced(WRONG)

    with ScriptedServer(request_responder=respond) as server:
        plan = plan_for(
            server.base_url, probes=plan_settings, modes=("solverlearner", "deductive_code"), rounds=2
        )
        store = Store(db_path)
        run_id = run(store, plan)
        # base 9: both modes wrong, but only solverlearner shows examples to refine on (1 + 2 calls);
        # atbash: right at once (1 call each).
        assert server.chat_requests == 1 + 3 + 1 + 1 + 1
    by_round = sampling.rounds(read.functions_frame(store, [run_id]))
    base9 = by_round[(by_round["setting"] == BASE9.label) & (by_round["mode"] == "solverlearner")]
    assert base9["round"].tolist() == [0, 1, 2] and base9["accuracy"].tolist() == [0.0, 0.0, 0.0]
    atbash = by_round[(by_round["probe"] == "cipher") & (by_round["mode"] == "solverlearner")]
    # Right at once: carried forward through the rounds other units needed, never refined.
    assert atbash["round"].tolist() == [0, 1, 2] and atbash["accuracy"].tolist() == [1.0, 1.0, 1.0]
    assert atbash["refined"].tolist() == [1, 0, 0]


def test_a_failed_sample_call_loses_nothing_on_resume(db_path: Path) -> None:
    calls_by_sample: dict[int, int] = {}
    broken = {"on": True}

    with ScriptedServer() as server:
        plan = plan_for(server.base_url, samples=2, temperature=0.7, max_failures=5)

        def respond(body: dict[str, Any]) -> str:
            if is_probe(body):
                return "OK"
            sample = sample_of(body, plan)
            calls_by_sample[sample] = calls_by_sample.get(sample, 0) + 1
            if sample == 1 and broken["on"]:
                raise RuntimeError("provider outage")
            return fenced(solver_source(BASE9))

        server.request_responder = respond
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=FAST_RETRY)
        assert record.status == "incomplete" and store.totals(run_id).items == 0
        broken["on"] = False
        record = study.execute_run(store, run_id, retry=FAST_RETRY)
    assert record.status == "finished"
    assert calls_by_sample[0] == 1  # the first sample's reply came from the cache on resume
    assert calls_by_sample[1] == FAST_RETRY.attempts + 1
    assert read.summary_frame(store, [run_id])["accuracy"].tolist() == [1.0]


def test_comprehension_check_items_score_with_each_family_s_reading(db_path: Path) -> None:
    probes = ("arithmetic:base=8", "syntax:order=sov", "cipher:cipher=atbash", "spatial:world=rotate90")
    with ScriptedServer() as server:
        plan = plan_for(server.base_url, probes=probes, modes=("deductive", "ccc"), n=6)
        replies: dict[str, str] = {}
        expected_right: dict[str, int] = {}
        for unit in work_units(plan):
            if unit.mode != "ccc":
                continue
            index, case = unit.cases[0]
            answer = case.output if index % 3 else "nonsense"
            if unit.setting.family == "arithmetic":
                # Wu et al.'s question asks for no box: the last base-8 numeral of the reply counts.
                reply = f"Counting in base 8: 5, 6, 7, 10. The next number after {case.input} is {answer}."
            else:
                reply = f"So the answer is \\boxed{{{answer}}}"
            replies[unit.messages[0]["content"]] = reply
            expected_right[unit.setting.label] = expected_right.get(unit.setting.label, 0) + (index % 3 != 0)
        server.responder = lambda m: (
            "OK" if "Reply with OK" in m[-1]["content"] else replies.get(m[0]["content"], "\\boxed{x}")
        )
        store = Store(db_path)
        run_id = run(store, plan)
    summary = read.summary_frame(store, [run_id])
    checks = summary[summary["mode"] == "ccc"]
    assert len(checks) == len(probes)
    for row in checks.itertuples():
        assert (row.n, row.correct) == (6, expected_right[row.setting]), row
    deductive = summary[summary["mode"] == "deductive"]
    assert deductive["correct"].sum() == 0
    items = read.items_frame(store, [run_id])
    arithmetic = items[(items["mode"] == "ccc") & (items["probe"] == "arithmetic")]
    assert set(arithmetic["input"]) <= {format(v, "o").upper() for v in range(64)}


def test_check_n_sizes_the_comprehension_check_apart_from_n(db_path: Path, tmp_path: Path) -> None:
    checks = tmp_path / "ccc_base8.txt"
    checks.write_text("7\n17\n")  # two lines: enough for check_n = 2, not for n = 5
    with ScriptedServer() as server:
        plan = plan_for(
            server.base_url,
            probes=("arithmetic:base=8",),
            modes=("deductive", "ccc"),
            n=5,
            check_n=2,
            check_file=str(tmp_path / "ccc_base{base}.txt"),
        )
        assert plan.checks == 2 and total_items(plan) == estimated_calls(plan) == 5 + 2
        server.responder = plan_responder(plan, lambda unit: True)
        store = Store(db_path)
        run_id = run(store, plan)
    summary = read.summary_frame(store, [run_id]).set_index("mode")
    assert (summary.loc["deductive", "n"], summary.loc["ccc", "n"]) == (5, 2)
    items = read.items_frame(store, [run_id])
    assert items.loc[items["mode"] == "ccc", "input"].tolist() == ["7", "17"]
    with pytest.raises(RunError, match=r"has 2 line\(s\); arithmetic:base=8,digits=2 needs check_n = 3"):
        study.prepare_run(store, RunPlan(**{**plan.__dict__, "check_n": 3}))
    with pytest.raises(RunError, match=r"has 2 line\(s\); arithmetic:base=8,digits=2 needs n = 5"):
        study.prepare_run(store, RunPlan(**{**plan.__dict__, "check_n": None}))
    with pytest.raises(ValueError, match="check_n must be at least 1"):
        RunPlan(**{**plan.__dict__, "check_n": 0})


def test_a_family_without_a_check_runs_no_ccc_items(db_path: Path) -> None:
    plan = plan_for("http://127.0.0.1:9/v1", probes=("listfn:function=reverse",), modes=("ccc", "deductive"))
    assert {unit.mode for unit in work_units(plan)} == {"deductive"}


def test_databases_from_before_samples_keep_their_functions(db_path: Path) -> None:
    old = sqlite3.connect(db_path)
    old.executescript(
        """
        CREATE TABLE functions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, model TEXT NOT NULL,
            probe TEXT NOT NULL, setting TEXT NOT NULL, mode TEXT NOT NULL, instance INTEGER NOT NULL,
            call_id INTEGER, code TEXT, verdict TEXT, detail TEXT, examples TEXT NOT NULL,
            fits_examples INTEGER, memorised INTEGER NOT NULL, held_out_failed TEXT NOT NULL,
            UNIQUE (run_id, model, probe, setting, mode, instance)
        );
        INSERT INTO functions VALUES (7, 'r', 'm', 'arithmetic', 'base=8', 'solverlearner', 0, 1,
            'def solver(x): ...', 'ok', NULL, '[]', 1, 0, '[2]');
        """
    )
    old.close()
    store = Store(db_path)
    function = store.function(7)
    assert function is not None
    assert (function["sample"], function["round"], function["chosen"]) == (0, 0, 1)
    assert function["held_out_failed"] == [2]
    kept = {name: function[name] for name in ("run_id", "model", "probe", "setting", "mode", "instance")}
    second = FunctionRecord(
        **kept,
        call_id=None,
        code="def solver(x): ...",
        verdict="ok",
        detail=None,
        examples=(),
        fits_examples=True,
        memorised=False,
        held_out_failed=(),
        sample=1,
        chosen=False,
    )
    store.save_items([], [second])
    assert [f["sample"] for f in store.unit_functions(7)] == [0, 1]


def test_plans_at_the_old_defaults_keep_their_identity() -> None:
    plan = plan_for("http://127.0.0.1:9/v1")
    stored_before = {k: v for k, v in plan.to_dict().items() if k not in ("samples", "rounds", "check_n")}
    assert RunPlan.from_dict(stored_before).identity_hash() == plan.identity_hash()
    assert plan_for("http://127.0.0.1:9/v1", check_n=4).identity_hash() != plan.identity_hash()
    # Hashes the previous version (b009820) gave these plans: a run stored by it resumes under its plan.
    old = plan_for(
        "http://127.0.0.1:9/v1",
        probes=("arithmetic:base=9", "cipher:cipher=atbash"),
        modes=("deductive", "ccc", "solverlearner"),
        n=4,
        instances=2,
        concurrency=4,
    )
    assert old.identity_hash() == "b561a614ae2f8e54"
    sampled = RunPlan(
        models=(ModelSpec("openai/scripted", "http://127.0.0.1:9/v1"),),
        probes=("arithmetic:base=9",),
        modes=("deductive", "ccc"),
        samples=2,
        rounds=1,
        check_file="x{base}.txt",
    )
    assert sampled.identity_hash() == "cf9bb9cad69975f4"
    assert plan_for("http://127.0.0.1:9/v1", samples=2).identity_hash() != plan.identity_hash()
    assert plan_for("http://127.0.0.1:9/v1", rounds=1).identity_hash() != plan.identity_hash()
