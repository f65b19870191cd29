"""The oracle mode's reply protocol: pure parsing of a model's turn and the words of the oracle's turns.

In the `oracle` mode (after CodeARC, 2025) the model may, turn by turn, ask for the outputs of inputs
it chooses or submit `solver`. One action a reply:

- a ```query block, one input a line: the hidden rule's output for each (up to the query budget);
- a ```python block defining `solver`: a submission, answered with one input where it is wrong.

Everything here is a pure function of text; the conversation itself runs in `lab.run.oracle`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from lab.tasks.scoring import extract_code

DEFAULT_QUERIES = 10
DEFAULT_SUBMISSIONS = 3
MAX_INPUT_CHARS = 200  # a longer query input is refused (and counted)
MAX_QUERY_LINES = 200  # lines read from one ```query block; the rest are not read, nor counted
MAX_ERROR_TURNS = 3  # malformed replies answered with an error turn before the conversation ends

# The fence's info string starts with the word `query` (models write "```query block" too).
_QUERY_BLOCK = re.compile(r"```[ \t]*query\b[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_USAGE = re.compile(r"\(Queries used: (\d+) of (\d+)\. Submissions used: (\d+) of (\d+)\.\)")


@dataclass(frozen=True)
class Budget:
    """How many query inputs and submissions one conversation may use."""

    queries: int = DEFAULT_QUERIES
    submissions: int = DEFAULT_SUBMISSIONS

    def __post_init__(self) -> None:
        if self.queries < 0:
            raise ValueError(f"queries must be 0 or more, got {self.queries}")
        if self.submissions < 1:
            raise ValueError(f"submissions must be at least 1, got {self.submissions}")

    @property
    def max_turns(self) -> int:
        """Model calls at most: every query in its own turn, every submission, the error turns."""
        return self.queries + self.submissions + MAX_ERROR_TURNS


@dataclass(frozen=True)
class Query:
    """A ```query block: its inputs in order (at most `MAX_QUERY_LINES`), and how many lines were not read."""

    inputs: tuple[str, ...]
    unread: int = 0


@dataclass(frozen=True)
class Submission:
    code: str


@dataclass(frozen=True)
class Malformed:
    """A reply that is neither one query nor one submission: why, in words the model is told."""

    reason: str


Action = Query | Submission | Malformed


def parse_reply(text: str) -> Action:
    """The one action of a reply; a reply with both a query and a submission, or neither, is malformed."""
    blocks = _QUERY_BLOCK.findall(text)
    code = extract_code(text)
    if blocks and code is not None:
        return Malformed("it holds both a ```query block and a ```python submission; give one action a reply")
    if code is not None:
        return Submission(code)
    if not blocks:
        return Malformed("it holds no ```query block and no ```python block defining `solver`")
    lines = [line.rstrip("\r") for line in blocks[0].split("\n")]
    inputs = [line.strip() for line in lines if line.strip()]
    if not inputs:
        return Malformed("its ```query block is empty; write one input a line")
    return Query(tuple(inputs[:MAX_QUERY_LINES]), max(0, len(inputs) - MAX_QUERY_LINES))


def screen_input(text: str) -> str | None:
    """Why a query input is refused before the family even reads it (None: it may be asked)."""
    if len(text) > MAX_INPUT_CHARS:
        return f"it has {len(text)} characters; inputs have at most {MAX_INPUT_CHARS}"
    if _CONTROL.search(text):
        return "it holds control characters"
    return None


@dataclass(frozen=True)
class Answer:
    """The oracle's answer to one query input: an output, or why it was refused."""

    input: str
    output: str | None
    refused: str | None = None


@dataclass(frozen=True)
class Usage:
    queries: int
    submissions: int


def usage_line(used: Usage, budget: Budget) -> str:
    return (
        f"(Queries used: {used.queries} of {budget.queries}. "
        f"Submissions used: {used.submissions} of {budget.submissions}.)"
    )


def read_usage(messages: list[dict[str, str]]) -> Usage:
    """The usage the oracle last reported in a conversation (its user turns); none yet: nothing used."""
    for message in reversed(messages[1:]):
        if message.get("role") != "user":
            continue
        found = _USAGE.findall(message.get("content", ""))
        if found:  # the oracle's own line ends its turn; one inside a quoted output never counts
            queries, _, submissions, _ = found[-1]
            return Usage(int(queries), int(submissions))
    return Usage(0, 0)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def answers_turn(answers: list[Answer], over_budget: int, used: Usage, budget: Budget) -> str:
    """The oracle's reply to a query: one line per input, then what was not answered and the usage."""
    lines = []
    for answer in answers:
        if answer.output is not None:
            lines.append(f"Input: {answer.input}\nOutput: {answer.output}")
        else:
            lines.append(f"Input: {_shown(answer.input)}\nRefused: {answer.refused} (this counts as a query)")
    if over_budget:
        lines.append(f"{over_budget} more input(s) not answered: no queries left. Submit `solver` now.")
    return "\n\n".join(lines) + "\n\n" + usage_line(used, budget)


def no_queries_turn(used: Usage, budget: Budget) -> str:
    return f"No queries left; submit `solver` in one ```python block.\n\n{usage_line(used, budget)}"


def error_turn(reason: str, used: Usage, budget: Budget) -> str:
    return (
        f"Your reply could not be read: {reason}. Reply with either one ```query block (one input a "
        f"line) or one ```python block defining `solver`.\n\n{usage_line(used, budget)}"
    )


def counterexample_turn(input_: str, expected: str, got: str, used: Usage, budget: Budget) -> str:
    """Where a submission is wrong; what it gave is quoted when it is long or holds control characters."""
    shown = _shown(got) if screen_input(got) else got
    return (
        "Your function is wrong on at least one input. One of them:\n\n"
        f"Input: {input_}\nExpected output: {expected}\nYour function gave: {shown}\n\n"
        f"Submit a corrected `solver` in one ```python block, or query more inputs.\n\n"
        f"{usage_line(used, budget)}"
    )


class Speaker(Enum):
    PROMPT = "prompt"
    MODEL = "model"
    ORACLE = "oracle"


@dataclass(frozen=True)
class Turn:
    """One turn of an oracle conversation: who spoke, what the turn was, its text."""

    speaker: Speaker
    kind: str  # the prompt; the model's query, submission or malformed reply; the oracle's answer
    text: str


def timeline(messages: Sequence[dict[str, str]], response: str | None) -> list[Turn]:
    """The conversation behind an oracle item, turn by turn, each model turn labelled by its action."""
    whole = [*messages] + ([{"role": "assistant", "content": response}] if response is not None else [])
    turns = []
    for number, message in enumerate(whole):
        text = message.get("content", "")
        if number == 0:
            turns.append(Turn(Speaker.PROMPT, "task, examples and protocol", text))
        elif message.get("role") == "assistant":
            turns.append(Turn(Speaker.MODEL, _action_kind(text), text))
        else:
            turns.append(Turn(Speaker.ORACLE, "answer", text))
    return turns


def _action_kind(text: str) -> str:
    action = parse_reply(text)
    if isinstance(action, Query):
        return f"query ({len(action.inputs) + action.unread} inputs)"
    if isinstance(action, Malformed):
        return "malformed"
    return "submission"
