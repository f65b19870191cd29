"""Answer and code extraction: strict, exact, and labelled when nothing (or too much) can be read.

One block of tests per rule of `lab/tasks/scoring.py`'s docstring, then property tests.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lab.tasks.scoring import (
    AMBIGUOUS,
    NO_CODE,
    UNPARSED,
    extract_answer,
    extract_code,
    find_boxes,
    last_boxed,
    read_answers,
    score_check,
    score_direct,
)
from probes import get_family

ARITHMETIC = get_family("arithmetic")
SYNTAX = get_family("syntax")
LISTFN = get_family("listfn")


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("so \\boxed{152}", "152"),
        ("first \\boxed{1}\nthen \\boxed{2}", "2"),
        ("\\boxed{\\text{1A}}", "1A"),
        ("$\\boxed{77_8}$", "77"),
        ("\\boxed{165_{8}}", "165"),
        ("\\boxed{1C9_{16}}", "1C9"),
        ("\\boxed{1C9_{(16)}}", "1C9"),
        ("\\boxed{{12}}", "{12}"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\boxed{5}}", "5"),
        ("\\boxed{\\text{\\textbf{1}2}}", "12"),
        ("\\boxed{\\text{a{b}c}}", "a{b}c"),
        ("\\boxed{9\\text{9A}}", "99A"),
        ("Step one.\nAnswer: 143", "143"),
        ("The answer is 143", "143"),
        ("143", "143"),
        ("**Final answer:** bob calls emily.", "bob calls emily"),
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
        "\\boxed{}",
        "\\boxed{ \\, }",
    ],
)
def test_unreadable_replies_are_unparsed(reply: str) -> None:
    score = score_direct(ARITHMETIC, reply, "12")
    assert (score.predicted, score.correct, score.error) == (None, False, UNPARSED)


def test_nested_braces_balance() -> None:
    assert last_boxed("x \\boxed{a{b{c}}d} y") == "a{b{c}}d"
    assert [box.content for box in find_boxes("\\boxed{a \\boxed{b} c} \\boxed{d}")] == [
        "a \\boxed{b} c",
        "d",
    ]


def test_a_box_never_closed_leaves_the_closed_ones_inside_it() -> None:
    assert [box.content for box in find_boxes("\\boxed{ cut off \\boxed{7} here")] == ["7"]
    assert last_boxed("} stray \\boxed{8} {") == "8"


def test_scoring_is_exact_after_family_normalisation() -> None:
    assert score_direct(ARITHMETIC, "\\boxed{1c9}", "1C9").correct
    assert not score_direct(ARITHMETIC, "\\boxed{01C9}", "1C9").correct
    assert not score_direct(ARITHMETIC, "\\boxed{1C9 }", "1CA").correct
    assert score_direct(SYNTAX, "\\boxed{Bob  calls Emily.}", "bob calls emily.").correct
    assert not score_direct(SYNTAX, "\\boxed{bob called emily.}", "bob calls emily.").correct


# ---------------------------------------------------------------------------------------------
# Rule 1: the final statement (the line of the last box) supersedes earlier boxes


def test_boxes_on_earlier_lines_are_working_and_superseded() -> None:
    reply = "Ones: 6+6 = \\boxed{14}\nTens: 7+7+1 = \\boxed{17}\n\nSo 76+76 = \\boxed{174}."
    assert score_direct(ARITHMETIC, reply, "174") == score_direct(ARITHMETIC, "\\boxed{174}", "174")
    assert score_direct(ARITHMETIC, reply, "174").correct


# ---------------------------------------------------------------------------------------------
# Rule 2: several different final answers are ambiguous, never correct


@pytest.mark.parametrize(
    "reply",
    [
        "The sum is \\boxed{105} or \\boxed{106}.",
        "It is either $\\boxed{105}$, or maybe $\\boxed{106}$",
        "\\boxed{106}, \\boxed{105}",
    ],
)
def test_a_hedge_is_ambiguous_whichever_answer_is_expected(reply: str) -> None:
    for expected in ("105", "106"):
        score = score_direct(ARITHMETIC, reply, expected)
        assert (score.correct, score.error) == (False, AMBIGUOUS)
        assert set(score.predicted.split(" | ")) == {"105", "106"}
    assert extract_answer(reply) is None


def test_the_same_answer_boxed_twice_is_one_answer() -> None:
    assert score_direct(ARITHMETIC, "\\boxed{106}, that is \\boxed{106}.", "106").correct
    assert score_direct(ARITHMETIC, "\\boxed{1c9} = \\boxed{1C9}", "1C9").correct
    assert score_direct(
        SYNTAX, "\\boxed{Bob calls Emily} or \\boxed{bob calls emily.}", "bob calls emily."
    ).correct


def test_an_ambiguous_item_shows_a_few_of_its_answers() -> None:
    reply = " ".join(f"\\boxed{{{n}}}" for n in range(2, 40))
    score = score_direct(ARITHMETIC, reply, "3")
    assert score.error == AMBIGUOUS
    assert score.predicted == "2 | 3 | 4 | 5 | 6 | ..."


# ---------------------------------------------------------------------------------------------
# Rule 3: a restatement in base 10 is not a second answer


@pytest.mark.parametrize(
    "reply",
    [
        "So 76+76 = \\boxed{174} in base 8, which is \\boxed{124} in decimal.",
        "That is $\\boxed{124}$ in decimal, i.e. $\\boxed{174}$ in base-8.",
        "= \\boxed{174} (in base-8) = \\boxed{124} (in base-10)",
        "\\boxed{174_8} = \\boxed{124_{10}}",
        "\\boxed{174}_8, \\boxed{124}_{10}",
        "\\boxed{174} in base 8, which in decimal is \\boxed{124}.",
        "\\boxed{174}$$ (decimal \\boxed{124})",
        "\\boxed{124} in decimal: \\boxed{174}",
    ],
)
def test_a_decimal_restatement_beside_the_answer_is_set_aside(reply: str) -> None:
    assert read_answers(reply) == ["174"]
    assert score_direct(ARITHMETIC, reply, "174").correct


def test_a_decimal_answer_labelled_as_such_still_counts_alone() -> None:
    assert score_direct(ARITHMETIC, "So the sum is \\boxed{152} in decimal.", "152").correct
    assert score_direct(ARITHMETIC, "In base 10: \\boxed{152}", "152").correct


def test_two_answers_in_bases_other_than_ten_stay_ambiguous() -> None:
    score = score_direct(ARITHMETIC, "\\boxed{174} in base 8 or \\boxed{163} in base 9", "174")
    assert score.error == AMBIGUOUS


# ---------------------------------------------------------------------------------------------
# Rule 4: a hedge can be settled by a last line stating one answer


def test_digit_boxes_of_a_column_sum_are_settled_by_the_final_statement() -> None:
    reply = (
        "\\begin{align*}\n&\\phantom{ }~~~\\boxed{9}0 \\\\\n&+\\boxed{3}7 \\\\\n\\cline{1-2}\n"
        "&\\boxed{1}2\\boxed{7}\n\\end{align*}\n\nTherefore, 90+37=127."
    )
    assert score_direct(ARITHMETIC, reply, "127").correct
    settled = "$\\boxed{1}\\,\\boxed{7}$\n\nTherefore, $63_9+34_9=107_9$ in base-9."
    assert read_answers(settled) == ["107"]


def test_a_labelled_last_line_settles_a_hedge() -> None:
    assert read_answers("\\boxed{105} or \\boxed{106}?\nChecking again.\nAnswer: 106.") == ["106"]


def test_a_last_line_does_not_override_a_single_boxed_answer() -> None:
    reply = "\\boxed{174}\n\nCheck: 124 - 50 = 74"
    assert read_answers(reply) == ["174"]


# ---------------------------------------------------------------------------------------------
# Rule 5: LaTeX layout is not content


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("\\boxed{16\\ 5}", "165"),
        ("\\boxed{1\\phantom{ }1\\phantom{ }5}", "115"),
        ("\\boxed{1\\phantom{0}1\\phantom{0}5}", "115"),
        ("\\boxed{9\\text{ }3\\text{ }A}", "93A"),
        ("\\boxed{1~3~5}", "135"),
        ("\\boxed{1\\,\\,\\,2}", "12"),
        ("\\boxed{1\\quad 2\\hspace{1em}3}", "123"),
        ("\\boxed{1\\,000}", "1000"),
        ("\\boxed{bob\\ calls\\ emily.}", "bob calls emily."),
        ("\\boxed{\\text{bob calls emily.}}", "bob calls emily."),
        ("\\boxed{16 5}", "16 5"),  # plain spaces are content: the family decides
    ],
)
def test_latex_spacing_between_digits_joins_them(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


def test_plain_spaces_between_digits_stay_wrong_in_arithmetic() -> None:
    assert not score_direct(ARITHMETIC, "\\boxed{16 5}", "165").correct
    assert score_direct(ARITHMETIC, "\\boxed{16\\ 5}", "165").correct


# ---------------------------------------------------------------------------------------------
# Rule 6: a boxed computation gives its result


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Thus, \\boxed{B2+E5=197}.", "197"),
        ("\\boxed{A9_{16} + 99_{16} = 142_{16}}", "142"),
        ("\\boxed{8E+28 = 88 8888}", "88 8888"),
        ("\\boxed{[1, 2] + [3] = [1, 2, 3]}", "[1, 2, 3]"),
        ("$$\\boxed{55}_8 + \\boxed{26}_8 = \\boxed{63}_8$$", "63"),
        ("EA + 4A = \\boxed{EA} + \\boxed{4A} = \\boxed{234}.", "234"),
        ("9 tens + 1 ten = \\boxed{10 tens} = \\boxed{100}", "100"),
    ],
)
def test_an_equation_gives_the_value_after_its_last_equals(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


def test_a_box_without_an_operation_keeps_its_equals_sign() -> None:
    assert extract_answer("\\boxed{x = 5}") == "x = 5"


# ---------------------------------------------------------------------------------------------
# Rule 7: the instruction's placeholder


def test_a_placeholder_answer_may_close_a_code_block() -> None:
    reply = "112\n\n```\n1. 32 + 80 = 112\n2. \\boxed{result} = 112\n```"
    assert score_direct(ARITHMETIC, reply, "112").correct


def test_an_empty_box_holds_no_answer() -> None:
    assert read_answers("\\boxed{106} \\boxed{}") == ["106"]


# ---------------------------------------------------------------------------------------------
# Rule 8: no box


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Working.\nFinal answer: 106.", "106"),
        ("Working.\nThe answer is 106.", "106"),
        ("Working.\n**Answer:** 1A.", "1A"),
        ("106.", "106"),
        ("Working.\nAnswer: 106...", "106..."),
    ],
)
def test_one_full_stop_ending_a_labelled_line_is_punctuation(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


def test_final_line_punctuation_scores_in_every_family() -> None:
    assert score_direct(ARITHMETIC, "Adding.\nFinal answer: 106.", "106").correct
    assert score_direct(SYNTAX, "Reordering.\nFinal answer: bob calls emily.", "bob calls emily.").correct
    assert score_direct(LISTFN, "Sorting.\nAnswer: [1, 2, 3].", "[1, 2, 3]").correct


def test_an_unlabelled_last_line_of_a_longer_reply_is_not_an_answer() -> None:
    assert extract_answer("We add the digits.\n106") is None


# ---------------------------------------------------------------------------------------------
# Rule 9: comprehension checks are read at the answer position


def check(base: int, reply: str, expected: str):
    return score_check(ARITHMETIC, ARITHMETIC.setting(base=base), reply, expected)


@pytest.mark.parametrize(
    ("base", "reply", "expected"),
    [
        (11, "Therefore, the next number after 77A is 780 in base-11.", "780"),
        (9, "The next number after 230 in base-9 is: \n231 (which is equivalent to 256 in base-10)", "231"),
        (9, "The next number after 840 in base-9 is 841, which is represented by 842 in base-10.", "841"),
        (8, "The next number after 260 in base-8 is 261 (or 401 in base-8).", "261"),
        (16, "The successor of 19 is 1A in base-16 notation.", "1A"),
        (16, "The next number is 1F, i.e. 31 in decimal.", "1F"),
        (16, "The next number after 1E is 1F i.e.", "1F"),
        (16, "Counting: 1D, 1E, 1F.\nEnd of response.", "1F"),
        (9, "The next number would be the one that comes after 678, which is 680.", "680"),
        (10, "The few preceding numbers are 36, 37, 38, and the next number after 39 is 40.", "40"),
        (16, "The next number is 1F, since E is followed by F.", "1F"),
        (8, "After counting, the result is \\boxed{140}.", "140"),
    ],
)
def test_the_check_reader_reads_only_the_answer_position(base: int, reply: str, expected: str) -> None:
    score = check(base, reply, expected)
    assert (score.predicted, score.correct) == (expected, True)


def test_the_check_reader_never_reads_a_base_or_an_abbreviation() -> None:
    assert check(16, "It goes on in base-16.", "10").error == UNPARSED
    assert check(16, "That is the successor, i.e. the next one.", "10").error == UNPARSED


def test_a_family_without_its_own_check_reader_reads_boxes() -> None:
    setting = SYNTAX.setting(order="sov")
    assert score_check(SYNTAX, setting, "\\boxed{bob emily calls.}", "bob emily calls.").correct
    assert score_check(SYNTAX, setting, "\\boxed{a b c.} or \\boxed{c b a.}", "a b c.").error == AMBIGUOUS


# ---------------------------------------------------------------------------------------------
# Properties

NUMERALS = st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=6)
PROSE = st.text(alphabet=st.sampled_from("abcdefghij klmnop,;:!?-"), max_size=40)
SPACING = st.sampled_from(["\\ ", "\\,", "\\;", "~", "\\quad ", "\\phantom{ }", "\\phantom{0}", "\\text{ }"])


@settings(max_examples=200, deadline=None)
@given(answer=NUMERALS, before=PROSE, after=PROSE)
def test_a_single_box_in_any_prose_gives_its_content(answer: str, before: str, after: str) -> None:
    reply = f"{before}\\boxed{{{answer}}}{after}"
    assert extract_answer(reply) == answer
    assert score_direct(ARITHMETIC, reply, answer).correct


@settings(max_examples=200, deadline=None)
@given(answer=NUMERALS, joiner=st.sampled_from([", ", " and again ", " = ", "; so "]))
def test_boxing_the_same_answer_twice_changes_nothing(answer: str, joiner: str) -> None:
    twice = f"It is \\boxed{{{answer}}}{joiner}\\boxed{{{answer}}}."
    assert score_direct(ARITHMETIC, twice, answer) == score_direct(ARITHMETIC, f"\\boxed{{{answer}}}", answer)


@settings(max_examples=200, deadline=None)
@given(first=NUMERALS, second=NUMERALS, joiner=st.sampled_from([" or ", ", or maybe ", " / ", " and "]))
def test_two_different_answers_are_never_correct(first: str, second: str, joiner: str) -> None:
    reply = f"It is \\boxed{{{first}}}{joiner}\\boxed{{{second}}}."
    for expected in (first, second):
        score = score_direct(ARITHMETIC, reply, expected)
        assert score.correct == (first.upper() == second.upper())
        assert score.error == (None if first.upper() == second.upper() else AMBIGUOUS)


@settings(max_examples=200, deadline=None)
@given(answer=NUMERALS, decimal=st.integers(0, 10**6), base=st.integers(2, 9), reverse=st.booleans())
def test_a_decimal_restatement_never_changes_the_answer(
    answer: str, decimal: int, base: int, reverse: bool
) -> None:
    stated = f"\\boxed{{{answer}}} in base-{base}"
    restated = f"\\boxed{{{decimal}}} in decimal"
    reply = f"So {restated}, that is {stated}." if reverse else f"So {stated}, which is {restated}."
    assert read_answers(reply) == [answer]


@settings(max_examples=200, deadline=None)
@given(answer=st.text(alphabet="0123456789ABCDEF", min_size=2, max_size=6), data=st.data())
def test_latex_spacing_inside_a_numeral_never_changes_it(answer: str, data: st.DataObject) -> None:
    gaps = [data.draw(st.lists(SPACING, max_size=2)) for _ in answer[1:]]
    spaced = answer[0] + "".join("".join(gap) + digit for gap, digit in zip(gaps, answer[1:], strict=True))
    assert extract_answer(f"Thus \\boxed{{{spaced}}}.") == answer


@settings(max_examples=200, deadline=None)
@given(
    number=st.integers(1, 35 * 36),
    base=st.integers(11, 16),
    tail=st.sampled_from(
        [
            "",
            " in base-{b}",
            " (which is {d} in base-10)",
            ", which is {d} in decimal",
            ", i.e. {d}",
            " (base {b})",
        ]
    ),
)
def test_the_check_reader_reads_the_stated_successor(number: int, base: int, tail: str) -> None:
    digits = "0123456789ABCDEF"
    numeral = ""
    value = number
    while value:
        value, digit = divmod(value, base)
        numeral = digits[digit] + numeral
    assume(any(char.isdigit() for char in numeral))  # the arithmetic reader takes `AA` for a word
    reply = f"The next number in base-{base} is {numeral}{tail.format(b=base, d=number)}."
    assert check(base, reply, numeral).correct


@settings(max_examples=300, deadline=None)
@given(reply=st.text(max_size=300))
def test_any_text_gets_a_verdict_and_only_a_single_answer_can_be_correct(reply: str) -> None:
    score = score_direct(ARITHMETIC, reply, "12")
    assert score.error in (None, UNPARSED, AMBIGUOUS)
    assert not score.correct or (score.error is None and score.predicted == "12")
    assert (score.predicted is None) == (score.error == UNPARSED)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["\\boxed{", "{", "}", "7", " or ", "\n", "$", "="]), max_size=30))
def test_braces_in_any_order_never_break_box_finding(parts: list[str]) -> None:
    reply = "".join(parts)
    for box in find_boxes(reply):
        assert reply[box.start : box.end].endswith("}")
        assert box.content.count("{") == box.content.count("}")
    score_direct(ARITHMETIC, reply, "7")


# ---------------------------------------------------------------------------------------------
# Code


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
