"""The arithmetic probe against independent base-B computations with int(x, B)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import ProbeError, arithmetic, parse_spec

FAMILY = arithmetic.FAMILY
SYMBOLS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WU_DATA = (
    Path(__file__).resolve().parents[2] / "shared/anchors/counterfactual-evaluation/arithmetic/data/0shot"
)


def base_sum(left: str, right: str, base: int) -> int:
    return int(left, base) + int(right, base)


def ignores_base_and_fails(left: str, right: str, base: int) -> bool:
    """Wu et al.'s filter, computed without the probe: reading the item as decimal gives a wrong answer."""
    if not (left.isdecimal() and right.isdecimal()):
        return True
    decimal_answer = str(int(left) + int(right))
    readable = all(int(char) < base for char in decimal_answer)
    return not (readable and int(decimal_answer, base) == base_sum(left, right, base))


def check_sum(output: str, left: str, right: str, base: int) -> None:
    assert output == output.upper()
    assert output == "0" or not output.startswith("0")
    assert set(output) <= set(SYMBOLS[:base])
    assert int(output, base) == base_sum(left, right, base)


@pytest.mark.parametrize("digits", [2, 3, 4])
@pytest.mark.parametrize("base", range(2, 37))
def test_cases_are_base_b_sums_of_well_formed_operands(base: int, digits: int) -> None:
    setting = FAMILY.setting(base=base, digits=digits)
    cases = list(itertools.islice(FAMILY.iter_cases(setting, seed=base * 10 + digits), 25))
    assert cases
    operand = re.compile(f"[{re.escape(SYMBOLS[1:base])}][{re.escape(SYMBOLS[:base])}]{{{digits - 1}}}")
    for case in cases:
        left, right = case.input.split("+")
        assert operand.fullmatch(left) and operand.fullmatch(right), case
        check_sum(case.output, left, right, base)
        if base != 10:
            assert ignores_base_and_fails(left, right, base), case


@pytest.mark.parametrize(("base", "digits"), [(2, 2), (2, 3), (3, 2), (4, 2), (5, 2), (10, 2)])
def test_small_domains_yield_exactly_the_distinguishing_items(base: int, digits: int) -> None:
    firsts, rest = SYMBOLS[1:base], SYMBOLS[:base]
    numbers = ["".join(p) for p in itertools.product(firsts, *[rest] * (digits - 1))]
    expected = {
        f"{x}+{y}"
        for x, y in itertools.product(numbers, repeat=2)
        if base == 10 or ignores_base_and_fails(x, y, base)
    }
    setting = FAMILY.setting(base=base, digits=digits)
    got = [case.input for case in FAMILY.iter_cases(setting, seed=3)]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_exhausted_domain_is_a_clear_error() -> None:
    [setting] = parse_spec("arithmetic:base=2,digits=2")
    assert len(FAMILY.cases(setting, 4, seed=0)) == 4  # 10+10, 10+11, 11+10, 11+11
    with pytest.raises(ProbeError, match="only 4 distinct cases"):
        FAMILY.cases(setting, 5, seed=0)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_solve_adds_any_operands_in_any_base(data: st.DataObject) -> None:
    base = data.draw(st.integers(2, 36), label="base")
    digit = st.sampled_from(SYMBOLS[:base])
    left = "".join(data.draw(st.lists(digit, min_size=1, max_size=8), label="left"))
    right = "".join(data.draw(st.lists(digit, min_size=1, max_size=8), label="right"))
    setting = FAMILY.setting(base=base)
    output = arithmetic.solve(setting, f"{left}+{right}")
    check_sum(output, left, right, base)
    assert arithmetic.solve(setting, f" {left.lower()} + {right} ") == output


def test_solve_on_the_published_example() -> None:
    assert arithmetic.solve(FAMILY.setting(base=16), "EC+DD") == "1C9"
    assert arithmetic.solve(FAMILY.setting(base=16), "ec+dd") == "1C9"
    assert arithmetic.solve(FAMILY.setting(base=8), "76+76") == "174"


@pytest.mark.parametrize("text", ["12+3G", "12", "1+2+3", "+5", "1_0+1"])
def test_solve_rejects_what_is_not_a_base_b_addition(text: str) -> None:
    with pytest.raises(ValueError):
        arithmetic.solve(FAMILY.setting(base=16), text)


@pytest.mark.parametrize("base", [8, 9, 10, 11, 16])
def test_solve_matches_wu_et_al_items(base: int) -> None:
    path = WU_DATA / f"base{base}.txt"
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    items = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    assert len(items) == 1000
    setting = FAMILY.setting(base=base)
    for item in items:
        left, right = item.split("+")
        output = arithmetic.solve(setting, item)
        check_sum(output, left, right, base)
        if base == 16:
            assert output == format(int(left, 16) + int(right, 16), "X")
        # Wu et al. kept only distinguishing items; our filter agrees on every one.
        assert FAMILY.accept(setting, item)


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        ("1c9", "1C9"),
        ("  1C9 ", "1C9"),
        ("$174$", "174"),
        ("\\text{A8}", "A8"),
        ("174_8", "174"),
        ("C0_{11}", "C0"),
        ("1C9_(16)", "1C9"),
        ("$\\text{1C9}_{16}$", "1C9"),
        ("\\text{10A_{11}}", "10A"),
        ("0174", "0174"),
        ("1,000", "1,000"),
        ("1 74", "1 74"),
        ("0x1C9", "0X1C9"),
    ],
)
def test_normalise_is_conservative(answer: str, normal: str) -> None:
    assert arithmetic.normalise(answer) == normal


def test_rule_names_base_and_digits_and_task_names_no_base() -> None:
    rule = FAMILY.rule(FAMILY.setting(base=8))
    assert rule.startswith('All numbers are written in base-8 where the digits are "01234567".')
    assert '"0123456789ABCDEF"' in FAMILY.rule(FAMILY.setting(base=16))
    assert "base" not in FAMILY.task.lower()


def test_standard_settings_and_labels() -> None:
    settings_ = parse_spec("arithmetic")
    assert [s.label for s in settings_] == [f"base={b},digits=2" for b in (10, 8, 9, 11, 16)]
    assert [s.default_world for s in settings_] == [True, False, False, False, False]
    assert FAMILY.setting(base=10, digits=4).default_world
