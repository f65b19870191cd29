"""FlashFill-style text edits: a hidden program of string operations, from one step to four.

A setting is one hidden program, drawn from its `depth` (the number of steps, 1..4) and the seed
`program`: the kind of input it works on (a person's name, a date, a product code or an email
address) and `depth` operations applied in order, each from a small typed set: keep a field,
keep the text before or after a delimiter, change case, add a prefix or a suffix, keep or drop
characters by position, replace, join fields and constants, take initials.

Depth 1 (one everyday edit) is the familiar world; deeper programs are counterfactual ones. A
drawn program is kept only if each step is defined on every sampled input and changes at least
half of them, dropping any one step changes a quarter of the outputs, and the program is
identifiable from `SHOWN` examples: no other program of at most the same depth (tried up to
`CHECK_BUDGET` candidates, see `identify`) agrees on the shown examples but differs on held-out
inputs, and none with fewer steps agrees everywhere.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from probes.base import Parameter, ParamValue, ProbeError, ProbeFamily, Setting
from probes.words import WORDS

DEPTHS = (1, 2, 3, 4)
PROGRAMS = tuple(range(1000))
KINDS = ("name", "date", "code", "email")
SHOWN = 4  # examples a drawn program is identifiable from
CHECK_HELD_OUT = 12  # held-out inputs of the identifiability check
CHECK_BUDGET = 20_000  # candidate programs the identifiability check tries at most
SAMPLE_SIZE = 24  # inputs each drawn step is tried on
MIN_STEP_EFFECT = 0.25  # the share of sampled outputs that must change when any one step is dropped
MIN_DISTINCT = 6  # distinct outputs on the sample, so that no program is nearly constant
MAX_ATTEMPTS = 500

ORDINAL = {0: "first", 1: "second", -1: "last"}


class UndefinedError(ValueError):
    """A step that cannot apply to its text (a missing delimiter, a text too short)."""


def quote(text: str) -> str:
    """A constant as the rules write it: `"-"`, and a lone space as the word space."""
    return "space" if text == " " else f'"{text}"'


def _between(sep: str) -> str:
    if not sep:
        return "with nothing between them"
    return "with a space between them" if sep == " " else f'with "{sep}" between them'


def _characters(count: int) -> str:
    return "character" if count == 1 else f"{count} characters"


def _parts(text: str, delim: str) -> list[str]:
    parts = text.split(delim)
    if len(parts) < 2:
        raise UndefinedError(f"{text!r} has no {quote(delim)}")
    return parts


@dataclass(frozen=True)
class Field:
    delim: str
    index: int  # 0, 1 or -1

    def apply(self, text: str) -> str:
        return _parts(text, self.delim)[self.index]

    def describe(self) -> str:
        return f"split the text at each {quote(self.delim)} and keep the {ORDINAL[self.index]} part"


@dataclass(frozen=True)
class Cut:
    delim: str
    after_first: bool  # else: before the last

    def apply(self, text: str) -> str:
        if self.delim not in text:
            raise UndefinedError(f"{text!r} has no {quote(self.delim)}")
        return text.split(self.delim, 1)[1] if self.after_first else text.rsplit(self.delim, 1)[0]

    def describe(self) -> str:
        if self.after_first:
            return f"keep what follows the first {quote(self.delim)}"
        return f"keep what comes before the last {quote(self.delim)}"


@dataclass(frozen=True)
class ChangeCase:
    how: str  # upper, lower or capitalise

    def apply(self, text: str) -> str:
        if self.how == "upper":
            return text.upper()
        if self.how == "lower":
            return text.lower()
        return " ".join(word[:1].upper() + word[1:].lower() for word in text.split(" "))

    def describe(self) -> str:
        if self.how == "capitalise":
            return (
                "capitalise each word (words are separated by spaces): its first character in upper "
                "case, the rest in lower case"
            )
        return f"convert every letter to {self.how} case"


@dataclass(frozen=True)
class Affix:
    text: str
    at_start: bool  # else: at the end

    def apply(self, text: str) -> str:
        return self.text + text if self.at_start else text + self.text

    def describe(self) -> str:
        return f"put {quote(self.text)} in front" if self.at_start else f"add {quote(self.text)} at the end"


@dataclass(frozen=True)
class Slice:
    how: str  # first, last or drop
    count: int

    def apply(self, text: str) -> str:
        if len(text) <= self.count:
            raise UndefinedError(f"{text!r} has {self.count} characters or fewer")
        if self.how == "first":
            return text[: self.count]
        if self.how == "last":
            return text[-self.count :]
        return text[self.count :]

    def describe(self) -> str:
        if self.how == "drop":
            return f"drop the first {_characters(self.count)}"
        return f"keep the {self.how} {_characters(self.count)}"


@dataclass(frozen=True)
class Replace:
    old: str
    new: str

    def apply(self, text: str) -> str:
        return text.replace(self.old, self.new)

    def describe(self) -> str:
        if not self.new:
            return f"delete every {quote(self.old)}"
        new = "a space" if self.new == " " else quote(self.new)
        return f"replace every {quote(self.old)} with {new}"


@dataclass(frozen=True)
class Join:
    """Concatenate two fields, in a given order, with a constant between them."""

    delim: str
    order: tuple[int, int]
    sep: str

    def apply(self, text: str) -> str:
        parts = _parts(text, self.delim)
        return self.sep.join(parts[i] for i in self.order)

    def describe(self) -> str:
        first, second = (ORDINAL[i] for i in self.order)
        return (
            f"split the text at each {quote(self.delim)} and join the {first} and the {second} part, "
            f"in that order, {_between(self.sep)}"
        )


@dataclass(frozen=True)
class Initials:
    delim: str
    sep: str

    def apply(self, text: str) -> str:
        parts = _parts(text, self.delim)
        if not all(part[:1].isalpha() for part in parts):
            raise UndefinedError(
                f"{text!r} has a part between {quote(self.delim)} that starts with no letter"
            )
        return self.sep.join(part[0] for part in parts)

    def describe(self) -> str:
        return (
            f"split the text at each {quote(self.delim)} and join the first letters of all the parts, "
            f"{_between(self.sep)}"
        )


Operation = Field | Cut | ChangeCase | Affix | Slice | Replace | Join | Initials

DELIMITERS = (" ", "-", ".", "@", "/")
SEPARATORS = (" ", ", ", "-", "/", "")
PREFIXES = ("#", "ID-", "Dr. ", "x_")
SUFFIXES = (".txt", "!", "_1", " Jr.")
REPLACEMENTS = (
    ("-", "/"),
    ("-", ""),
    (" ", "_"),
    (" ", "."),
    (".", " "),
    (".", "_"),
    ("@", " at "),
    ("a", "4"),
    ("o", "0"),
    ("e", "3"),
)

# The whole space of steps, in a fixed order: what programs are drawn from and what the
# identifiability check enumerates.
OPERATIONS: tuple[Operation, ...] = (
    *(Field(d, i) for d in DELIMITERS for i in (0, 1, -1)),
    *(Cut(d, after) for d in DELIMITERS for after in (True, False)),
    *(ChangeCase(how) for how in ("upper", "lower", "capitalise")),
    *(Affix(text, True) for text in PREFIXES),
    *(Affix(text, False) for text in SUFFIXES),
    *(Slice(how, n) for how in ("first", "last", "drop") for n in (1, 2, 3)),
    *(Replace(old, new) for old, new in REPLACEMENTS),
    *(Join(d, order, sep) for d in DELIMITERS for order in ((1, 0), (-1, 0), (0, -1)) for sep in SEPARATORS),
    *(Initials(d, sep) for d in DELIMITERS for sep in ("", ".")),
)


@dataclass(frozen=True)
class Program:
    kind: str
    steps: tuple[Operation, ...]

    def run(self, text: str) -> str:
        for number, step in enumerate(self.steps, 1):
            try:
                text = step.apply(text)
            except UndefinedError as error:
                raise UndefinedError(f"step {number} ({step.describe()}) cannot apply: {error}") from None
        return text


def run_steps(steps: Sequence[Operation], text: str) -> str | None:
    """The steps' output, or None where one of them is undefined."""
    try:
        for step in steps:
            text = step.apply(text)
    except UndefinedError:
        return None
    return text


# -- inputs ---------------------------------------------------------------------------------------


def _load_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    data = json.loads(
        resources.files("probes").joinpath("data/strings_names.json").read_text(encoding="utf-8")
    )
    return tuple(data["given"]), tuple(data["family"])


GIVEN_NAMES, FAMILY_NAMES = _load_names()
TOP_LEVEL_DOMAINS = ("com", "org", "net", "io", "edu")


def draw_name(rng: random.Random) -> str:
    """Two or three names; mostly capitalised, sometimes in lower or upper case."""
    middle = [rng.choice(GIVEN_NAMES)] if rng.random() < 0.35 else []
    text = " ".join([rng.choice(GIVEN_NAMES), *middle, rng.choice(FAMILY_NAMES)])
    style = rng.random()
    if style < 0.2:
        return text.lower()
    if style < 0.35:
        return text.upper()
    return text


def draw_date(rng: random.Random) -> str:
    return f"{rng.randint(1950, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def draw_code(rng: random.Random) -> str:
    """An upper-case head, then one to three parts of digits or lower-case words, joined by "-"."""
    head = rng.choice(WORDS)[: rng.randint(2, 4)].upper()
    parts = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.6
        else rng.choice(WORDS)
        for _ in range(rng.randint(1, 3))
    ]
    return "-".join([head, *parts])


def draw_email(rng: random.Random) -> str:
    names = [rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES), rng.choice(WORDS)]
    local = ".".join(name.lower() for name in names[: rng.randint(1, 3)])
    domain = [rng.choice(WORDS) for _ in range(rng.randint(1, 2))]
    return f"{local}@{'.'.join(domain)}.{rng.choice(TOP_LEVEL_DOMAINS)}"


INPUTS: dict[str, Callable[[random.Random], str]] = {
    "name": draw_name,
    "date": draw_date,
    "code": draw_code,
    "email": draw_email,
}
KIND_DESCRIPTION = {
    "name": (
        "a person's name: two or three words separated by single spaces (a given name, sometimes a "
        "middle name, a family name), capitalised, in lower case or in upper case"
    ),
    "date": "a date written YYYY-MM-DD",
    "code": (
        'a product code: two to four parts joined by "-", the first in upper-case letters, the others '
        "digits or lower-case words"
    ),
    "email": (
        'an email address: one to three lower-case words joined by ".", then "@", then a domain of '
        'lower-case words joined by "." that ends in com, org, net, io or edu'
    ),
}


# -- identifiability ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Another program that fits every shown example but gives another output on a held-out input."""

    steps: tuple[Operation, ...]
    input: str
    expected: str
    got: str | None  # None: the other program is not defined there


Behaviour = tuple[str | None, ...]  # a program's outputs on the inputs checked, None where undefined


def _neighbours(steps: tuple[Operation, ...]) -> Iterator[tuple[Operation, ...]]:
    """Every program one edit away: one step dropped or replaced by another."""
    for index, step in enumerate(steps):
        yield steps[:index] + steps[index + 1 :]
        for other in OPERATIONS:
            if other != step:
                yield (*steps[:index], other, *steps[index + 1 :])


def _apply(step: Operation, values: Behaviour, k: int) -> Behaviour | None:
    """The step after `values`; None when it is undefined on one of the first `k` (shown) inputs."""
    out: list[str | None] = []
    for position, value in enumerate(values):
        try:
            out.append(None if value is None else step.apply(value))
        except UndefinedError:
            if position < k:
                return None
            out.append(None)
    return tuple(out)


def behaviours(
    inputs: Sequence[str], k: int, depth: int, budget: int
) -> Iterator[tuple[tuple[Operation, ...], Behaviour]]:
    """Programs of at most `depth` steps, shortest first, one per distinct behaviour on `inputs`.

    Only programs defined on the first `k` inputs are kept; two step sequences with the same
    outputs everywhere extend alike, so only the first is extended. Stops after `budget` tries.
    """
    start = tuple(inputs)
    seen: set[Behaviour] = {start}
    level: list[tuple[tuple[Operation, ...], Behaviour]] = [((), start)]
    tried = 0
    for _ in range(depth):
        following = []
        for steps, values in level:
            for step in OPERATIONS:
                if tried >= budget:
                    return
                tried += 1
                new = _apply(step, values, k)
                if new is None or new in seen:
                    continue
                seen.add(new)
                yield (*steps, step), new
                following.append(((*steps, step), new))
        level = following


@dataclass(frozen=True)
class Identification:
    """What the enumeration found beside a program, on its shown and held-out inputs."""

    confusion: Confusion | None  # a program the shown examples cannot tell apart from it
    shorter: tuple[Operation, ...] | None  # fewer steps, the same output on every input checked

    @property
    def identifiable(self) -> bool:
        return self.confusion is None and self.shorter is None


def _first_difference(
    steps: tuple[Operation, ...], got: Behaviour, expected: Behaviour, inputs: Sequence[str]
) -> Confusion | None:
    for text, out, want in zip(inputs, got, expected, strict=True):
        if out != want:
            return Confusion(steps, text, str(want), out)
    return None


def identify(
    program: Program, shown: Sequence[str], held_out: Sequence[str], budget: int = CHECK_BUDGET
) -> Identification:
    """Whether the shown examples single out `program` among the programs of at most its depth.

    Tries the empty program, every program one edit away (a step dropped or replaced), then the
    `behaviours` of every pipeline of `OPERATIONS`, up to `budget` candidates in all. The first
    candidate that fits the shown examples but differs on a held-out input is a confusion; one
    with fewer steps and the same outputs everywhere means the program is not really that deep.
    """
    inputs = (*shown, *held_out)
    target = tuple(program.run(text) for text in inputs)
    k = len(shown)
    neighbours = list(_neighbours(program.steps))
    candidates = itertools.chain(
        [((), inputs)],  # no step at all: a program may undo itself
        ((steps, tuple(run_steps(steps, text) for text in inputs)) for steps in neighbours),
        behaviours(inputs, k, len(program.steps), budget - len(neighbours)),
    )
    for steps, values in candidates:
        if values[:k] != target[:k]:
            continue
        if values == target:
            if len(steps) < len(program.steps):
                return Identification(None, steps)
            continue
        return Identification(_first_difference(steps, values[k:], target[k:], held_out), None)
    return Identification(None, None)


# -- drawing programs -----------------------------------------------------------------------------


def _fits(step: Operation, values: Sequence[str]) -> list[str] | None:
    """The step's outputs when it is defined on every value and changes at least half of them."""
    out = [new for new in (run_steps((step,), value) for value in values) if new is not None]
    if len(out) < len(values):
        return None
    changed = sum(new != old for new, old in zip(out, values, strict=True))
    return out if 2 * changed >= len(values) else None


def _draw_steps(depth: int, sample: Sequence[str], rng: random.Random) -> tuple[Operation, ...] | None:
    """`depth` distinct steps, each of another type than the one before, each fitting the sample."""
    steps: list[Operation] = []
    values = list(sample)
    for _ in range(depth):
        by_type: dict[str, list[tuple[Operation, list[str]]]] = {}
        for step in OPERATIONS:
            if step in steps or (steps and type(step) is type(steps[-1])):
                continue
            out = _fits(step, values)
            if out is not None:
                by_type.setdefault(type(step).__name__, []).append((step, out))
        if not by_type:
            return None
        step, values = rng.choice(by_type[rng.choice(sorted(by_type))])
        steps.append(step)
    return tuple(steps)


def _acceptable(program: Program, sample: Sequence[str], outputs: Sequence[str | None]) -> bool:
    """Clean, varied outputs, and every step matters: without it, enough outputs change."""
    if any(not out or out != out.strip() for out in outputs) or len(set(outputs)) < MIN_DISTINCT:
        return False
    for index in range(len(program.steps)):
        shorter = program.steps[:index] + program.steps[index + 1 :]
        differs = sum(run_steps(shorter, text) != out for text, out in zip(sample, outputs, strict=True))
        if differs < len(sample) * MIN_STEP_EFFECT:
            return False
    return True


@functools.lru_cache(maxsize=512)
def draw_program(depth: int, index: int) -> Program:
    """The hidden program of `strings:depth=D,program=I`: a pure function of its two numbers."""
    if depth not in DEPTHS or index not in PROGRAMS:
        raise ProbeError(f"no program depth={depth}, program={index}; valid: depth 1..4, program 0..999")
    rng = random.Random(f"strings|depth={depth}|program={index}")
    for _ in range(MAX_ATTEMPTS):
        kind = rng.choice(KINDS)
        sample = [INPUTS[kind](rng) for _ in range(SAMPLE_SIZE)]
        steps = _draw_steps(depth, sample, rng)
        if steps is None:
            continue
        program = Program(kind, steps)
        if not _acceptable(program, sample, [run_steps(steps, text) for text in sample]):
            continue
        shown = [INPUTS[kind](rng) for _ in range(SHOWN)]
        held_out = [INPUTS[kind](rng) for _ in range(CHECK_HELD_OUT)]
        texts = [*shown, *held_out]
        if any(run_steps(steps, text) is None for text in texts):
            continue
        if identify(program, shown, held_out).identifiable:
            return program
    raise ProbeError(
        f"found no identifiable program of depth {depth} for seed {index} in {MAX_ATTEMPTS} tries"
    )


# -- the family -----------------------------------------------------------------------------------


def program_of(setting: Setting) -> Program:
    return draw_program(int(setting["depth"]), int(setting["program"]))


def solve(setting: Setting, text: str) -> str:
    program = program_of(setting)
    try:
        return program.run(text)
    except UndefinedError as error:
        raise ValueError(
            f"{setting.spec} takes {KIND_DESCRIPTION[program.kind]}; on {text!r} {error}"
        ) from None


def draw(setting: Setting, rng: random.Random) -> str:
    return INPUTS[program_of(setting).kind](rng)


def accept(setting: Setting, text: str) -> bool:
    """Inputs on which every step is defined and whose output has no outer blanks."""
    out = run_steps(program_of(setting).steps, text)
    return out is not None and out != "" and out == out.strip()


def rule(setting: Setting) -> str:
    program = program_of(setting)
    steps = "; ".join(f"{number}) {step.describe()}" for number, step in enumerate(program.steps, 1))
    count = "this step" if len(program.steps) == 1 else f"these {len(program.steps)} steps, in order"
    return f"Each input is {KIND_DESCRIPTION[program.kind]}. The output is the input after {count}: {steps}."


def normalise(answer: str) -> str:
    """Outer blanks only: case, inner spaces and punctuation all count."""
    return answer.strip()


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["depth"] == 1


FAMILY = ProbeFamily(
    name="strings",
    description="FlashFill-style text edits by hidden programs of 1 to 4 steps (one step familiar).",
    parameters=(
        Parameter("depth", int, DEPTHS, 1, "steps in the hidden program (1: one everyday edit)"),
        Parameter("program", int, PROGRAMS, 0, "the seed that draws the program of that depth"),
    ),
    standard=(
        {"depth": 1, "program": 0},
        {"depth": 2, "program": 0},
        {"depth": 3, "program": 0},
        {"depth": 4, "program": 0},
    ),
    task=(
        "Each input is a short text: a person's name, a date, a product code or an email address; "
        "the output is a short text, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    accept=accept,
    input_label="Input",
    output_label="Output",
)
