"""Modes declare what they need and own their mechanics; framings word the few-shot prompts."""

from __future__ import annotations

import dataclasses

import pytest

from executor import run_solver
from lab.tasks import modes
from lab.tasks.modes import (
    GAP_PAIRS,
    MODE_ORDER,
    MODES,
    Draws,
    Framing,
    Mode,
    ModeError,
    Reply,
    Role,
    parse_framing,
    parse_modes,
)
from lab.tasks.prompts import Mismatch, build_messages, refinement_messages, solver_signature, solver_source
from probes import REGISTRY, Case, ProbeFamily, generic_paper_framing, get_family

ARITHMETIC = get_family("arithmetic")
BASE8 = ARITHMETIC.setting(base=8)
EXAMPLES = [Case("57+27", "106"), Case("21+14", "35")]

# Cheng et al. 2024, Fig. 1, for base 8.
WITHHELD = "Q: You are asked to add two numbers, the base of which is unknown, what is {}?"
STATED = 'Q: Assuming that all numbers are in base-8 where the digits are "01234567", what is {}?'
ANSWER = "A: The result for {} is {}."


def demonstrations(question: str) -> str:
    return "\n\n".join(f"{question.format(c.input)}\n{ANSWER.format(c.input, c.output)}" for c in EXAMPLES)


# --- framings ------------------------------------------------------------------------------------


def test_paper_framing_of_arithmetic_io_is_the_published_figure() -> None:
    [message] = build_messages(BASE8, "io", EXAMPLES, "36+33", framing="paper")
    assert message == {
        "role": "user",
        "content": f"{demonstrations(WITHHELD)}\n\nQ: You are asked to add two numbers, the base of which "
        "is unknown, what is 36+33?\nA:",
    }
    assert message["content"].startswith(
        "Q: You are asked to add two numbers, the base of which is unknown, what is 57+27?\n"
        "A: The result for 57+27 is 106.\n\n"
    )


def test_paper_framing_of_arithmetic_io_rule_states_the_base_as_wu_et_al_do() -> None:
    [message] = build_messages(BASE8, "io_rule", EXAMPLES, "36+33", framing=Framing.PAPER)
    assert message["content"] == f"{demonstrations(STATED)}\n\n{STATED.format('36+33')}\nA:"


def test_paper_framing_of_solverlearner_asks_for_a_two_argument_solver() -> None:
    [message] = build_messages(BASE8, "solverlearner", EXAMPLES, framing="paper")
    content = message["content"]
    assert content.startswith(demonstrations(WITHHELD) + "\n\n")
    assert "\n\nQ: What is the function to map the input to the output? " in content
    assert "`def solver(n1: str, n2: str) -> str`" in content and content.endswith("\nA:")
    assert solver_signature(BASE8, "solverlearner", "paper") == "def solver(n1: str, n2: str) -> str"
    assert solver_signature(BASE8, "solverlearner", "blind") == "def solver(x: str) -> str"


def test_blind_framing_is_the_hidden_rule_wording_and_the_default() -> None:
    blind = build_messages(BASE8, "io", EXAMPLES, "36+33")
    assert blind == build_messages(BASE8, "io", EXAMPLES, "36+33", framing="blind")
    content = blind[0]["content"]
    assert content.startswith(ARITHMETIC.task) and "the result of a hidden rule" in content
    assert "Input: 57+27\nOutput: 106" in content and "base" not in content
    code = build_messages(BASE8, "solverlearner", EXAMPLES, framing="blind")[0]["content"]
    assert "`def solver(x: str) -> str`" in code


@pytest.mark.parametrize("mode", ["deductive", "deductive_code", "ccc"])
def test_modes_without_examples_have_one_wording(mode: str) -> None:
    query = None if MODES[mode].returns_code else "7"
    paper = build_messages(BASE8, mode, [], query, framing="paper")
    assert paper == build_messages(BASE8, mode, [], query, framing="blind")


def test_every_built_in_family_declares_its_paper_framing() -> None:
    for family in REGISTRY.values():
        if family.name not in {"arithmetic", "syntax", "cipher", "spatial", "listfn"}:
            continue
        assert family.paper is not None, family.name
        setting = family.default_setting()
        examples = family.cases(setting, 3, seed=1)
        content = build_messages(setting, "io", examples[:2], examples[2].input, framing="paper")[0][
            "content"
        ]
        paper = family.paper
        assert paper.question(setting, examples[2].input) in content
        assert paper.answer(setting, examples[0].input, examples[0].output) in content
        assert examples[2].output not in content and family.task not in content


def test_a_family_without_a_paper_framing_gets_one_from_its_description() -> None:
    custom = dataclasses.replace(REGISTRY["cipher"], name="custom_words", paper=None)
    framing = custom.paper_framing()
    assert framing.arguments == ("x",)
    setting = custom.default_setting()
    assert framing.question(setting, "abc") == f"{custom.task} What is the output for abc?"
    assert generic_paper_framing(custom).answer(setting, "abc", "xyz") == "The output for abc is xyz."


def test_unknown_framing_names_the_valid_ones() -> None:
    with pytest.raises(ModeError, match="no framing 'cheng'; valid: paper, blind"):
        parse_framing("cheng")
    assert parse_framing(" Paper ") is Framing.PAPER


# --- the paper's solver runs in the sandbox with one input string ------------------------------

PAPER_SOLVER = """def solver(n1: str, n2: str) -> str:
    digits = "01234567"
    total = int(n1, 8) + int(n2, 8)
    out = ""
    while total:
        out = digits[total % 8] + out
        total = total // 8
    return out or "0"
"""


def test_a_two_argument_solver_is_wrapped_for_the_sandbox() -> None:
    source = solver_source(BASE8, "solverlearner", PAPER_SOLVER, "paper")
    report = run_solver(source, ["57+27", "7 + 1", "0+0"])
    assert report.verdict is None, report.detail
    assert [r.output for r in report.results] == ["106", "10", "0"]
    # Unwrapped, the sandbox's one-string call fails: the wrapper is what makes it run.
    unwrapped = run_solver(solver_source(BASE8, "solverlearner", PAPER_SOLVER, "blind"), ["57+27"])
    assert unwrapped.results[0].output is None
    # One-argument solvers and modes without examples are run as written.
    assert solver_source(BASE8, "deductive_code", PAPER_SOLVER, "paper") == PAPER_SOLVER
    cipher = get_family("cipher")
    assert solver_source(cipher.default_setting(), "solverlearner", "code", "paper") == "code"


def test_a_paper_framing_with_several_arguments_must_say_how_to_split_the_input() -> None:
    with pytest.raises(ValueError, match="needs split_source defining split_input"):
        dataclasses.replace(ARITHMETIC.paper, split_source="")


# --- scoring goes through the mode ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "predicted", "correct"),
    [
        ("The result for 36+33 is 71.", "71", True),
        ("A: The result for 36+33 is 70.", "70", False),
        ("Counting in base 8...\nThe result for 36+33 is 71", "71", True),
        ("It is \\boxed{71}", "71", True),  # the usual reading when the line is missing
        ("I do not know\nthis base.", None, False),
    ],
)
def test_paper_replies_are_read_with_the_answer_line(
    reply: str, predicted: str | None, correct: bool
) -> None:
    case = Case("36+33", "71")
    score = MODES["io"].score(Reply(ARITHMETIC, BASE8, case, reply, Framing.PAPER))
    assert (score.predicted, score.correct) == (predicted, correct)
    assert score.error == (None if predicted else "unparsed")


def test_the_check_is_read_and_judged_by_the_check_s_own_hooks() -> None:
    case = Case("17", "20")
    reply = "15, 16, 17, 20. So the next number is 20"
    assert MODES["ccc"].score(Reply(ARITHMETIC, BASE8, case, reply)).correct
    assert not MODES["deductive"].score(Reply(ARITHMETIC, BASE8, case, reply)).correct


# --- modes declare by keyword -------------------------------------------------------------------


def test_modes_are_declared_with_keywords_only() -> None:
    with pytest.raises(TypeError):
        Mode("deductive", "rule stated", True)  # type: ignore[misc]
    assert MODE_ORDER == (
        "deductive",
        "io_rule",
        "io",
        "solverlearner",
        "deductive_code",
        "ccc",
        "verbal_apply",
        "verbal_code",
        "oracle",
    )
    assert GAP_PAIRS == (("solverlearner", "deductive"), ("io", "io_rule"))
    assert parse_modes("io, ccc,io") == ["io", "ccc"]


def test_what_each_mode_declares() -> None:
    roles = {name: mode.role for name, mode in MODES.items()}
    assert roles == {
        "deductive": Role.DEDUCTIVE,
        "io_rule": Role.DEDUCTIVE,
        "io": Role.INDUCTIVE,
        "solverlearner": Role.INDUCTIVE,
        "deductive_code": Role.DEDUCTIVE,
        "ccc": Role.CHECK,
        "verbal_apply": Role.INDUCTIVE,
        "verbal_code": Role.INDUCTIVE,
        "oracle": Role.INDUCTIVE,
    }
    assert [name for name, mode in MODES.items() if mode.verbal] == ["verbal_apply", "verbal_code"]
    assert [name for name, mode in MODES.items() if mode.draws is Draws.CHECKS] == ["ccc"]
    assert MODES["ccc"].checks_comprehension and not MODES["deductive"].checks_comprehension
    assert MODES["io"].instances(3) == 3 and MODES["deductive"].instances(3) == 1
    listfn = get_family("listfn")
    assert listfn.comprehension is None
    assert not MODES["ccc"].supports(listfn) and MODES["ccc"].supports(ARITHMETIC)
    assert all(MODES[name].supports(listfn) for name in MODE_ORDER if name not in ("ccc", "oracle"))
    assert not MODES["oracle"].supports(listfn) and MODES["oracle"].supports(ARITHMETIC)
    with pytest.raises(ModeError, match="no comprehension check"):
        build_messages(listfn.default_setting(), "ccc", [], "[1, 2]")


def test_a_new_mode_reusing_existing_mechanics_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. the check asked with the paper's examples shown first: flags and hooks, nothing else.
    shown_check = Mode(
        name="ccc_shown",
        description="comprehension check after k examples",
        states_rule=True,
        shows_examples=True,
        draws=Draws.CHECKS,
        question=modes.check_question,
        read=modes.read_check,
        judge=modes.judge_check,
        supports=modes.has_check,
    )
    monkeypatch.setitem(MODES, "ccc_shown", shown_check)
    assert parse_modes("ccc_shown") == ["ccc_shown"]
    content = build_messages(BASE8, "ccc_shown", EXAMPLES, "17")[0]["content"]
    assert content == ARITHMETIC.comprehension.question(BASE8, "17", False)
    assert shown_check.score(Reply(ARITHMETIC, BASE8, Case("17", "20"), "... 20")).correct


def test_families_own_their_deductive_wording() -> None:
    # The arithmetic prompt is a family hook, not a special case in the prompts.
    assert isinstance(ARITHMETIC, ProbeFamily) and ARITHMETIC.deductive_question is not None
    expected = (
        'You are a mathematician. Assuming that all numbers are in base-8 where the digits are "01234567", '
        'what is 76+76? End the response with the result in "\\boxed{result}".'
    )
    assert build_messages(BASE8, "deductive", [], "76+76")[0]["content"] == expected
    cipher = get_family("cipher")
    assert cipher.deductive_question is None
    content = build_messages(cipher.default_setting(), "deductive", [], "uryyb")[0]["content"]
    assert content.startswith(cipher.task) and "The rule: " in content


def test_refinement_asks_again_for_the_signature_it_asked_for() -> None:
    messages = build_messages(BASE8, "solverlearner", EXAMPLES, framing="paper")
    signature = solver_signature(BASE8, "solverlearner", "paper")
    follow = refinement_messages(
        BASE8, messages, "```python\n...```", [Mismatch("57+27", "106", "84")], signature
    )
    assert f"Write a corrected `{signature}`" in follow[-1]["content"]
    assert "Your function gave: 84" in follow[-1]["content"]
