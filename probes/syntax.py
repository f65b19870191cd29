"""Word order (Wu et al. 2023): English with its subject, verb and object in another order.

The main task, as Wu et al. pose it: name the main verb and the main subject of a sentence written
in the setting's order (`task=main`; the answer is the verb, then the subject's noun, e.g. "saw
tim"). Wu et al. take these sentences from the Penn Treebank, which is not shipped: ours are
generated, and a user who has theirs can give them as a cases file. The named variant
`task=reconstruct` asks for the sentence in English order instead. The comprehension check is Wu
et al.'s: reconstruct the English sentence from a reordered three-word one, in their exact wording,
read and scored as their scorer does, so their recorded replies replay.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from importlib import resources

from probes.base import Case, ComprehensionCheck, PaperFraming, Parameter, ParamValue, ProbeFamily, Setting

ORDERS = ("svo", "sov", "vso", "vos", "osv", "ovs")
DEFAULT_ORDER = "svo"
PHRASES = ("word", "det")
TASKS = ("main", "reconstruct")
_ROLE_NAMES = {"s": "subject", "v": "verb", "o": "object"}
# Wu et al.'s order descriptions (their syntax/query.py).
ORDER_DESCRIPTIONS = {order: "-".join(_ROLE_NAMES[role] for role in order) for order in ORDERS}

_EXPERT = "You are an expert in linguistics."
_MAIN_TASK = "Your task is to identify the main verb and the main subject in"
_MAIN_PREDICTION = (
    "Show the main verb (a single word) and its subject (also a single word) after the prefix "
    "'Main verb and subject: '.\nSentence: {sentence}\n"
)
_RECONSTRUCT_INSTRUCTION = (
    "Imagine a language that is the same as English only except that it uses the {order} order instead "
    "of the subject-verb-object order. Your task is to reconstruct the original sentence in English. You "
    "should only use the words in the same form as they appear in the given sentence.\n"
)
MAIN_PREFIX = "Main verb and subject: "
RECONSTRUCT_PREFIX = "Original sentence: "


def _load_vocabulary() -> dict:
    text = resources.files("probes").joinpath("data/syntax_vocabulary.json").read_text(encoding="utf-8")
    return json.loads(text)


_VOCABULARY = _load_vocabulary()
VERBS: tuple[str, ...] = tuple(_VOCABULARY["verbs"])
NAMES_AS_SUBJECTS: tuple[str, ...] = tuple(_VOCABULARY["word"]["subjects"])
NAMES_AS_OBJECTS: tuple[str, ...] = tuple(_VOCABULARY["word"]["objects"])
# Names in Wu et al.'s sentences that ours never draw: read in inputs (their cases files), not drawn.
NAMES_ALSO_READ: tuple[str, ...] = tuple(_VOCABULARY["word"]["also_read"])
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
        nouns = set(NAMES_AS_SUBJECTS) | set(NAMES_AS_OBJECTS) | set(NAMES_ALSO_READ)
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
    subject, verb, obj = parse(setting, text)
    if setting["task"] == "main":
        return f"{verb} {subject.split()[-1]}"
    return reorder(DEFAULT_ORDER, subject, verb, obj).rstrip(".")


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


def _order_text(setting: Setting) -> str:
    order = str(setting["order"])
    roles = [_ROLE_NAMES[role] for role in order]
    if setting["phrase"] == "word":
        phrases = "The subject and the object are one word each."
    else:
        phrases = "The subject and the object are two words each, a determiner and a noun (e.g. 'the cat')."
    return (
        f"In this language, sentences are written in {'-'.join(roles)} order ({order.upper()}): "
        f"the {roles[0]} comes first, then the {roles[1]}, then the {roles[2]}. {phrases}"
    )


def rule(setting: Setting) -> str:
    if setting["task"] == "main":
        answer = (
            "The output is the main verb, then the main subject (its noun alone, without a determiner), "
            "lower case, separated by a space (e.g. 'saw tim' for 'tim saw lucas.')."
        )
    else:
        answer = "The output is the same sentence in English subject-verb-object order (SVO), lower case."
    return f"{_order_text(setting)} {answer}"


def normalise(answer: str) -> str:
    """Lower case, single spaces, no final '.'; ', ' and ' - ' between words read as a space, as Wu et
    al.'s scorer accepts "saw tim", "saw, tim" and "saw - tim"."""
    text = answer.lower().replace(" - ", " ").replace(",", " ")
    return " ".join(text.split()).rstrip(" .")


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["order"] == DEFAULT_ORDER


def _instruction(setting: Setting, task: str) -> str:
    order = str(setting["order"])
    if task == "main":
        if order == DEFAULT_ORDER:
            return f"{_EXPERT} {_MAIN_TASK} an English sentence.\n"
        return (
            f"{_EXPERT} Imagine a language that is the same as English with the only exception being that "
            f"it uses the {ORDER_DESCRIPTIONS[order]} order instead of the subject-verb-object order. "
            f"{_MAIN_TASK} a sentence in this imaginary language.\n"
        )
    if order == DEFAULT_ORDER:
        return ""  # Wu et al. ask English sentences with no instruction
    return f"{_EXPERT} {_RECONSTRUCT_INSTRUCTION.format(order=ORDER_DESCRIPTIONS[order])}"


def _question(setting: Setting, task: str, text: str, cot: bool) -> str:
    """Wu et al.'s templates (their syntax/prompts.py), word for word."""
    sentence = text.strip()
    if task == "main":
        ending = "Let's think step by step. " if cot else ""
        return _instruction(setting, task) + _MAIN_PREDICTION.format(sentence=sentence) + ending
    if cot:
        ask = (
            "Let's think step by step. Show the original sentence at the end with the prefix "
            "'Original sentence: '."
        )
    else:
        ask = "Show the original sentence the prefix 'Original sentence: '."
    return f"{_instruction(setting, task)}Sentence: {sentence}\n{ask}\n"


def deductive_question(setting: Setting, text: str, cot: bool) -> str:
    return _question(setting, str(setting["task"]), text, cot)


def _after_prefix(reply: str, prefix: str) -> str:
    """Wu et al.'s reading: the last line, after the prefix if it has it."""
    return reply.split("\n")[-1].split(prefix)[-1].strip()


def extract(setting: Setting, reply: str) -> str | None:
    """The answer after the task's prefix on the reply's last line; None without the prefix (the
    usual boxed-or-labelled reading then applies)."""
    prefix = MAIN_PREFIX if setting["task"] == "main" else RECONSTRUCT_PREFIX
    if prefix not in reply.split("\n")[-1]:
        return None
    return _after_prefix(reply, prefix)


def _paper_question(setting: Setting, text: str) -> str:
    if setting["task"] == "main":
        return (
            "You are asked to find the main verb and the main subject of a sentence, the word order of "
            f'which is unknown, what are the main verb and the main subject of "{text}"?'
        )
    return (
        "You are asked to reconstruct an English sentence, the word order of which is unknown, "
        f'what is the English sentence of "{text}"?'
    )


def _paper_rule_question(setting: Setting, text: str) -> str:
    order = ORDER_DESCRIPTIONS[str(setting["order"])]
    if setting["task"] == "main":
        return (
            f"Assuming that sentences use the {order} order instead of the subject-verb-object order, "
            f'what are the main verb and the main subject of "{text}"?'
        )
    return (
        f"Assuming that sentences use the {order} order instead of the subject-verb-object order, "
        f'what is the English sentence of "{text}"?'
    )


def _paper_answer(setting: Setting, text: str, output: str) -> str:
    if setting["task"] == "main":
        return f'The main verb and subject of "{text}" are {output}.'
    return f'The English sentence of "{text}" is {output}.'


def draw_check(setting: Setting, rng: random.Random) -> str:
    """A sentence in the setting's order, to be put back in English order."""
    return draw(setting, rng)


def solve_check(setting: Setting, text: str) -> str:
    """The English sentence, final period included, as Wu et al.'s data gives it."""
    return reorder(DEFAULT_ORDER, *parse(setting, text))


def check_question(setting: Setting, text: str, cot: bool) -> str:
    return _question(setting, "reconstruct", text, cot)


def extract_check(setting: Setting, reply: str) -> str:
    """Wu et al.'s reading: the last line after 'Original sentence: ', stripped of spaces and quotes;
    a reply without that prefix but with a boxed answer gives the boxed answer."""
    boxed = re.findall(r"\\boxed\{([^{}]*)\}", reply)
    if RECONSTRUCT_PREFIX not in reply.split("\n")[-1] and boxed:
        return boxed[-1].strip()
    return _after_prefix(reply, RECONSTRUCT_PREFIX).strip('"')


def grade_check(setting: Setting, case: Case, answer: str) -> bool:
    """Wu et al.'s comparison: the whole sentence, final period included, ignoring case only."""
    return answer.lower() == case.output.lower()


FAMILY = ProbeFamily(
    name="syntax",
    description=(
        "Word order (Wu et al.): name the main verb and subject of a sentence written in SVO, SOV, VSO, VOS, "
        "OSV or OVS order (task=reconstruct: rewrite it as SVO)."
    ),
    parameters=(
        Parameter("order", str, ORDERS, DEFAULT_ORDER, "the order of subject, verb and object in the input"),
        Parameter(
            "phrase", str, PHRASES, "word", "word: one-word subject and object; det: determiner + noun"
        ),
        Parameter(
            "task",
            str,
            TASKS,
            "main",
            "main: name the main verb and subject (Wu et al.); reconstruct: rewrite the sentence as SVO",
        ),
    ),
    standard=tuple({"order": order} for order in ORDERS),
    task=(
        "Each input is a short lower-case sentence ending with '.'; "
        "the output is lower-case text, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(
        draw=draw_check, solve=solve_check, question=check_question, extract=extract_check, grade=grade_check
    ),
    deductive_question=deductive_question,
    extract=extract,
    paper=PaperFraming(
        question=_paper_question,
        rule_question=_paper_rule_question,
        answer=_paper_answer,
        arguments=("sentence",),
    ),
    worlds=("order",),
)
