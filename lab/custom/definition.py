"""A custom probe as data: its JSON form, its input generators, and the checks on what a user wrote.

Nothing here runs user code; `lab.custom.probes` compiles a definition in the sandbox.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from probes import BUILT_IN, WORDS

FORMAT_KEY = "solverlab_custom_probe"
FORMAT_VERSION = 1
WORLDS = ("familiar", "counterfactual")
GENERATOR_KINDS = ("choices", "integers", "words", "python")

POOL_SEEDS = 400  # inputs drawn, one per seed 0..POOL_SEEDS-1
POOL_SIZE = 300  # distinct inputs kept, in the order first drawn
MIN_POOL = 12  # the quick study's 4 held-out cases + 8 examples
PREVIEW_CASES = 5
MAX_CODE_CHARS = 20_000
MAX_TEXT_CHARS = 300  # one input or output
MAX_DESCRIPTION_CHARS = 1_000
MAX_RULE_CHARS = 4_000
MAX_CHOICES = 1_000
MAX_FILE_CHARS = 200_000
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")

MAPPING_TEMPLATE = 'def mapping(x: str) -> str:\n    return " ".join(word[::-1] for word in x.split())\n'
GENERATOR_TEMPLATE = (
    "def generate(rng) -> str:\n"
    "    # rng: random(), randint(a, b), randrange(...), choice(seq), sample(seq, k), shuffle(list)\n"
    '    return str(rng.randint(0, 99)) + "," + str(rng.randint(0, 99))\n'
)


class CustomProbeError(ValueError):
    """A custom probe that cannot be read, compiled or saved; the message says which part and why."""


# ---------------------------------------------------------------------------------------------
# Definitions


@dataclass(frozen=True)
class ChoiceInputs:
    """Each input is one of the listed strings."""

    choices: tuple[str, ...]
    kind: ClassVar[str] = "choices"

    def draw(self, rng: random.Random) -> str:
        return rng.choice(self.choices)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "choices": list(self.choices)}


@dataclass(frozen=True)
class IntegerInputs:
    """Each input is `count` whole numbers from low..high, joined by `separator`."""

    low: int
    high: int
    count: int = 1
    separator: str = " "
    kind: ClassVar[str] = "integers"

    def draw(self, rng: random.Random) -> str:
        return self.separator.join(str(rng.randint(self.low, self.high)) for _ in range(self.count))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "separator": self.separator,
        }


@dataclass(frozen=True)
class WordInputs:
    """Each input is min_words..max_words random English words (the cipher family's word list)."""

    min_words: int = 1
    max_words: int = 1
    separator: str = " "
    kind: ClassVar[str] = "words"

    def draw(self, rng: random.Random) -> str:
        count = rng.randint(self.min_words, self.max_words)
        return self.separator.join(rng.choice(WORDS) for _ in range(count))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "min_words": self.min_words,
            "max_words": self.max_words,
            "separator": self.separator,
        }


@dataclass(frozen=True)
class PythonInputs:
    """Each input is `generate(rng)` from user code, run in the sandbox with a seeded `SandboxRandom`."""

    source: str
    kind: ClassVar[str] = "python"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source}


InputGenerator = ChoiceInputs | IntegerInputs | WordInputs | PythonInputs


@dataclass(frozen=True)
class CustomProbe:
    """A user's probe: one world (tagged familiar or counterfactual) of a hidden mapping.

    `description` says what the inputs and outputs are without naming the rule: every prompt
    starts with it, the inductive ones included. `rule` is stated by the deductive modes.
    """

    name: str
    description: str
    rule: str
    world: str
    mapping: str  # Python source defining `def mapping(x: str) -> str`
    generator: InputGenerator

    @property
    def spec(self) -> str:
        return f"{self.name}:world={self.world}"

    def to_dict(self) -> dict[str, Any]:
        return {
            FORMAT_KEY: FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "rule": self.rule,
            "world": self.world,
            "mapping": self.mapping,
            "generator": self.generator.to_dict(),
        }


def to_json(probe: CustomProbe) -> str:
    return json.dumps(probe.to_dict(), indent=2, ensure_ascii=False) + "\n"


def from_json(text: str | bytes) -> CustomProbe:
    if len(text) > MAX_FILE_CHARS:
        raise CustomProbeError(
            f"the file has {len(text):,} characters; a custom probe has at most {MAX_FILE_CHARS:,}"
        )
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CustomProbeError(f"not a JSON file: {exc}") from None
    return probe_from_dict(data)


def probe_from_dict(data: Any) -> CustomProbe:
    """Read and check a definition (the JSON format); every message names the field at fault."""
    if not isinstance(data, dict):
        raise CustomProbeError("a custom probe is a JSON object")
    if FORMAT_KEY not in data:
        raise CustomProbeError(f"not a SolverLab custom probe: the field {FORMAT_KEY!r} is missing")
    if data[FORMAT_KEY] != FORMAT_VERSION:
        raise CustomProbeError(
            f"{FORMAT_KEY}: version {data[FORMAT_KEY]!r} is not supported; this SolverLab reads version "
            f"{FORMAT_VERSION}"
        )
    _only(data, (FORMAT_KEY, "name", "description", "rule", "world", "mapping", "generator"), "")
    name = _text(data, "name", 32).strip().lower()
    if not NAME_PATTERN.fullmatch(name):
        raise CustomProbeError(
            f"name: {name!r} is not a valid name: use lower-case letters, digits and _, starting with a "
            "letter, at most 32 characters"
        )
    if name in BUILT_IN:
        raise CustomProbeError(f"name: {name!r} is a built-in probe family; choose another name")
    world = _text(data, "world", 20).strip().lower()
    if world not in WORLDS:
        raise CustomProbeError(f"world: must be {' or '.join(WORLDS)}, got {world!r}")
    return CustomProbe(
        name=name,
        description=_text(data, "description", MAX_DESCRIPTION_CHARS).strip(),
        rule=_text(data, "rule", MAX_RULE_CHARS).strip(),
        world=world,
        mapping=_text(data, "mapping", MAX_CODE_CHARS),
        generator=_generator_from_dict(data.get("generator")),
    )


def _generator_from_dict(data: Any) -> InputGenerator:
    where = "generator."
    if not isinstance(data, dict):
        raise CustomProbeError("generator: missing, or not an object with a 'kind'")
    kind = data.get("kind")
    if kind == "choices":
        _only(data, ("kind", "choices"), where)
        raw = data.get("choices")
        if not isinstance(raw, list) or not raw:
            raise CustomProbeError("generator.choices: give a non-empty list of strings")
        if len(raw) > MAX_CHOICES:
            raise CustomProbeError(f"generator.choices: at most {MAX_CHOICES} choices, got {len(raw)}")
        for index, choice in enumerate(raw):
            if not isinstance(choice, str):
                raise CustomProbeError(f"generator.choices[{index}]: must be a string, got {choice!r}")
            problem = text_problem(choice)
            if problem:
                raise CustomProbeError(f"generator.choices[{index}]: {choice!r} {problem}")
        return ChoiceInputs(tuple(raw))
    if kind == "integers":
        _only(data, ("kind", "low", "high", "count", "separator"), where)
        low = _int(data, "low", where, -(10**12), 10**12)
        high = _int(data, "high", where, -(10**12), 10**12)
        if low > high:
            raise CustomProbeError(f"generator.high: must be at least low ({low}), got {high}")
        count = _int(data, "count", where, 1, 20, default=1)
        separator = _separator(data, where)
        return IntegerInputs(low, high, count, separator)
    if kind == "words":
        _only(data, ("kind", "min_words", "max_words", "separator"), where)
        least = _int(data, "min_words", where, 1, 10, default=1)
        most = _int(data, "max_words", where, 1, 10, default=least)
        if least > most:
            raise CustomProbeError(f"generator.max_words: must be at least min_words ({least}), got {most}")
        return WordInputs(least, most, _separator(data, where))
    if kind == "python":
        _only(data, ("kind", "source"), where)
        return PythonInputs(_text(data, "source", MAX_CODE_CHARS, where))
    raise CustomProbeError(f"generator.kind: must be one of {', '.join(GENERATOR_KINDS)}, got {kind!r}")


def _only(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise CustomProbeError(f"{where}{unknown[0]}: unknown field; valid: {', '.join(known)}")


def _text(data: Mapping[str, Any], key: str, limit: int, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CustomProbeError(f"{where}{key}: required, as non-empty text")
    if len(value) > limit:
        raise CustomProbeError(f"{where}{key}: at most {limit:,} characters, got {len(value):,}")
    return value


def _int(
    data: Mapping[str, Any], key: str, where: str, low: int, high: int, default: int | None = None
) -> int:
    value = data.get(key, default)
    if value is None:
        raise CustomProbeError(f"{where}{key}: required, a whole number")
    if isinstance(value, bool) or not isinstance(value, int):
        raise CustomProbeError(f"{where}{key}: must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise CustomProbeError(f"{where}{key}: must be between {low} and {high}, got {value}")
    return value


def _separator(data: Mapping[str, Any], where: str) -> str:
    value = data.get("separator", " ")
    if not isinstance(value, str) or len(value) > 5 or "\n" in value or "\r" in value:
        raise CustomProbeError(f"{where}separator: at most 5 characters on one line, got {value!r}")
    return value


def text_problem(text: str) -> str | None:
    """What makes a string unusable as an input or output (prompts show one per line), if anything."""
    if not text.strip():
        return "is empty"
    if "\n" in text or "\r" in text:
        return "spans several lines; inputs and outputs are one line each"
    if len(text) > MAX_TEXT_CHARS:
        return f"has {len(text)} characters; at most {MAX_TEXT_CHARS}"
    return None


# ---------------------------------------------------------------------------------------------
# The sandbox edge: the sources the executor runs, and compiling a probe into a pool of cases

# Appended to the user's mapping (so line numbers in messages are the user's own). Without a
# callable `mapping`, `solver` stays None and the executor reports "no solver".
