"""The listfn probe: every hidden list function against its reference and a second, independent property."""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import run_solver
from lab.tasks.modes import MODES
from lab.tasks.prompts import RULE_REQUEST, build_messages, followup_messages
from probes import ProbeError, get_family, listfn, parse_spec
from tests.scripted import solver_source

FAMILY = listfn.FAMILY
NAMES = [function.name for function in listfn.FUNCTIONS]
ROOT = Path(__file__).resolve().parent.parent
INTS = st.integers(-300, 300)
LISTS = st.lists(INTS, max_size=14)


def setting_for(name: str):
    return FAMILY.setting(function=name)


def run(name: str, xs: list[int]) -> list[int]:
    """The family's answer for `xs`, through its text interface."""
    return listfn.parse_list(FAMILY.solve(setting_for(name), listfn.format_list(xs)))


def is_subsequence(short: list[int], long: list[int]) -> bool:
    rest = iter(long)
    return all(any(value == other for other in rest) for value in short)


def non_decreasing(values: list[int]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def last_digit(number: int) -> int:
    return abs(number) - abs(number) // 10 * 10


def digit_sum(number: int) -> int:
    total, rest = 0, abs(number)
    while rest:
        rest, digit = divmod(rest, 10)
        total += digit
    return total


def stable_by(key: Callable[[int], int], xs: list[int], ys: list[int]) -> bool:
    """`ys` is `xs` ordered by `key`, equal keys in their original order."""
    keys = [key(y) for y in ys]
    groups_kept = all([x for x in xs if key(x) == k] == [y for y in ys if key(y) == k] for k in set(keys))
    return non_decreasing(keys) and groups_kept and Counter(xs) == Counter(ys)


def local_maxima_ok(xs: list[int], ys: list[int]) -> bool:
    if not xs:
        return ys == []
    top = max(xs)
    unique_top_kept = Counter(xs)[top] > 1 or top in ys
    padded = [float("-inf"), *xs, float("-inf")]
    peaks = [b for a, b, c in zip(padded, padded[1:], padded[2:], strict=False) if a < b > c]
    return is_subsequence(ys, xs) and len(ys) <= (len(xs) + 1) // 2 and unique_top_kept and ys == peaks


def first_top_removed(xs: list[int], ys: list[int]) -> bool:
    """`ys` is `xs` less one element, the leftmost of the largest ones."""
    if not xs:
        return ys == []
    cuts = [i for i in range(len(xs)) if xs[:i] + xs[i + 1 :] == ys]
    return any(xs[i] == max(xs) and max(xs) not in xs[:i] for i in cuts)


def runs_fit(xs: list[int], lengths: list[int]) -> bool:
    """Cutting `xs` into pieces of these lengths gives constant pieces, each unlike the next."""
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    pieces = [xs[start : start + length] for start, length in zip(starts, lengths, strict=True)]
    return all(len(set(piece)) == 1 for piece in pieces) and all(
        a[0] != b[0] for a, b in itertools.pairwise(pieces)
    )


def keep_above_mean_ok(xs: list[int], ys: list[int]) -> bool:
    if len(set(xs)) <= 1:
        return ys == []
    mean = sum(xs) / len(xs)
    return is_subsequence(ys, xs) and 0 < len(ys) < len(xs) and ys == [x for x in xs if x > mean]


# A second statement of each function, written without its reference implementation.
PROPERTIES: dict[str, Callable[[list[int], list[int]], bool]] = {
    "reverse": lambda xs, ys: (
        len(ys) == len(xs) and all(ys[i] == xs[len(xs) - 1 - i] for i in range(len(xs)))
    ),
    "sort": lambda xs, ys: non_decreasing(ys) and Counter(ys) == Counter(xs),
    "sort_descending": lambda xs, ys: non_decreasing(ys[::-1]) and Counter(ys) == Counter(xs),
    "drop_first_two": lambda xs, ys: len(ys) == max(len(xs) - 2, 0) and xs[len(xs) - len(ys) :] == ys,
    "take_first_three": lambda xs, ys: len(ys) == min(len(xs), 3) and all(map(operator.eq, ys, xs)),
    "drop_last": lambda xs, ys: len(ys) == max(len(xs) - 1, 0) and ys + xs[len(ys) :] == xs,
    "add_three": lambda xs, ys: (
        len(ys) == len(xs)
        and sum(ys) == sum(xs) + 3 * len(xs)
        and all(b - a == 3 for a, b in zip(xs, ys, strict=True))
    ),
    "double": lambda xs, ys: len(ys) == len(xs) and all(b == a + a for a, b in zip(xs, ys, strict=True)),
    "keep_even": lambda xs, ys: (
        is_subsequence(ys, xs) and all(y & 1 == 0 for y in ys) and len(ys) == len(xs) - sum(x & 1 for x in xs)
    ),
    "keep_odd": lambda xs, ys: (
        is_subsequence(ys, xs) and all(y & 1 for y in ys) and len(ys) == sum(x & 1 for x in xs)
    ),
    "keep_above_fifty": lambda xs, ys: (
        is_subsequence(ys, xs)
        and all(y >= 51 for y in ys)
        and len(ys) == len(xs) - sum(1 for x in xs if x <= 50)
    ),
    "first_element": lambda xs, ys: len(ys) == min(len(xs), 1) and all(y == next(iter(xs)) for y in ys),
    "last_element": lambda xs, ys: len(ys) == min(len(xs), 1) and all(y == next(reversed(xs)) for y in ys),
    "length": lambda xs, ys: ys == [sum(1 for _ in xs)],
    "sum": lambda xs, ys: ys == [functools.reduce(operator.add, xs, 0)],
    "max": lambda xs, ys: len(ys) == min(len(xs), 1) and all(y in xs and all(x <= y for x in xs) for y in ys),
    "min": lambda xs, ys: len(ys) == min(len(xs), 1) and all(y in xs and all(x >= y for x in xs) for y in ys),
    "append_seven": lambda xs, ys: len(ys) == len(xs) + 1 and ys[-1] == 7 and ys[: len(xs)] == xs,
    "last_digits": lambda xs, ys: (
        len(ys) == len(xs)
        and all(0 <= d <= 9 and (abs(x) - d) % 10 == 0 for x, d in zip(xs, ys, strict=True))
    ),
    "duplicate_each": lambda xs, ys: len(ys) == 2 * len(xs) and ys[0::2] == xs and ys[1::2] == xs,
    "mirror": lambda xs, ys: len(ys) == 2 * len(xs) and ys == ys[::-1] and ys[: len(xs)] == xs,
    "rotate_left": lambda xs, ys: (
        Counter(ys) == Counter(xs) and (len(xs) < 2 or (ys[-1], ys[:-1]) == (xs[0], xs[1:]))
    ),
    "rotate_right": lambda xs, ys: (
        Counter(ys) == Counter(xs) and (len(xs) < 2 or (ys[0], ys[1:]) == (xs[-1], xs[:-1]))
    ),
    "swap_first_last": lambda xs, ys: (
        Counter(ys) == Counter(xs)
        and ys[1:-1] == xs[1:-1]
        and (len(xs) < 2 or (ys[0], ys[-1]) == (xs[-1], xs[0]))
    ),
    "remove_duplicates": lambda xs, ys: (
        len(ys) == len(set(ys)) == len(set(xs)) and ys == sorted(set(xs), key=xs.index)
    ),
    "every_other": lambda xs, ys: (
        is_subsequence(ys, xs)
        and len(ys) == len(xs) - len(xs) // 2
        and all(ys[i] == xs[2 * i] for i in range(len(ys)))
    ),
    "add_position": lambda xs, ys: (
        len(ys) == len(xs)
        and sum(ys) == sum(xs) + len(xs) * (len(xs) - 1) // 2
        and all(ys[i] - xs[i] == i for i in range(len(xs)))
    ),
    "times_position": lambda xs, ys: (
        len(ys) == len(xs) and all(ys[i] // (i + 1) == xs[i] for i in range(len(xs)))
    ),
    "differences": lambda xs, ys: (
        len(ys) == max(len(xs) - 1, 0) and [xs[0] + sum(ys[:i]) for i in range(len(xs))] == xs
    ),
    "pairwise_sums": lambda xs, ys: (
        len(ys) == max(len(xs) - 1, 0)
        and (len(xs) < 2 or sum(ys) == 2 * sum(xs) - xs[0] - xs[-1])
        and (
            not xs
            or list(itertools.accumulate(ys, lambda before, total: total - before, initial=xs[0])) == xs
        )
    ),
    "keep_greater_than_first": lambda xs, ys: (
        is_subsequence(ys, xs[1:])
        and all(y > xs[0] for y in ys)
        and len(ys) == sum(1 for x in xs[1:] if x > xs[0])
    ),
    "sort_unique": lambda xs, ys: all(a < b for a, b in itertools.pairwise(ys)) and set(ys) == set(xs),
    "take_while_even": lambda xs, ys: (
        all(y % 2 == 0 for y in ys) and xs[: len(ys)] == ys and (len(ys) == len(xs) or xs[len(ys)] % 2 == 1)
    ),
    "remove_largest": lambda xs, ys: (
        Counter(xs) - Counter(ys) == Counter(xs and {max(xs): 1}) and first_top_removed(xs, ys)
    ),
    "count_even": lambda xs, ys: ys == [len(xs) - sum(x & 1 for x in xs)],
    "zero_odds": lambda xs, ys: (
        len(ys) == len(xs)
        and all(b == (a if a % 2 == 0 else 0) for a, b in zip(xs, ys, strict=True))
        and sum(ys) == sum(x for x in xs if not x & 1)
    ),
    "drop_every_third": lambda xs, ys: (
        len(ys) == len(xs) - len(xs) // 3 and ys[0::2] == xs[0::3] and ys[1::2] == xs[1::3]
    ),
    "swap_pairs": lambda xs, ys: (
        Counter(ys) == Counter(xs)
        and all(sorted(ys[i : i + 2]) == sorted(xs[i : i + 2]) for i in range(0, len(xs), 2))
        and (len(xs) % 2 == 0 or ys[-1] == xs[-1])
        and ys[0::2][: len(xs) // 2] == xs[1::2]
        and ys[1::2] == xs[0::2][: len(xs) // 2]
    ),
    "remove_adjacent_duplicates": lambda xs, ys: (
        is_subsequence(ys, xs)
        and set(ys) == set(xs)
        and all(a != b for a, b in itertools.pairwise(ys))
        and len(ys) == len(xs) - sum(a == b for a, b in itertools.pairwise(xs))
    ),
    "digit_sums": lambda xs, ys: (
        len(ys) == len(xs)
        and all(0 <= d <= abs(x) and (abs(x) - d) % 9 == 0 for x, d in zip(xs, ys, strict=True))
        and ys == [digit_sum(x) for x in xs]
    ),
    "running_sum": lambda xs, ys: (
        len(ys) == len(xs)
        and (not xs or ys[-1] == sum(xs))
        and [b - a for a, b in itertools.pairwise(ys)] == xs[1:]
    ),
    "running_max": lambda xs, ys: (
        len(ys) == len(xs)
        and non_decreasing(ys)
        and all(ys[i] >= xs[i] and ys[i] in xs[: i + 1] for i in range(len(xs)))
        and (not xs or ys[-1] == max(xs))
    ),
    "sort_by_last_digit": lambda xs, ys: stable_by(last_digit, xs, ys),
    "sort_by_digit_sum": lambda xs, ys: stable_by(digit_sum, xs, ys),
    "interleave_halves": lambda xs, ys: Counter(ys) == Counter(xs) and ys[0::2] == xs[: (len(xs) + 1) // 2],
    "deinterleave": lambda xs, ys: Counter(ys) == Counter(xs) and ys[: (len(xs) + 1) // 2] == xs[0::2],
    "run_lengths": lambda xs, ys: (
        sum(ys) == len(xs)
        and all(y > 0 for y in ys)
        and len(ys) == sum(1 for i in range(len(xs)) if i == 0 or xs[i] != xs[i - 1])
        and runs_fit(xs, ys)
    ),
    "count_occurrences": lambda xs, ys: (
        len(ys) == len(xs)
        and sum(ys) == sum(c * c for c in Counter(xs).values())
        and all(ys[i] == ys[j] for i in range(len(xs)) for j in range(len(xs)) if xs[i] == xs[j])
        and all(y == sum(1 for x in xs if x == value) for value, y in zip(xs, ys, strict=True))
    ),
    "local_maxima": local_maxima_ok,
    "evens_before_odds": lambda xs, ys: (
        Counter(ys) == Counter(xs)
        and not any(a % 2 and not b % 2 for a, b in itertools.pairwise(ys))
        and [y for y in ys if y & 1] == [x for x in xs if x & 1]
        and [y for y in ys if not y & 1] == [x for x in xs if not x & 1]
    ),
    "keep_above_mean": keep_above_mean_ok,
    "reverse_chunks_of_three": lambda xs, ys: (
        len(ys) == len(xs)
        and all(Counter(ys[i : i + 3]) == Counter(xs[i : i + 3]) for i in range(0, len(xs), 3))
        and all(ys[i] == xs[i // 3 * 3 + min(i // 3 * 3 + 2, len(xs) - 1) - i] for i in range(len(xs)))
    ),
    "repeat_by_value": lambda xs, ys: (
        len(ys) == sum(x for x in xs if x > 0)
        and all(Counter(ys)[x] == x * Counter(xs)[x] for x in set(xs) if x > 0)
        and [value for value, _ in itertools.groupby(ys)]
        == [value for value, _ in itertools.groupby(x for x in xs if x > 0)]
    ),
}

# (f, g): g(f(xs)) == xs for every list.
INVERSES = [
    ("reverse", "reverse"),
    ("swap_pairs", "swap_pairs"),
    ("swap_first_last", "swap_first_last"),
    ("reverse_chunks_of_three", "reverse_chunks_of_three"),
    ("rotate_left", "rotate_right"),
    ("rotate_right", "rotate_left"),
    ("deinterleave", "interleave_halves"),
    ("interleave_halves", "deinterleave"),
]


def test_the_table() -> None:
    assert len(listfn.FUNCTIONS) >= 40
    assert len(set(NAMES)) == len(NAMES)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", name) for name in NAMES)
    assert listfn.DIFFICULTY == {function.name: function.difficulty for function in listfn.FUNCTIONS}
    groups = {tag: listfn.functions_by_difficulty(tag) for tag in ("easy", "medium", "hard")}
    assert all(len(names) >= 8 for names in groups.values())
    assert sorted(name for names in groups.values() for name in names) == sorted(NAMES)
    assert groups["easy"][:2] == ("reverse", "sort") and "running_sum" in groups["hard"]
    descriptions = [function.description for function in listfn.FUNCTIONS]
    assert len(set(descriptions)) == len(descriptions)
    [parameter] = FAMILY.parameters
    assert parameter.choices == tuple(NAMES)
    assert all(tag + ":" in parameter.description for tag in groups)
    with pytest.raises(ProbeError, match="no difficulty 'tricky'; valid: easy, medium, hard"):
        listfn.functions_by_difficulty("tricky")


def test_every_function_has_a_second_property() -> None:
    assert sorted(PROPERTIES) == sorted(NAMES)


def test_sort_is_the_only_default_world() -> None:
    assert FAMILY.default_setting().label == "function=sort"
    assert [name for name in NAMES if setting_for(name).default_world] == ["sort"]
    standard = FAMILY.standard_settings()
    assert standard[0].default_world and [s.default_world for s in standard].count(True) == 1
    tags = Counter(listfn.DIFFICULTY[str(s["function"])] for s in standard)
    assert tags == {"easy": 2, "medium": 2, "hard": 2}
    assert [s.spec for s in parse_spec("listfn")] == [s.spec for s in standard]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(xs=LISTS)
def test_solve_matches_the_reference_and_a_second_property(name: str, xs: list[int]) -> None:
    function = listfn.FUNCTIONS_BY_NAME[name]
    original = list(xs)
    expected = function.apply(xs)
    assert xs == original, "the reference must not change its input"
    assert FAMILY.solve(setting_for(name), listfn.format_list(xs)) == listfn.format_list(expected)
    assert PROPERTIES[name](xs, run(name, xs)), (name, xs, expected)


@pytest.mark.parametrize(("first", "then"), INVERSES)
@settings(max_examples=60, deadline=None)
@given(xs=LISTS)
def test_inverse_pairs(first: str, then: str, xs: list[int]) -> None:
    assert run(then, run(first, xs)) == xs


@settings(max_examples=60, deadline=None)
@given(xs=LISTS)
def test_related_functions_agree(xs: list[int]) -> None:
    assert run("sort", run("sort_descending", xs)) == run("sort", xs) == run("sort", run("sort", xs))
    assert run("sort_unique", xs) == run("sort", run("remove_duplicates", xs))
    assert run("length", run("repeat_by_value", xs)) == run("sum", [x for x in xs if x > 0])
    assert run("length", run("remove_adjacent_duplicates", xs)) == run("length", run("run_lengths", xs))
    assert run("sum", run("run_lengths", xs)) == run("length", xs)
    assert run("keep_even", xs) + run("keep_odd", xs) == run("evens_before_odds", xs)
    assert run("count_even", xs) == run("length", run("keep_even", xs))
    assert run("last_element", run("running_max", xs)) == run("max", xs)
    assert run("running_sum", xs)[-1:] == (run("sum", xs) if xs else [])


def test_examples_in_the_rules_hold() -> None:
    example = re.compile(r"(\[[-\d, ]*\]) gives (\[[-\d, ]*\])")
    checked = 0
    for function in listfn.FUNCTIONS:
        for given_input, output in example.findall(function.description):
            assert FAMILY.solve(setting_for(function.name), given_input) == output, function.name
            checked += 1
    assert checked >= 15


WHITESPACE = st.text(" \t\n", max_size=3)


@settings(max_examples=200, deadline=None)
@given(LISTS, st.lists(WHITESPACE, min_size=32, max_size=32))
def test_format_and_parse_round_trip(xs: list[int], gaps: list[str]) -> None:
    text = listfn.format_list(xs)
    assert text == repr(xs)
    assert listfn.parse_list(text) == xs
    assert listfn.normalise(text) == text
    # The same list with any whitespace around the brackets and commas, or none at all.
    items = [gaps[i] + str(x) + gaps[i + 1] for i, x in enumerate(xs)]
    spaced = gaps[-1] + "[" + ",".join(items) + gaps[-2] + "]" + gaps[-3]
    assert listfn.parse_list(spaced) == xs
    assert listfn.normalise(spaced) == text


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        ("[1,2]", "[1, 2]"),
        ("  [ 1 ,  2 ,3 ]\n", "[1, 2, 3]"),
        ("[ ]", "[]"),
        ("[1 2]", "[1 2]"),
        ("[12]", "[12]"),
        ("(1, 2)", "(1, 2)"),
        ("[1, 2].", "[1, 2]."),
        ("[01, 2]", "[01, 2]"),
    ],
)
def test_normalise_forgives_whitespace_only(answer: str, normal: str) -> None:
    assert listfn.normalise(answer) == normal


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("1, 2, 3", None),
        ("[1, 2", None),
        ("(1, 2)", None),
        ("", None),
        ("[1,, 2]", "''"),
        ("[1, 2,]", "''"),
        ("[1, a]", "'a'"),
        ("[1.5]", "'1.5'"),
        ("[01, 2]", "'01'"),
        ("[-0]", "'-0'"),
        ("[1 2]", "'1 2'"),
        ("[[1], 2]", "'\\[1\\]'"),
        ("[+3]", "'\\+3'"),
    ],
)
def test_malformed_lists_are_rejected_clearly(text: str, bad: str | None) -> None:
    message = r"expected a list of integers written like \[1, 2, 3\]"
    if bad is not None:
        message += rf".*not an integer: {bad}"
    with pytest.raises(ValueError, match=message):
        listfn.parse_list(text)
    with pytest.raises(ValueError, match=message):
        FAMILY.solve(FAMILY.default_setting(), text)


def test_unknown_function_names_the_valid_ones() -> None:
    with pytest.raises(ProbeError, match="no value 'shuffle'; valid: reverse, sort, sort_descending, "):
        parse_spec("listfn:function=shuffle")
    with pytest.raises(ProbeError, match="no parameter 'fn'; valid: function"):
        parse_spec("listfn:fn=reverse")
    [setting] = parse_spec("listfn: function = Running_Sum")
    assert setting.spec == "listfn:function=running_sum" and not setting.default_world


@pytest.mark.parametrize("name", NAMES)
def test_cases_are_deterministic_prefix_stable_and_identifying(name: str) -> None:
    setting = setting_for(name)
    function = listfn.FUNCTIONS_BY_NAME[name]
    cases = FAMILY.cases(setting, 20, seed=7)
    assert FAMILY.cases(setting, 20, seed=7) == cases
    assert FAMILY.cases(setting, 8, seed=7) == cases[:8]
    assert FAMILY.cases(setting, 20, seed=8) != cases
    assert len({case.input for case in cases}) == 20
    assert any(case.output != case.input for case in cases)
    for case in cases:
        xs = listfn.parse_list(case.input)
        assert case.input == repr(xs) and case.output == listfn.format_list(function.apply(xs))
        assert function.min_length <= len(xs) <= function.max_length
        assert all(0 <= x <= function.max_value for x in xs)
        assert FAMILY.normalise(case.output) == case.output
        listfn.parse_list(case.output)


def test_rules_state_the_function_and_the_task_names_none() -> None:
    task = FAMILY.task
    assert "[1, 2, 3]" in task and "[]" in task and "integers" in task
    for function in listfn.FUNCTIONS:
        rule = FAMILY.rule(setting_for(function.name))
        assert rule.startswith("Each input is a list of integers. ") and rule.endswith(function.description)
    words = set(re.findall(r"[a-z]+", task.lower()))
    assert not words & {"sort", "sorted", "reverse", "even", "odd", "sum", "running", "digit", "order"}


@pytest.mark.parametrize("name", ["sort", "interleave_halves", "run_lengths", "keep_above_mean"])
@pytest.mark.parametrize("mode", sorted(m for m in MODES if not MODES[m].checks_comprehension))
def test_prompts_for_every_mode(name: str, mode: str) -> None:
    spec = MODES[mode]
    setting = setting_for(name)
    examples = FAMILY.cases(setting, 4, seed=1)
    query = FAMILY.cases(setting, 5, seed=2)[-1].input
    [message] = build_messages(setting, mode, examples if spec.shows_examples else (), query)
    text = message["content"]
    assert message["role"] == "user" and text.startswith(FAMILY.task)
    if spec.verbal:  # the rule is asked for in words first; the query or the solver in the second turn
        assert text.endswith(RULE_REQUEST) and "def solver" not in text
        second = followup_messages(setting, mode, [message], "Rule: ...", query)
        text = "\n\n".join(turn["content"] for turn in second)
    assert (FAMILY.rule(setting) in text) == spec.states_rule
    for case in examples if spec.shows_examples else ():
        assert f"Input: {case.input}\nOutput: {case.output}" in text
    if spec.returns_code:
        assert "def solver(x: str) -> str" in text
    else:
        assert f"Input: {query}" in text
    if not spec.states_rule:
        assert listfn.FUNCTIONS_BY_NAME[name].description not in text


def test_cli_prints_cases() -> None:
    def cases(*args: str) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-m", "lab", "cases", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines()]

    standard = cases("--probe", "listfn", "--n", "3")
    assert len(standard) == 3 * len(FAMILY.standard)
    assert standard[0]["setting"] == "listfn:function=sort"
    [setting] = parse_spec("listfn:function=interleave_halves")
    lines = cases("--probe", "listfn:function=interleave_halves", "--n", "3", "--seed", "4")
    assert [(line["input"], line["output"]) for line in lines] == [
        (case.input, case.output) for case in FAMILY.cases(setting, 3, 4)
    ]


def test_scripted_solvers_agree_with_the_family_in_the_sandbox() -> None:
    for name in NAMES:
        setting = setting_for(name)
        cases = get_family("listfn").cases(setting, 15, seed=3)
        report = run_solver(solver_source(setting), [case.input for case in cases])
        assert report.verdict is None, (name, report.detail)
        outputs = [result.output for result in report.results]
        assert outputs == [FAMILY.solve(setting, case.input) for case in cases], name


def test_the_comprehension_check_mode_is_refused_for_lists() -> None:
    with pytest.raises(ValueError, match="no comprehension check"):
        build_messages(setting_for("sort"), "ccc", query="[1, 2]")
