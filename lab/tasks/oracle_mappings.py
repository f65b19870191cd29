"""The hidden mapping of a setting as sandbox source, and the check a query input must pass first.

The oracle mode runs the hidden rule on inputs the model chooses. The rule is trusted, the input is
not: each input is first read by the family's own parser (`refusal`), and only inputs that parse go
to the sandbox, where `source(setting)` defines `solver` as the reference rule. A family without an
entry here does not offer the oracle mode (the plan skips it, like the check for a family without one).
Agreement with the family's own `solve` is tested on drawn cases (tests/test_oracle_mappings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass

from probes import ProbeFamily, Setting, arithmetic, cipher, strings


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


# The strings family's steps as the sandbox runs them: one function per kind of step, fields as arguments.
STRINGS_STEPS = """
def parts(text, delim):
    found = text.split(delim)
    if len(found) < 2:
        raise ValueError('the delimiter ' + repr(delim) + ' is not in ' + repr(text))
    return found

def Field(text, delim, index):
    return parts(text, delim)[index]

def Cut(text, delim, after_first):
    if delim not in text:
        raise ValueError('the delimiter ' + repr(delim) + ' is not in ' + repr(text))
    return text.split(delim, 1)[1] if after_first else text.rsplit(delim, 1)[0]

def ChangeCase(text, how):
    if how == 'upper':
        return text.upper()
    if how == 'lower':
        return text.lower()
    return ' '.join(word[:1].upper() + word[1:].lower() for word in text.split(' '))

def Affix(text, affix, at_start):
    return affix + text if at_start else text + affix

def Slice(text, how, count):
    if len(text) <= count:
        raise ValueError(repr(text) + ' is too short')
    if how == 'first':
        return text[:count]
    if how == 'last':
        return text[-count:]
    return text[count:]

def Replace(text, old, new):
    return text.replace(old, new)

def Join(text, delim, order, sep):
    found = parts(text, delim)
    return sep.join(found[i] for i in order)

def Initials(text, delim, sep):
    found = parts(text, delim)
    if not all(part[:1].isalpha() for part in found):
        raise ValueError('a part starts with no letter')
    return sep.join(part[0] for part in found)

def solver(x):
    for step in STEPS:
        x = STEP_KINDS[step[0]](x, *step[1:])
    return x
"""


def _strings_source(setting: Setting) -> str:
    steps = [(type(step).__name__, *astuple(step)) for step in strings.program_of(setting).steps]
    kinds = ", ".join(f"{name!r}: {name}" for name in sorted({step[0] for step in steps}))
    return f"{STRINGS_STEPS}STEPS = {steps!r}\nSTEP_KINDS = {{{kinds}}}\n"


def _strings_refusal(setting: Setting, text: str) -> str | None:
    if strings.FAMILY.accept(setting, text):
        return None
    return "the hidden rule is not defined on this input (or gives no text for it)"


MAPPINGS: dict[str, OracleMapping] = {
    "arithmetic": OracleMapping(_arithmetic_source, _arithmetic_refusal),
    "cipher": OracleMapping(_cipher_source, _cipher_refusal),
    "strings": OracleMapping(_strings_source, _strings_refusal),
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
