"""Word order: a sentence written in some order of subject, verb and object, rewritten as SVO."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from importlib import resources

from probes.base import ComprehensionCheck, Parameter, ParamValue, ProbeFamily, Setting

ORDERS = ("svo", "sov", "vso", "vos", "osv", "ovs")
DEFAULT_ORDER = "svo"
PHRASES = ("word", "det")
_ROLE_NAMES = {"s": "subject", "v": "verb", "o": "object"}


def _load_vocabulary() -> dict:
    text = resources.files("probes").joinpath("data/syntax_vocabulary.json").read_text(encoding="utf-8")
    return json.loads(text)


_VOCABULARY = _load_vocabulary()
VERBS: tuple[str, ...] = tuple(_VOCABULARY["verbs"])
NAMES_AS_SUBJECTS: tuple[str, ...] = tuple(_VOCABULARY["word"]["subjects"])
NAMES_AS_OBJECTS: tuple[str, ...] = tuple(_VOCABULARY["word"]["objects"])
DETERMINERS: tuple[str, ...] = tuple(_VOCABULARY["det"]["determiners"])
NOUNS_AS_SUBJECTS: tuple[str, ...] = tuple(_VOCABULARY["det"]["subjects"])
NOUNS_AS_OBJECTS: tuple[str, ...] = tuple(_VOCABULARY["det"]["objects"])


def reorder(order: str, subject: str, verb: str, obj: str) -> str:
    """The sentence with its three constituents in `order`, e.g. "osv" -> "emily bob calls."."""
    parts = {"s": subject, "v": verb, "o": obj}
    return " ".join(parts[role] for role in order) + "."


def parse(setting: Setting, text: str) -> tuple[str, str, str]:
    """(subject, verb, object) of a sentence written in the setting's order, checked against the vocabulary.

    Positions follow from the order and the phrase kind (a noun phrase is one word, or a
    determiner and a noun); every word must belong to the shipped vocabulary.
    """
    order, phrase = str(setting["order"]), str(setting["phrase"])
    words = text.strip().lower().rstrip(".").split()
    np_length = 1 if phrase == "word" else 2
    if len(words) != 2 * np_length + 1:
        raise ValueError(
            f"expected {2 * np_length + 1} words (phrase={phrase}) in {order.upper()} order, got {text!r}"
        )
    found: dict[str, str] = {}
    position = 0
    for role in order:
        length = 1 if role == "v" else np_length
        chunk = words[position : position + length]
        position += length
        _check(role, chunk, phrase, order, text)
        found[role] = " ".join(chunk)
    return found["s"], found["v"], found["o"]


def _check(role: str, chunk: list[str], phrase: str, order: str, text: str) -> None:
    where = f"where {order.upper()} order puts the {_ROLE_NAMES[role]} in {text!r}"
    if role == "v":
        if chunk[0] not in VERBS:
            raise ValueError(f"unknown verb {chunk[0]!r} {where}; known verbs: {', '.join(VERBS)}")
        return
    if phrase == "word":
        nouns = set(NAMES_AS_SUBJECTS) | set(NAMES_AS_OBJECTS)
        noun = chunk[0]
    else:
        if chunk[0] not in DETERMINERS:
            raise ValueError(
                f"unknown determiner {chunk[0]!r} {where}; known determiners: {', '.join(DETERMINERS)}"
            )
        nouns = set(NOUNS_AS_SUBJECTS) | set(NOUNS_AS_OBJECTS)
        noun = chunk[1]
    if noun not in nouns:
        raise ValueError(f"unknown noun {noun!r} {where}; known nouns: {', '.join(sorted(nouns))}")


def solve(setting: Setting, text: str) -> str:
    return reorder(DEFAULT_ORDER, *parse(setting, text))


def draw(setting: Setting, rng: random.Random) -> str:
    if setting["phrase"] == "word":
        subject = rng.choice(NAMES_AS_SUBJECTS)
        verb = rng.choice(VERBS)
        obj = rng.choice([name for name in NAMES_AS_OBJECTS if name != subject])
    else:
        subject_noun = rng.choice(NOUNS_AS_SUBJECTS)
        verb = rng.choice(VERBS)
        object_noun = rng.choice([noun for noun in NOUNS_AS_OBJECTS if noun != subject_noun])
        subject = f"{rng.choice(DETERMINERS)} {subject_noun}"
        obj = f"{rng.choice(DETERMINERS)} {object_noun}"
    return reorder(str(setting["order"]), subject, verb, obj)


def rule(setting: Setting) -> str:
    order = str(setting["order"])
    roles = [_ROLE_NAMES[role] for role in order]
    if setting["phrase"] == "word":
        phrases = "The subject and the object are one word each."
    else:
        phrases = "The subject and the object are two words each, a determiner and a noun (e.g. 'the cat')."
    return (
        f"In this language, sentences are written in {'-'.join(roles)} order ({order.upper()}): "
        f"the {roles[0]} comes first, then the {roles[1]}, then the {roles[2]}. {phrases} "
        "The output is the same sentence in English subject-verb-object order (SVO), "
        "lower case, ending with '.'."
    )


def normalise(answer: str) -> str:
    """Lower case, single spaces, exactly one trailing '.'."""
    text = " ".join(answer.lower().split()).rstrip(" .")
    return f"{text}." if text else ""


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["order"] == DEFAULT_ORDER


def _svo_setting(setting: Setting) -> Setting:
    return Setting(setting.family, (("order", DEFAULT_ORDER), ("phrase", setting["phrase"])), True)


def draw_check(setting: Setting, rng: random.Random) -> str:
    """An English sentence in SVO order, to be written in the setting's order."""
    return draw(_svo_setting(setting), rng)


def solve_check(setting: Setting, text: str) -> str:
    return reorder(str(setting["order"]), *parse(_svo_setting(setting), text))


def check_question(setting: Setting, text: str) -> str:
    order = str(setting["order"])
    roles = "-".join(_ROLE_NAMES[role] for role in order)
    return (
        f"In this language, sentences are written in {roles} order ({order.upper()}). "
        "Write the following English sentence, given in subject-verb-object order, in this "
        f"language's order, lower case, ending with '.'.\n\nSentence: {text}\n"
        'End the response with the result in "\\boxed{result}".'
    )


FAMILY = ProbeFamily(
    name="syntax",
    description="Word order: rewrite a sentence given in SVO, SOV, VSO, VOS, OSV or OVS order as SVO.",
    parameters=(
        Parameter("order", str, ORDERS, DEFAULT_ORDER, "the order of subject, verb and object in the input"),
        Parameter(
            "phrase", str, PHRASES, "word", "word: one-word subject and object; det: determiner + noun"
        ),
    ),
    standard=tuple({"order": order} for order in ORDERS),
    task=(
        "Each input is a short lower-case sentence ending with '.'; "
        "the output is a sentence, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(draw=draw_check, solve=solve_check, question=check_question),
)
