"""The hidden mapping of a setting as sandbox source, and the check a query input must pass first.

The oracle mode runs the hidden rule on inputs the model chooses. The rule is trusted, the input is
not: each input is first read by the family's own parser (`refusal`), and only inputs that parse go
to the sandbox, where `source(setting)` defines `solver` as the reference rule. A family without an
entry here does not offer the oracle mode (the plan skips it, like the check for a family without one).
Agreement with the family's own `solve` is tested on drawn cases (tests/test_oracle_mappings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from probes import ProbeFamily, Setting, arithmetic, cipher


@dataclass(frozen=True)
class OracleMapping:
    """`source(setting)`: sandbox source defining `solver`; `refusal(setting, text)`: why the family
    cannot take the input, or None."""

    source: Callable[[Setting], str]
    refusal: Callable[[Setting, str], str | None]


def _arithmetic_source(setting: Setting) -> str:
    base = int(setting["base"])
    return (
        f"DIGITS = {arithmetic.DIGITS!r}\n"
        "def solver(x):\n"
        "    left, right = x.split('+')\n"
        f"    total = int(left.strip(), {base}) + int(right.strip(), {base})\n"
        "    out = ''\n"
        "    while total > 0:\n"
        f"        out = DIGITS[total % {base}] + out\n"
        f"        total = total // {base}\n"
        "    return out or '0'\n"
    )


def _arithmetic_refusal(setting: Setting, text: str) -> str | None:
    try:
        arithmetic.operands(setting, text)
    except ValueError as exc:
        return str(exc)
    return None


def _cipher_source(setting: Setting) -> str:
    table = {cipher_letter: plain for plain, cipher_letter in cipher._encryption_table(setting).items()}
    return (
        f"TABLE = {table!r}\n"
        "def solver(x):\n"
        "    text = ' '.join(x.lower().split())\n"
        "    return ''.join(c if c == ' ' else TABLE[c] for c in text)\n"
    )


def _cipher_refusal(setting: Setting, text: str) -> str | None:
    normal = " ".join(text.lower().split())
    bad = sorted({c for c in normal if c != " " and c not in cipher.ALPHABET})
    if not normal:
        return "the input is blank; write lower-case letters a-z and spaces"
    if bad:
        return f"expected lower-case letters a-z and spaces; bad: {''.join(bad)!r}"
    return None


MAPPINGS: dict[str, OracleMapping] = {
    "arithmetic": OracleMapping(_arithmetic_source, _arithmetic_refusal),
    "cipher": OracleMapping(_cipher_source, _cipher_refusal),
}


def has_oracle(family: ProbeFamily) -> bool:
    return family.name in MAPPINGS


def oracle_mapping(family: ProbeFamily) -> OracleMapping:
    try:
        return MAPPINGS[family.name]
    except KeyError:
        offered = ", ".join(sorted(MAPPINGS))
        raise ValueError(
            f"family {family.name} has no oracle; the oracle mode is offered for {offered}"
        ) from None
