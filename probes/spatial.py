"""Where objects stand in a room: the usual compass directions and counterfactual ones.

Coordinates: (x, y) with x growing eastwards and y growing southwards in the usual world (y points
down, as on a map drawn with north at the top). The usual (`standard`) vectors are north (0, -1),
south (0, 1), east (1, 0) and west (-1, 0).

Each world is a 2x2 integer matrix M, rows ((a, b), (c, d)), applied to the usual vectors: in that
world the side named d lies at M @ usual(d) = (a*x + b*y, c*x + d*y).

- `standard`: the identity.
- `flip_vertical`: the vertical axis flipped; north and south swap, east and west stay.
- `flip_horizontal`: the horizontal axis flipped; east and west swap, north and south stay.
- `rotate90`, `rotate180`, `rotate270`: every direction turned 90, 180 or 270 degrees *clockwise*
  on that map, i.e. from north towards east. rotate90 sends north to (1, 0) (where east usually
  is), east to (0, 1), south to (-1, 0) and west to (0, -1); its matrix is ((0, -1), (1, 0)).
  rotate270 is 90 degrees counter-clockwise: north to (-1, 0), east to (0, -1).

A room has three objects on three distinct sides, so it always has an object on a north-south
side and one on an east-west side: every counterfactual world changes at least one vector.
The comprehension check asks where a walk of one to four unit steps ("north, east, east") ends.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from importlib import resources

from probes.base import ComprehensionCheck, Parameter, ParamValue, ProbeFamily, Setting

Vector = tuple[int, int]
Matrix = tuple[tuple[int, int], tuple[int, int]]

SIDES = ("north", "south", "east", "west")
USUAL: dict[str, Vector] = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
WORLDS: dict[str, Matrix] = {
    "standard": ((1, 0), (0, 1)),
    "flip_vertical": ((1, 0), (0, -1)),
    "flip_horizontal": ((-1, 0), (0, 1)),
    "rotate90": ((0, -1), (1, 0)),
    "rotate180": ((-1, 0), (0, -1)),
    "rotate270": ((0, 1), (-1, 0)),
}
DEFAULT_WORLD = "standard"
OBJECTS_PER_ROOM = 3
MAX_CHECK_STEPS = 4
ANSWER_FORMAT = 'End the response with the result in "\\boxed{result}".'

_WORLD_CHANGES = {
    "flip_vertical": "the vertical axis is flipped (north and south swap places, east and west stay)",
    "flip_horizontal": "the horizontal axis is flipped (east and west swap places, north and south stay)",
    "rotate90": "every direction is rotated 90 degrees clockwise (from north towards east)",
    "rotate180": "every direction is rotated 180 degrees",
    "rotate270": "every direction is rotated 270 degrees clockwise (90 degrees counter-clockwise)",
}
_ROOM = re.compile(r"you are in the middle of an? ([a-z][a-z -]*)", re.IGNORECASE)
_OBJECT = re.compile(r"there is an? ([a-z][a-z -]*?) on the (north|south|east|west) side", re.IGNORECASE)
_EXAMPLE = (
    "You are in the middle of a kitchen. There is a microwave on the south side. "
    "There is a fridge on the west side. There is a coffee machine on the north side."
)
_AROUND_PUNCTUATION = re.compile(r"\s*([(),:;])\s*")
_SPACED_MINUS = re.compile(r"-\s+(?=\d)")


def _load_rooms() -> dict[str, tuple[str, ...]]:
    text = resources.files("probes").joinpath("data/spatial_rooms.json").read_text(encoding="utf-8")
    return {room: tuple(objects) for room, objects in json.loads(text).items()}


ROOMS = _load_rooms()


def apply(matrix: Matrix, vector: Vector) -> Vector:
    (a, b), (c, d) = matrix
    x, y = vector
    return (a * x + b * y, c * x + d * y)


def direction(world: str, side: str) -> Vector:
    """The unit vector of the side named `side` in `world`."""
    return apply(WORLDS[world], USUAL[side])


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


def solve(setting: Setting, text: str) -> str:
    world = str(setting["world"])
    return "; ".join(f"{obj}: {format_vector(direction(world, side))}" for obj, side in parse(text))


def draw(setting: Setting, rng: random.Random) -> str:
    room = rng.choice(sorted(ROOMS))
    objects = rng.sample(ROOMS[room], OBJECTS_PER_ROOM)
    sides = rng.sample(SIDES, OBJECTS_PER_ROOM)
    return describe(room, list(zip(objects, sides, strict=True)))


def _usual_name(vector: Vector) -> str:
    return next(side for side in SIDES if USUAL[side] == vector)


def _world_text(setting: Setting) -> str:
    """The world's directions in plain English, with all four vectors."""
    world = str(setting["world"])
    vectors = ", ".join(f"{side} is {format_vector(direction(world, side))}" for side in SIDES)
    usual = ", ".join(f"{side} is {format_vector(USUAL[side])}" for side in SIDES)
    frame = (
        "Directions are unit vectors (x, y); in the usual world x grows eastwards and y grows "
        f"southwards, so {usual}."
    )
    if world == DEFAULT_WORLD:
        return f"{frame} This world uses these usual directions."
    moved = ", ".join(f"{side} is where {_usual_name(direction(world, side))} usually is" for side in SIDES)
    return f"{frame} In this world {_WORLD_CHANGES[world]}: {moved}. So in this world {vectors}."


def rule(setting: Setting) -> str:
    return (
        f"{_world_text(setting)} Each input describes a room with three objects, each on one side of the "
        "room. The output lists the objects in the order the input names them, each as 'object: (x, y)' "
        "with the vector of its side in this world, the entries joined by '; ' "
        "(e.g. 'lamp: (x1, y1); desk: (x2, y2); sofa: (x3, y3)')."
    )


def normalise(answer: str) -> str:
    """Lower case and canonical spacing ('a: (0, -1); b: (1, 0)'); nothing else is forgiven."""
    text = _AROUND_PUNCTUATION.sub(r"\1", " ".join(answer.lower().split()))
    text = _SPACED_MINUS.sub("-", text)
    return text.replace(",", ", ").replace(":", ": ").replace(";", "; ")


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["world"] == DEFAULT_WORLD


def _check_draw(setting: Setting, rng: random.Random) -> str:
    """A walk of one to four unit steps, e.g. "north, east, east" (340 distinct walks)."""
    return ", ".join(rng.choice(SIDES) for _ in range(rng.randint(1, MAX_CHECK_STEPS)))


def _check_solve(setting: Setting, text: str) -> str:
    """Where the walk ends, starting at (0, 0), in this world's directions."""
    steps = [step.strip().lower() for step in text.split(",")]
    bad = [step for step in steps if step not in USUAL]
    if bad:
        raise ValueError(f"expected directions ({', '.join(SIDES)}) separated by commas, got {text!r}")
    vectors = [direction(str(setting["world"]), step) for step in steps]
    return format_vector((sum(x for x, _ in vectors), sum(y for _, y in vectors)))


def _check_question(setting: Setting, text: str) -> str:
    return (
        f"{_world_text(setting)}\n\nIn this world, start at (0, 0) and take one step of length 1 in each "
        f"of these directions, in this order: {text.strip()}. Where do you end up? Write the position as "
        f"(x, y). {ANSWER_FORMAT}"
    )


FAMILY = ProbeFamily(
    name="spatial",
    description="Sides of objects in a room as unit vectors (usual compass familiar; flipped, rotated).",
    parameters=(
        Parameter(
            "world",
            str,
            tuple(WORLDS),
            DEFAULT_WORLD,
            "standard; flip_vertical/flip_horizontal swap N-S/E-W; rotateN turns N degrees clockwise",
        ),
    ),
    standard=tuple({"world": world} for world in WORLDS),
    task=(
        "Each input describes a room with three objects, each on a different side of the room; the output "
        "lists the objects in the order the input names them, each as 'object: (x, y)' where (x, y) is a "
        "unit vector (x and y are -1, 0 or 1) given by a hidden rule, the entries joined by '; '."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(draw=_check_draw, solve=_check_solve, question=_check_question),
)
