"""The strings probe: its operations against an independent implementation, its generator, the
identifiability check, the depth knob, and an end-to-end run with solvers in the sandbox."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import SandboxPool, run_solver
from lab.models import ModelSpec, RetryPolicy
from lab.results import read
from lab.run import study
from lab.run.plan import RunPlan, work_units
from lab.run.store import Store
from lab.tasks.modes import MODE_ORDER, MODES
from lab.tasks.prompts import RULE_REQUEST, build_messages, followup_messages
from probes import Case, ProbeError, get_family, parse_spec, strings
from probes.strings import (
    Affix,
    ChangeCase,
    Cut,
    Field,
    Initials,
    Join,
    Operation,
    Program,
    Replace,
    Slice,
)
from tests.scripted import strings_solver_source
from tests.scripted_server import ScriptedServer

FAMILY = strings.FAMILY
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)


# -- an independent implementation: each step as the Python line(s) a model would write (tests/scripted.py)


def compiled(steps: Sequence[Operation]) -> Callable[[str], str]:
    namespace: dict = {}
    exec(strings_solver_source(steps), namespace)  # test code written above, not a model's
    return namespace["solver"]


def outcome(run: Callable[[str], str], text: str) -> str | None:
    try:
        return run(text)
    except ValueError:
        return None


def setting_of(depth: int, program: int):
    return FAMILY.setting(depth=depth, program=program)


KIND_INPUTS = st.sampled_from(strings.KINDS).flatmap(
    lambda kind: st.randoms(use_true_random=False).map(strings.INPUTS[kind])
)
TEXTS = st.one_of(st.text(alphabet="abeoAZ -.@/_09", max_size=14), KIND_INPUTS)
STEPS = st.lists(st.sampled_from(strings.OPERATIONS), min_size=1, max_size=4)


@settings(max_examples=400, deadline=None)
@given(STEPS, TEXTS)
def test_programs_agree_with_an_independent_implementation(steps: list[Operation], text: str) -> None:
    program = Program("name", tuple(steps))
    expected = outcome(compiled(steps), text)
    assert strings.run_steps(steps, text) == expected
    if expected is None:
        with pytest.raises(strings.UndefinedError, match=r"step \d \(.+\) cannot apply"):
            program.run(text)
    else:
        assert program.run(text) == expected


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_operations_keep_their_algebra(text: str) -> None:
    upper, lower = ChangeCase("upper"), ChangeCase("lower")
    assert upper.apply(lower.apply(text)) == upper.apply(text)
    assert Affix("ID-", True).apply(text).startswith("ID-") and Affix("!", False).apply(text).endswith("!")
    assert Replace("-", "/").apply(text).count("-") == 0
    if "-" in text:
        assert Field("-", 0).apply(text) == text.partition("-")[0]
        assert Field("-", -1).apply(text) == text.rpartition("-")[2]
        assert Cut("-", True).apply(text) == text.partition("-")[2]
        assert Join("-", (0, -1), "-").apply(text) == f"{text.partition('-')[0]}-{text.rpartition('-')[2]}"
    else:
        for step in (Field("-", 0), Cut("-", False), Join("-", (1, 0), " "), Initials("-", "")):
            with pytest.raises(strings.UndefinedError, match='has no "-"'):
                step.apply(text)


def test_the_operation_space_is_distinct_and_described() -> None:
    assert len(set(strings.OPERATIONS)) == len(strings.OPERATIONS) >= 100
    descriptions = [step.describe() for step in strings.OPERATIONS]
    assert len(set(descriptions)) == len(descriptions)
    assert "keep the first character" in descriptions and "drop the first 3 characters" in descriptions
    assert 'replace every "." with a space' in descriptions
    assert "split the text at each space and keep the last part" in descriptions


# -- the generator ------------------------------------------------------------------------------


@settings(max_examples=16, deadline=None)
@given(st.sampled_from(strings.DEPTHS), st.integers(0, 999))
def test_drawn_programs_have_their_depth_and_no_idle_step(depth: int, index: int) -> None:
    program = strings.draw_program(depth, index)
    assert len(program.steps) == depth and len(set(program.steps)) == depth
    assert all(type(a) is not type(b) for a, b in zip(program.steps, program.steps[1:], strict=False))
    setting = setting_of(depth, index)
    cases = FAMILY.cases(setting, 30, seed=index)
    outputs = [case.output for case in cases]
    assert len(set(outputs)) >= 6
    for number in range(depth):
        before = [strings.run_steps(program.steps[:number], case.input) for case in cases]
        after = [strings.run_steps(program.steps[: number + 1], case.input) for case in cases]
        assert before != after, f"step {number + 1} changes nothing"
        shorter = program.steps[:number] + program.steps[number + 1 :]
        assert [strings.run_steps(shorter, case.input) for case in cases] != outputs
    for case in cases:
        assert case.output == compiled(program.steps)(case.input) == case.output.strip() != ""


def test_drawing_is_a_pure_function_of_depth_and_seed() -> None:
    first = [strings.draw_program(depth, 3) for depth in strings.DEPTHS]
    strings.draw_program.cache_clear()
    random.seed(5)
    state = random.getstate()
    assert [strings.draw_program(depth, 3) for depth in strings.DEPTHS] == first
    assert random.getstate() == state
    assert len({strings.draw_program(2, index) for index in range(10)}) == 10
    with pytest.raises(ProbeError, match=r"valid: depth 1\.\.4, program 0\.\.999"):
        strings.draw_program(5, 0)


def test_inputs_exercise_every_kind_and_shape() -> None:
    rng = random.Random(1)
    names = [strings.draw_name(rng) for _ in range(200)]
    assert {len(name.split(" ")) for name in names} == {2, 3}
    assert (
        any(n.isupper() for n in names)
        and any(n.islower() for n in names)
        and any(n.istitle() for n in names)
    )
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", strings.draw_date(rng)) for _ in range(50))
    codes = [strings.draw_code(rng) for _ in range(200)]
    assert {len(code.split("-")) for code in codes} == {2, 3, 4}
    assert all(code.split("-")[0].isupper() for code in codes)
    emails = [strings.draw_email(rng) for _ in range(200)]
    assert all(re.fullmatch(r"[a-z]+(\.[a-z]+)*@[a-z]+(\.[a-z]+)+", email) for email in emails)
    assert {email.split("@")[0].count(".") for email in emails} == {0, 1, 2}
    kinds = {strings.draw_program(depth, index).kind for depth in (1, 2) for index in range(20)}
    assert kinds == set(strings.KINDS)


# -- identifiability ------------------------------------------------------------------------------


def test_identify_finds_a_program_the_examples_cannot_tell_apart() -> None:
    second_word = Program("name", (Field(" ", 1),))
    two_words, three_words = ["Ada Smith", "Tom Reed", "Ida Hall"], ["Ada Rosa Smith", "Tom Ivan Reed"]
    found = strings.identify(second_word, two_words, three_words)
    assert found.confusion is not None and found.shorter is None
    alternative = found.confusion.steps
    assert [strings.run_steps(alternative, text) for text in two_words] == ["Smith", "Reed", "Hall"]
    assert (
        strings.run_steps(alternative, found.confusion.input)
        == found.confusion.got
        != found.confusion.expected
    )
    assert strings.identify(second_word, three_words, two_words).identifiable

    no_a_shown = strings.identify(Program("email", (Replace("a", "4"),)), ["tom@reed.io"], ["ada@hall.com"])
    assert no_a_shown.confusion is not None and no_a_shown.confusion.steps == ()


def test_identify_finds_a_shorter_equivalent() -> None:
    dates = ["2024-03-15", "1999-12-01", "1961-07-28"]
    roundabout = Program("date", (Field("-", 0), Affix("#", True), Slice("drop", 1)))
    assert strings.identify(roundabout, dates[:2], dates[2:]).shorter == (Field("-", 0),)
    undoes_itself = Program("date", (Affix("#", True), Slice("drop", 1)))
    assert strings.identify(undoes_itself, dates[:2], dates[2:]).shorter == ()


@pytest.mark.parametrize("depth", strings.DEPTHS)
def test_programs_are_identifiable_from_the_examples_a_run_shows(depth: int) -> None:
    # A run shows `shots` examples drawn after its n held-out cases; 8 shots is the default.
    for index in range(6):
        setting = setting_of(depth, index)
        cases = FAMILY.cases(setting, 20 + 8, seed=index)
        held_out, shown = [c.input for c in cases[:20]], [c.input for c in cases[20:]]
        found = strings.identify(strings.program_of(setting), shown, held_out, budget=5_000)
        assert found.identifiable, (setting.spec, found)


# -- the depth knob -------------------------------------------------------------------------------


def recite(examples: Sequence[Case]) -> Operation:
    """A reciting model: the one familiar (single) step that fits the most examples."""
    return max(
        strings.OPERATIONS,
        key=lambda step: sum(strings.run_steps((step,), c.input) == c.output for c in examples),
    )


def test_a_reciting_model_falls_with_depth() -> None:
    # Success per held-out case, over 12 programs a depth, 200 cases each, 8 shown examples.
    rates = []
    for depth in strings.DEPTHS:
        right = 0
        for index in range(12):
            cases = FAMILY.cases(setting_of(depth, index), 200 + 8, seed=0)
            step = recite(cases[200:])
            right += sum(strings.run_steps((step,), case.input) == case.output for case in cases[:200])
        rates.append(right / (12 * 200))
    assert rates[0] == 1.0 > rates[1] > rates[2] >= rates[3], rates


# -- the family in the app ------------------------------------------------------------------------


def test_settings_labels_and_errors() -> None:
    assert get_family("strings") is FAMILY
    labels = [setting.label for setting in parse_spec("strings")]
    assert labels == ["depth=1,program=0", "depth=2,program=0", "depth=3,program=0", "depth=4,program=0"]
    [familiar] = parse_spec("strings:depth=1,program=7")
    [deeper] = parse_spec("strings:depth=2")
    assert familiar.default_world and not deeper.default_world and deeper.label == "depth=2,program=0"
    with pytest.raises(ProbeError, match="'depth' has no value '5'; valid: 1, 2, 3, 4"):
        parse_spec("strings:depth=5")
    with pytest.raises(ProbeError, match=r"valid: 0\.\.999"):
        parse_spec("strings:program=1000")


def test_solve_refuses_inputs_outside_the_programs_domain() -> None:
    setting = setting_of(2, 0)
    takes = re.escape(strings.KIND_DESCRIPTION[strings.program_of(setting).kind])
    with pytest.raises(
        ValueError, match=rf"strings:depth=2,program=0 takes {takes}; on 'x' step 1 .* cannot apply"
    ):
        FAMILY.solve(setting, "x")
    assert not FAMILY.accept(setting, "x")


def test_rule_states_the_program_and_the_task_names_none() -> None:
    for depth in strings.DEPTHS:
        setting = setting_of(depth, 1)
        program = strings.program_of(setting)
        rule = FAMILY.rule(setting)
        assert rule.startswith(f"Each input is {strings.KIND_DESCRIPTION[program.kind]}.")
        for number, step in enumerate(program.steps, 1):
            assert f"{number}) {step.describe()}" in rule
    task = set(re.findall(r"[a-z]+", FAMILY.task.lower()))
    assert not task & {"split", "upper", "lower", "replace", "prefix", "suffix", "field", "initials", "keep"}


@pytest.mark.parametrize("mode", sorted(m for m in MODES if not MODES[m].checks_comprehension))
def test_prompts_for_every_mode(mode: str) -> None:
    spec = MODES[mode]
    setting = setting_of(3, 0)
    examples = FAMILY.cases(setting, 4, seed=1)
    query = FAMILY.cases(setting, 5, seed=2)[-1].input
    [message] = build_messages(setting, mode, examples if spec.shows_examples else (), query)
    text = message["content"]
    assert text.startswith(FAMILY.task)
    if spec.verbal:  # the rule is asked for in words first; the solver in the second turn
        assert text.endswith(RULE_REQUEST) and "def solver" not in text
        second = followup_messages(setting, mode, [message], "Rule: ...", query)
        text = "\n\n".join(turn["content"] for turn in second)
    assert (FAMILY.rule(setting) in text) == spec.states_rule
    assert any(step.describe() in text for step in strings.program_of(setting).steps) == spec.states_rule
    assert ("def solver(x: str) -> str" in text) == spec.returns_code


KNOWN = {
    "strings:depth=1,program=0": [
        ("2009-08-24", "2009, 24"),
        ("1961-08-06", "1961, 06"),
        ("2030-06-24", "2030, 24"),
    ],
    "strings:depth=3,program=0": [
        ("noah.hill@people.judge.com", "n0ah hill@pe0ple judge c0m.txt"),
        ("hugo.white@plant.io", "hug0 white@plant i0.txt"),
        ("ivan@early.stop.com", "ivan@early st0p c0m.txt"),
    ],
}


@pytest.mark.parametrize("spec", sorted(KNOWN))
def test_known_cases(spec: str) -> None:
    # Stable on every machine; they change only when the generator or its data files change.
    [setting] = parse_spec(spec)
    assert FAMILY.cases(setting, 3, 42) == [Case(i, o) for i, o in KNOWN[spec]]


def test_scripted_solvers_agree_with_the_family_in_the_sandbox() -> None:
    for depth in strings.DEPTHS:
        for index in range(3):
            setting = setting_of(depth, index)
            cases = FAMILY.cases(setting, 12, seed=3)
            report = run_solver(
                strings_solver_source(strings.program_of(setting).steps), [c.input for c in cases]
            )
            assert report.verdict is None, (setting.spec, report.detail)
            assert [result.output for result in report.results] == [c.output for c in cases]


# The verbal modes' two turns are scripted in tests/test_verbal_modes.py.
ONE_TURN_MODES = tuple(name for name in MODE_ORDER if not MODES[name].verbal and not MODES[name].interactive)


def test_every_mode_runs_end_to_end_with_solvers_in_the_sandbox(db_path: Path) -> None:
    """Right on instance 0 in code modes and on even held-out cases in direct modes."""

    def right(unit) -> bool:
        return unit.instance == 0 if MODES[unit.mode].returns_code else unit.cases[0][0] % 2 == 0

    with ScriptedServer() as server:
        plan = RunPlan(
            models=(ModelSpec("openai/scripted", api_base=server.base_url),),
            probes=("strings:depth=1,program=0", "strings:depth=3,program=2"),
            modes=ONE_TURN_MODES,
            shots=4,
            n=4,
            instances=2,
            seed=1,
            max_tokens=64,
        )
        replies = {}
        for unit in work_units(plan):
            if MODES[unit.mode].returns_code:
                steps = strings.program_of(unit.setting).steps if right(unit) else (Affix("?", False),)
                reply = f"Here it is.\n```python\n{strings_solver_source(steps)}```\n"
            else:
                reply = f"\\boxed{{{unit.cases[0][1].output if right(unit) else 'wrong'}}}"
            replies[json.dumps(unit.messages)] = reply
        server.responder = lambda messages: (
            "OK" if "Reply with OK" in messages[-1]["content"] else replies[json.dumps(messages)]
        )
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        with SandboxPool(size=1) as pool:
            record = study.execute_run(store, run_id, retry=FAST_RETRY, sandbox=pool)
    assert record.status == "finished", record.reason
    summary = read.summary_frame(store, [record.id])
    assert set(summary["mode"]) == set(ONE_TURN_MODES) - {"ccc"}  # strings has no comprehension check
    assert len(summary) == 2 * (len(ONE_TURN_MODES) - 1)
    for row in summary.itertuples():
        expected = {"solverlearner": (8, 4), "deductive_code": (4, 4), "io": (8, 4), "io_rule": (8, 4)}
        assert (row.n, row.correct) == expected.get(row.mode, (4, 2)), row
    items = read.items_frame(store, [record.id])
    wrong = items[(items["mode"] == "solverlearner") & (items["instance"] == 1)]
    assert len(wrong) == 8 and all(predicted.endswith("?") for predicted in wrong["predicted"])
