"""Lookup tables of the shown examples are flagged in any encoding; rules are not."""

from __future__ import annotations

import pytest

from lab.tasks.memorised import looks_memorised, memorised_evidence, numeral
from probes import Case

ADDITION = [Case("15+26", "43"), Case("34+51", "85"), Case("62+17", "80"), Case("44+44", "88")]  # base 9
REVERSE = [Case("hello world", "dlrow olleh"), Case("good day", "yad doog"), Case("abc", "cba")]

TABLES = {
    "plain dict": "def solver(x):\n    return {'15+26': '43', '34+51': '85', '62+17': '80'}.get(x, '0')",
    "outputs as numbers": "T = {'15+26': 43, '34+51': 85, '62+17': 80, '44+44': 88}\n"
    "def solver(x):\n    return str(T[x])",
    "keys and values reversed": "T = {'62+51': '34', '15+43': '58', '71+26': '08'}\n"
    "def solver(x):\n    return T[x[::-1]][::-1]",
    "numbers in another base": "T = [(15, 26, 0o53), (34, 51, 77), (62, 17, 72)]\n"
    "def solver(x):\n    a, b = x.split('+')\n    for p, q, r in T:\n"
    "        if (p, q) == (int(a), int(b)):\n            return format(r, 'o')",
    "branch chain": "def solver(x):\n    if x == '15+26':\n        return str(40 + 3)\n"
    "    elif x == '34+51':\n        return '8' + '5'\n    return '80'",
    "character codes": "K = [(49, 53, 43, 50, 54), (51, 52, 43, 53, 49)]\n"
    "def solver(x):\n    return {tuple(map(ord, k)): v for k, v in []}.get(x, '')",
    "hex keys": "T = {'31352b3236': '43', '33342b3531': '85'}\n"
    "def solver(x):\n    return T.get(x.encode().hex(), '')",
}


@pytest.mark.parametrize("name", TABLES)
def test_tables_are_flagged_in_any_encoding(name: str) -> None:
    assert looks_memorised(TABLES[name], ADDITION), memorised_evidence(TABLES[name], ADDITION)


RULES = [
    "def solver(x):\n    a, b = x.split('+')\n    return str(int(a) + int(b))",
    "DIGITS = '012345678'\ndef solver(x):\n    a, b = x.split('+')\n    n = int(a, 9) + int(b, 9)\n"
    "    out = ''\n    while n:\n        n, d = divmod(n, 9)\n        out = DIGITS[d] + out\n"
    "    return out or '0'",
    "def solver(x):\n    base = 9\n    a, b = (int(p, base) for p in x.split('+'))\n    return str(a + b)",
]


@pytest.mark.parametrize("rule", RULES)
def test_rules_are_not_flagged(rule: str) -> None:
    assert not looks_memorised(rule, ADDITION), memorised_evidence(rule, ADDITION)


def test_word_tasks() -> None:
    assert not looks_memorised("def solver(x):\n    return x[::-1]", REVERSE)
    stored = "def solver(x):\n    return {'hello world': 'dlrow olleh', 'good day': 'yad doog'}[x]"
    assert looks_memorised(stored, REVERSE)
    rot13 = "def solver(x):\n    return {'uryyb jbeyq': 1, 'tbbq qnl': 2}.get(x)"
    assert looks_memorised(rot13, REVERSE)


def test_a_flat_list_of_digit_values_in_a_rule_is_not_a_table() -> None:
    shown = [Case("7+7", "16"), Case("7+10", "17"), Case("10+10", "20"), Case("10+11", "21")]  # base 8
    rule = (
        "VALUES = [10, 11, 12, 13, 14, 15]\ndef solver(x):\n    a, b = x.split('+')\n"
        "    n = int(a, 8) + int(b, 8)\n    return oct(n)[2:]"
    )
    assert not looks_memorised(rule, shown), memorised_evidence(rule, shown)


def test_one_shown_example_in_the_code_is_not_enough() -> None:
    assert not looks_memorised("def solver(x):\n    return '43' if x == '15+26' else x", ADDITION)


def test_unreadable_or_huge_code_is_not_flagged() -> None:
    assert not looks_memorised("def solver(x)\n", ADDITION)
    assert not looks_memorised("def solver(x):\n    return 'a' * 10 ** 9", ADDITION)
    assert not looks_memorised("def solver(x):\n    return x", [])


def test_numeral() -> None:
    assert [numeral(n, b) for n, b in [(0, 2), (43, 9), (-255, 16), (35, 36)]] == ["0", "47", "-ff", "z"]


def test_memorised_lookup_tables_are_flagged() -> None:
    examples = [Case("1+1", "2"), Case("2+2", "4"), Case("3+3", "6"), Case("4+4", "8")]
    table = "def solver(x):\n    return {'1+1': '2', '2+2': '4', '3+3': '6'}.get(x, '')"
    rule = "def solver(x):\n    a, b = x.split('+')\n    return str(int(a) + int(b))"
    assert looks_memorised(table, examples)
    assert not looks_memorised(rule, examples)
