"""Answer and code extraction: strict, exact, and labelled when nothing can be read."""

from __future__ import annotations

import pytest

from lab.tasks.scoring import (
    NO_CODE,
    UNPARSED,
    extract_answer,
    extract_code,
    last_boxed,
    looks_memorised,
    score_direct,
)
from probes import Case, get_family

ARITHMETIC = get_family("arithmetic")
SYNTAX = get_family("syntax")


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("so \\boxed{152}", "152"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\text{1A}}", "1A"),
        ("$\\boxed{77_8}$", "77"),
        ("\\boxed{165_{8}}", "165"),
        ("\\boxed{1C9_{16}}", "1C9"),
        ("\\boxed{1C9_{(16)}}", "1C9"),
        ("\\boxed{{12}}", "{12}"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("Step one.\nAnswer: 143", "143"),
        ("The answer is 143", "143"),
        ("143", "143"),
        ("**Final answer:** bob calls emily.", "bob calls emily."),
        # The instruction's `\boxed{result}` copied literally, the answer after it or inside it.
        ("**Step 2:** \\boxed{result} = 90", "90"),
        ("Therefore:\n\n**\\boxed{result} 64**", "64"),
        ("= 7*9 + 82\n\n\\boxed{result} = 7*9 + 82 = 145", "145"),
        ("\\boxed{result: 1B4}", "1B4"),
    ],
)
def test_answers_are_extracted(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "I cannot do this.\nSorry, the digits are invalid here.",
        "\\boxed{12",
        "It is 12.\n\\boxed{result}",
        "\\boxed{result} = 12\nor maybe 13",
    ],
)
def test_unreadable_replies_are_unparsed(reply: str) -> None:
    score = score_direct(ARITHMETIC, reply, "12")
    assert (score.predicted, score.correct, score.error) == (None, False, UNPARSED)


def test_nested_braces_balance() -> None:
    assert last_boxed("x \\boxed{a{b{c}}d} y") == "a{b{c}}d"


def test_scoring_is_exact_after_family_normalisation() -> None:
    assert score_direct(ARITHMETIC, "\\boxed{1c9}", "1C9").correct
    assert not score_direct(ARITHMETIC, "\\boxed{01C9}", "1C9").correct
    assert not score_direct(ARITHMETIC, "\\boxed{1C9 }", "1CA").correct
    assert score_direct(SYNTAX, "\\boxed{Bob  calls Emily.}", "bob calls emily.").correct
    assert not score_direct(SYNTAX, "\\boxed{bob called emily.}", "bob calls emily.").correct


def test_the_last_fenced_block_defining_solver_is_the_code() -> None:
    reply = (
        "```python\ndef helper():\n    pass\n```\n"
        "```python\ndef solver(x):\n    return x\n```\n"
        "```python\nprint(solver('a'))\n```\n"
    )
    assert extract_code(reply) == "def solver(x):\n    return x"


def test_bare_code_and_missing_code() -> None:
    assert extract_code("def solver(x: str) -> str:\n    return x[::-1]\n") is not None
    assert extract_code("The rule is to reverse the string.") is None
    assert extract_code("def solver(x:\n  broken") is None
    assert NO_CODE == "no_code"


def test_an_unterminated_block_still_counts() -> None:
    assert extract_code("```python\ndef solver(x):\n    return x") == "def solver(x):\n    return x"


def test_memorised_lookup_tables_are_flagged() -> None:
    examples = [Case("1+1", "2"), Case("2+2", "4"), Case("3+3", "6"), Case("4+4", "8")]
    table = "def solver(x):\n    return {'1+1': '2', '2+2': '4', '3+3': '6'}.get(x, '')"
    rule = "def solver(x):\n    a, b = x.split('+')\n    return str(int(a) + int(b))"
    assert looks_memorised(table, examples)
    assert not looks_memorised(rule, examples)
