"""Where objects stand in a room (Wu et al. 2023): the usual compass directions and counterfactual ones.

The task as Wu et al. pose it: a room description names three objects and the side each stands on
("There is a sink on the west side."); the prompt defines the four directions as vectors (x, y),
e.g. "The north direction is (0, -1)."; the model gives the room's layout as JSON, a position
(x, y) per object. An object is placed right when it lies from the centre (the mean) of all the
placed objects in the direction of its side, as Wu et al.'s scorer (`spatial/eval.py`) judges it:
the coordinate along that direction's non-zero axis is beyond the centre's. A layout is right when
all three objects are.

The worlds are theirs, with their names and vectors (`WORLDS`): `default` (y grows southwards, as
on a map), `hflip` and `vflip` (east-west or north-south swapped), `r90`, `r180`, `r270` (rotated)
and `random` (a fixed shuffle). Former names read as the world with the same vectors: standard ->
default, flip_horizontal -> hflip, flip_vertical -> vflip, rotate90 -> r270 (north to (1, 0)),
rotate180 -> r180, rotate270 -> r90. The comprehension check asks where a walk of one to four unit
steps ("north, east, east") ends in the world.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from probes.base import Case, ComprehensionCheck, PaperFraming, Parameter, ParamValue, ProbeFamily, Setting

Vector = tuple[int, int]

SIDES = ("north", "south", "east", "west")
# Wu et al.'s worlds (their spatial/query.py), side -> vector, in the order their prompt names them.
WORLDS: dict[str, dict[str, Vector]] = {
    "default": {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)},
    "hflip": {"north": (0, -1), "south": (0, 1), "east": (-1, 0), "west": (1, 0)},
    "vflip": {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)},
    "r90": {"north": (-1, 0), "south": (1, 0), "east": (0, -1), "west": (0, 1)},
    "r180": {"north": (0, 1), "south": (0, -1), "east": (-1, 0), "west": (1, 0)},
    "r270": {"north": (1, 0), "south": (-1, 0), "east": (0, 1), "west": (0, -1)},
    "random": {"north": (0, -1), "south": (1, 0), "east": (-1, 0), "west": (0, 1)},
}
FORMER_NAMES: dict[str, ParamValue] = {
    "standard": "default",
    "flip_horizontal": "hflip",
    "flip_vertical": "vflip",
    "rotate90": "r270",
    "rotate180": "r180",
    "rotate270": "r90",
}
DEFAULT_WORLD = "default"
OBJECTS_PER_ROOM = 3
MAX_CHECK_STEPS = 4
ANSWER_FORMAT = 'End the response with the result in "\\boxed{result}".'
# Wu et al.'s answer format, shown in their prompt.
SAMPLE_ROOM = {
    "name": "??",
    "width": 500,
    "height": 500,
    "directions": {"north": "??", "south": "??", "east": "??", "west": "??"},
    "objects": [{"name": "??", "x": "??", "y": "??"}],
}

_ROOM = re.compile(r"you are in the middle of an? ([a-z][a-z -]*)", re.IGNORECASE)
_OBJECT = re.compile(r"there is an? ([a-z][a-z -]*?) on the (north|south|east|west) side", re.IGNORECASE)
_EXAMPLE = (
    "You are in the middle of a kitchen. There is a microwave on the south side. "
    "There is a fridge on the west side. There is a coffee machine on the north side."
)
_JSON_BLOCK = re.compile(r"```json\s*([\s\S]+?)\s*```")


def _load_rooms() -> dict[str, tuple[str, ...]]:
    text = resources.files("probes").joinpath("data/spatial_rooms.json").read_text(encoding="utf-8")
    return {room: tuple(objects) for room, objects in json.loads(text).items()}


ROOMS = _load_rooms()


def direction(world: str, side: str) -> Vector:
    """The vector of the side named `side` in `world`."""
    return WORLDS[world][side]


def format_vector(vector: Vector) -> str:
    return f"({vector[0]}, {vector[1]})"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def describe(room: str, placed: list[tuple[str, str]]) -> str:
    """The room description for (object, side) pairs, in Wu et al.'s wording."""
    sentences = [f"You are in the middle of {_article(room)} {room}."]
    sentences += [f"There is {_article(obj)} {obj} on the {side} side." for obj, side in placed]
    return " ".join(sentences)


def parse(text: str) -> list[tuple[str, str]]:
    """The (object, side) pairs of a room description, in order; objects in lower case."""
    flat = " ".join(text.split())
    if not flat.endswith("."):
        raise ValueError(f"expected a room description ending with '.', such as {_EXAMPLE!r}; got {text!r}")
    first, *rest = (sentence.strip() for sentence in flat[:-1].split("."))
    if not _ROOM.fullmatch(first):
        raise ValueError(f"expected 'You are in the middle of a <room>.' first, got {first!r} in {text!r}")
    placed: list[tuple[str, str]] = []
    for sentence in rest:
        match = _OBJECT.fullmatch(sentence)
        if not match:
            raise ValueError(
                f"expected 'There is a <object> on the <north|south|east|west> side.', "
                f"got {sentence!r} in {text!r}"
            )
        placed.append((match.group(1).lower(), match.group(2).lower()))
    if len(placed) != OBJECTS_PER_ROOM:
        raise ValueError(f"expected {OBJECTS_PER_ROOM} objects, got {len(placed)} in {text!r}")
    objects = [obj for obj, _ in placed]
    sides = [side for _, side in placed]
    if len(set(objects)) != len(objects):
        raise ValueError(f"each object must be named once, got {', '.join(objects)} in {text!r}")
    if len(set(sides)) != len(sides):
        raise ValueError(f"each side may hold one object, got {', '.join(sides)} in {text!r}")
    return placed


def layout(objects: list[tuple[str, float, float]]) -> str:
    """A layout as the outputs write it: `{"objects": [{"name": ..., "x": ..., "y": ...}, ...]}`."""
    return json.dumps(
        {"objects": [{"name": name, "x": _number(x), "y": _number(y)} for name, x, y in objects]}
    )


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def solve(setting: Setting, text: str) -> str:
    """Each object one step from the middle in its side's direction (one right layout of many)."""
    world = str(setting["world"])
    return layout([(obj, *direction(world, side)) for obj, side in parse(text)])


def draw(setting: Setting, rng: random.Random) -> str:
    room = rng.choice(sorted(ROOMS))
    objects = rng.sample(ROOMS[room], OBJECTS_PER_ROOM)
    sides = rng.sample(SIDES, OBJECTS_PER_ROOM)
    return describe(room, list(zip(objects, sides, strict=True)))


def directions_text(setting: Setting) -> str:
    """Wu et al.'s definition of the world, e.g. "The north direction is (0, -1). ..."."""
    world = WORLDS[str(setting["world"])]
    return " ".join(f"The {side} direction is {format_vector(vector)}." for side, vector in world.items())


def deductive_question(setting: Setting, text: str, cot: bool) -> str:
    """Wu et al.'s prompt (their spatial/query.py), word for word."""
    prompt = (
        f"{text.strip()} We define the following directions. {directions_text(setting)} What's the layout "
        "of the room in the following format? You can estimate the size of the objects.\n```json\n"
        f"{json.dumps(SAMPLE_ROOM)}\n```"
    )
    return prompt + "\nLet's think step by step.\n" if cot else prompt


def rule(setting: Setting) -> str:
    return (
        f"We define the following directions. {directions_text(setting)} Each input describes a room with "
        "three objects, each on one side of the room. The output is the room's layout as JSON, "
        '{"objects": [{"name": "<object>", "x": <x>, "y": <y>}, ...]}, naming every object, each placed '
        "from the middle of the objects in the direction of its side."
    )


def _balanced(text: str) -> str | None:
    """Wu et al.'s repair of a JSON string: from the first '{' to the last '}', unclosed brackets
    closed, round brackets read as square ones; None when the brackets do not match."""
    text = text[text.find("{") : text.rfind("}") + 1]
    open_brackets: list[str] = []
    closers = {"{": "}", "[": "]"}
    for char in text:
        if char in closers:
            open_brackets.append(char)
        elif char in "}]":
            if not open_brackets or closers[open_brackets.pop()] != char:
                return None
    text += "".join(closers[bracket] for bracket in open_brackets)
    return text.replace("(", "[").replace(")", "]")


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        repaired = _balanced(text)
        if repaired is None:
            return None
        try:
            return json.loads(repaired)
        except json.JSONDecodeError:
            return None


def read_objects(text: str) -> list[tuple[str, float, float]] | None:
    """(name, x, y) of each object of a layout (names lower case, '_' read as ' '); None if unreadable."""
    data = _load(text)
    objects = data.get("objects") if isinstance(data, dict) else None
    if not isinstance(objects, list) or not objects:
        return None
    try:
        return [(str(o["name"]).lower().replace("_", " "), float(o["x"]), float(o["y"])) for o in objects]
    except (TypeError, KeyError, ValueError):
        return None


def extract(setting: Setting, reply: str) -> str | None:
    """The last ```json block of the reply that holds a readable layout (Wu et al.'s reading), as JSON."""
    for block in reversed(_JSON_BLOCK.findall(reply)):
        objects = read_objects(block.strip().replace("\\n", ""))
        if objects is not None:
            return layout(objects)
    return None


def placed_right(setting: Setting, text: str, answer: str) -> int:
    """How many of the room's objects the layout `answer` places on their side (Wu et al.'s judge)."""
    objects = read_objects(answer)
    if objects is None:
        return 0
    centre_x = sum(x for _, x, _ in objects) / len(objects)
    centre_y = sum(y for _, _, y in objects) / len(objects)
    where = {name: (x, y) for name, x, y in objects}
    right = 0
    for obj, side in parse(text):
        if obj not in where:
            continue
        dx, dy = direction(str(setting["world"]), side)
        x, y = where[obj]
        right += (x - centre_x) * dx > 0 if dx else (y - centre_y) * dy > 0
    return right


def grade(setting: Setting, case: Case, answer: str) -> bool:
    """The full layout: every object on its side."""
    return placed_right(setting, case.input, answer) == OBJECTS_PER_ROOM


def normalise(answer: str) -> str:
    """A readable layout in canonical JSON; other text with single spaces."""
    objects = read_objects(answer)
    return layout(objects) if objects is not None else " ".join(answer.split())


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["world"] == DEFAULT_WORLD


def _check_draw(setting: Setting, rng: random.Random) -> str:
    """A walk of one to four unit steps, e.g. "north, east, east" (340 distinct walks)."""
    return ", ".join(rng.choice(SIDES) for _ in range(rng.randint(1, MAX_CHECK_STEPS)))


def _check_solve(setting: Setting, text: str) -> str:
    """Where the walk ends, starting at (0, 0), in this world's directions."""
    steps = [step.strip().lower() for step in text.split(",")]
    bad = [step for step in steps if step not in SIDES]
    if bad:
        raise ValueError(f"expected directions ({', '.join(SIDES)}) separated by commas, got {text!r}")
    vectors = [direction(str(setting["world"]), step) for step in steps]
    return format_vector((sum(x for x, _ in vectors), sum(y for _, y in vectors)))


def _check_question(setting: Setting, text: str, cot: bool) -> str:
    return (
        f"We define the following directions. {directions_text(setting)}\n\nStart at (0, 0) and take one "
        f"step of length 1 in each of these directions, in this order: {text.strip()}. Where do you end up? "
        f"Write the position as (x, y). {ANSWER_FORMAT}"
    )


def _check_grade(setting: Setting, case: Case, answer: str) -> bool:
    """The position, spaces ignored: "(1,-2)" is "(1, -2)"."""
    return "".join(answer.split()) == "".join(case.output.split())


def _paper_question(setting: Setting, text: str) -> str:
    return (
        "You are asked to lay out a room, the directions of which are unknown, what is the layout of "
        f"this room? {text.strip()}"
    )


def _paper_rule_question(setting: Setting, text: str) -> str:
    return (
        f"{text.strip()} We define the following directions. {directions_text(setting)} What is the "
        "layout of the room?"
    )


def _paper_answer(setting: Setting, text: str, output: str) -> str:
    return f"The layout of the room is {output}"


FAMILY = ProbeFamily(
    name="spatial",
    description=(
        "Room layouts (Wu et al.): place three objects by the side they stand on, under the usual "
        "directions (default) or flipped, rotated or shuffled ones."
    ),
    parameters=(
        Parameter(
            "world",
            str,
            tuple(WORLDS),
            DEFAULT_WORLD,
            "default; hflip/vflip swap east-west/north-south; r90, r180, r270 rotate; random shuffles",
            aliases=FORMER_NAMES,
        ),
    ),
    standard=tuple({"world": world} for world in WORLDS),
    task=(
        "Each input describes a room with three objects, each on a different side of the room; the output "
        'is the room\'s layout as JSON, {"objects": [{"name": "<object>", "x": <x>, "y": <y>}, ...]}, the '
        "positions given by a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(
        draw=_check_draw, solve=_check_solve, question=_check_question, grade=_check_grade
    ),
    deductive_question=deductive_question,
    extract=extract,
    grade=grade,
    paper=PaperFraming(
        question=_paper_question,
        rule_question=_paper_rule_question,
        answer=_paper_answer,
        arguments=("room",),
    ),
    worlds=("world",),
)
