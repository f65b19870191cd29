"""Decryption of short English text: ROT13 is the familiar world, other ciphers counterfactual ones."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping

from probes.base import ComprehensionCheck, PaperFraming, Parameter, ParamValue, ProbeFamily, Setting
from probes.words import WORDS

CIPHERS = ("caesar", "atbash", "keyboard")
DEFAULT_SHIFT = 13
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
ALPHABET = string.ascii_lowercase


def _encryption_table(setting: Setting) -> dict[str, str]:
    """Plaintext letter -> ciphertext letter."""
    kind = setting["cipher"]
    if kind == "caesar":
        shift = int(setting["shift"])
        return {letter: ALPHABET[(i + shift) % 26] for i, letter in enumerate(ALPHABET)}
    if kind == "atbash":
        return dict(zip(ALPHABET, reversed(ALPHABET), strict=True))
    return {row[i]: row[(i + 1) % len(row)] for row in KEYBOARD_ROWS for i in range(len(row))}


def _translate(table: dict[str, str], text: str) -> str:
    try:
        return "".join(char if char == " " else table[char] for char in text)
    except KeyError as error:
        raise ValueError(
            f"expected lower-case letters a-z and spaces, got {text!r} (bad: {error.args[0]!r})"
        ) from None


def encrypt(setting: Setting, plaintext: str) -> str:
    return _translate(_encryption_table(setting), plaintext)


def decrypt(setting: Setting, ciphertext: str) -> str:
    table = {cipher: plain for plain, cipher in _encryption_table(setting).items()}
    return _translate(table, ciphertext)


def solve(setting: Setting, text: str) -> str:
    return decrypt(setting, " ".join(text.lower().split()))


def draw(setting: Setting, rng: random.Random) -> str:
    count = rng.randint(1, 3)
    plaintext = " ".join(rng.choice(WORDS) for _ in range(count))
    return encrypt(setting, plaintext)


def _describe(setting: Setting) -> tuple[str, str]:
    """How the world's cipher encrypts, and how to undo it."""
    kind = setting["cipher"]
    if kind == "caesar":
        shift = int(setting["shift"])
        example = "".join(ALPHABET[(i + shift) % 26] for i in range(3))
        cipher = (
            f"a Caesar cipher with shift {shift}: each letter of the plaintext was replaced by the letter "
            f"{shift} places later in the alphabet, wrapping around from z to a (a -> {example[0]}, "
            f"b -> {example[1]}, c -> {example[2]})"
        )
        undo = f"shift each letter {shift} places back"
    elif kind == "atbash":
        cipher = (
            "the Atbash cipher: each letter of the plaintext was replaced by its mirror in the alphabet "
            "(a <-> z, b <-> y, c <-> x, and so on)"
        )
        undo = "replace each letter by its mirror again"
    else:
        cipher = (
            "a keyboard cipher: each letter of the plaintext was replaced by the key to its right on the "
            "same row of a QWERTY keyboard (rows qwertyuiop, asdfghjkl, zxcvbnm), the last key of a row "
            "wrapping around to the first (p -> q, l -> a, m -> z)"
        )
        undo = "replace each letter by the key to its left on the same row"
    return cipher, undo


def rule(setting: Setting) -> str:
    cipher, undo = _describe(setting)
    return (
        f"Each input is English text encrypted with {cipher}. Spaces are kept. "
        f"The output is the decrypted plaintext in lower case: {undo}."
    )


def normalise(answer: str) -> str:
    """Lower case, single spaces; nothing else is forgiven."""
    return " ".join(answer.lower().split())


def canonical(params: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """Only a Caesar cipher has a shift; the other ciphers' settings carry none."""
    if params["cipher"] == "caesar":
        return dict(params)
    return {name: value for name, value in params.items() if name != "shift"}


def draw_check(setting: Setting, rng: random.Random) -> str:
    return rng.choice(WORDS)


def solve_check(setting: Setting, text: str) -> str:
    return encrypt(setting, " ".join(text.lower().split()))


def paper_question(setting: Setting, text: str) -> str:
    return (
        f"You are asked to decrypt a text, the cipher of which is unknown, what is the plaintext of {text}?"
    )


def paper_rule_question(setting: Setting, text: str) -> str:
    cipher, _ = _describe(setting)
    return f"Assuming that the text is encrypted with {cipher}, what is the plaintext of {text}?"


def paper_answer(setting: Setting, text: str, output: str) -> str:
    return f"The plaintext of {text} is {output}."


def check_question(setting: Setting, text: str, cot: bool) -> str:
    """Asks to encrypt, the direction the rule describes, where the task asks to decrypt."""
    cipher, _ = _describe(setting)
    return (
        f"Text is encrypted with {cipher}.\n\nEncrypt this word with that cipher: {text}\n"
        'End the response with the result in "\\boxed{result}".'
    )


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["cipher"] == "caesar" and params.get("shift") == DEFAULT_SHIFT


FAMILY = ProbeFamily(
    name="cipher",
    description="Decryption of one to three English words (ROT13 familiar; other shifts, atbash, keyboard).",
    parameters=(
        Parameter(
            "cipher", str, CIPHERS, "caesar", "caesar: shift letters; atbash: mirror; keyboard: QWERTY"
        ),
        Parameter("shift", int, tuple(range(1, 26)), DEFAULT_SHIFT, "the Caesar shift (caesar only)"),
    ),
    standard=(
        {"cipher": "caesar", "shift": 13},
        {"cipher": "caesar", "shift": 3},
        {"cipher": "caesar", "shift": 1},
        {"cipher": "caesar", "shift": 7},
        {"cipher": "atbash"},
        {"cipher": "keyboard"},
    ),
    task=(
        "Each input is one to three groups of lower-case letters separated by spaces; "
        "the output is lower-case text, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    canonical=canonical,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(draw=draw_check, solve=solve_check, question=check_question),
    paper=PaperFraming(
        question=paper_question,
        rule_question=paper_rule_question,
        answer=paper_answer,
        arguments=("ciphertext",),
    ),
    worlds=("cipher", "shift"),
)
