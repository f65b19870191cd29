"""The spatial probe: world matrices, room descriptions, answers as vectors, and the rest of the app."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import run_solver
from lab.tasks.modes import MODES
from lab.tasks.prompts import build_messages
from probes import Case, ProbeError, parse_spec, spatial
from tests.scripted import solver_source

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_ROOMS = ROOT.parent / "shared" / "anchors" / "counterfactual-evaluation" / "spatial" / "3obj.txt"

FAMILY = spatial.FAMILY
WORLDS = ["standard", "flip_vertical", "flip_horizontal", "rotate90", "rotate180", "rotate270"]
SETTINGS = {world: FAMILY.setting(world=world) for world in WORLDS}
FIXED = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
CLOCKWISE = ["north", "east", "south", "west"]
IDENTITY = ((1, 0), (0, 1))
ENTRY = re.compile(r"([a-z][a-z -]*): \((-?\d+), (-?\d+)\)")
KITCHEN = (
    "You are in the middle of a kitchen. There is a microwave on the south side. "
    "There is a fridge on the west side. There is a coffee machine on the north side."
)


def matmul(left, right):
    return tuple(tuple(sum(left[i][k] * right[k][j] for k in range(2)) for j in range(2)) for i in range(2))


def times(vector, matrix):
    """The test's own matrix-vector product (rows of the matrix dotted with the vector)."""
    return tuple(row[0] * vector[0] + row[1] * vector[1] for row in matrix)


def parsed_answer(answer: str) -> list[tuple[str, tuple[int, int]]]:
    entries = answer.split("; ")
    out = []
    for entry in entries:
        match = ENTRY.fullmatch(entry)
        assert match, (entry, answer)
        out.append((match.group(1), (int(match.group(2)), int(match.group(3)))))
    return out


def description(room: str, placed: list[tuple[str, str]]) -> str:
    def article(noun: str) -> str:
        return "an" if noun[0] in "aeiou" else "a"

    return " ".join(
        [f"You are in the middle of {article(room)} {room}."]
        + [f"There is {article(obj)} {obj} on the {side} side." for obj, side in placed]
    )


ROOMS = st.sampled_from(sorted(spatial.ROOMS)).flatmap(
    lambda room: st.tuples(
        st.just(room),
        st.lists(st.sampled_from(spatial.ROOMS[room]), min_size=3, max_size=3, unique=True),
        st.permutations(CLOCKWISE).map(lambda sides: sides[:3]),
    )
)


# --- the worlds as matrices ----------------------------------------------------------------


def test_the_six_worlds_are_the_standard_settings() -> None:
    assert list(spatial.WORLDS) == WORLDS
    assert [s.label for s in FAMILY.standard_settings()] == [f"world={w}" for w in WORLDS]
    assert [s.default_world for s in FAMILY.standard_settings()] == [True] + [False] * 5
    assert FAMILY.default_setting() == SETTINGS["standard"]
    assert spatial.WORLDS["standard"] == IDENTITY
    assert {side: spatial.direction("standard", side) for side in CLOCKWISE} == FIXED


@pytest.mark.parametrize("world", WORLDS)
def test_each_world_maps_the_four_directions_to_four_distinct_unit_vectors(world: str) -> None:
    matrix = spatial.WORLDS[world]
    assert all(isinstance(entry, int) for row in matrix for entry in row)
    vectors = {side: spatial.direction(world, side) for side in CLOCKWISE}
    assert set(vectors.values()) == set(FIXED.values())
    assert all(vectors[side] == times(FIXED[side], matrix) for side in CLOCKWISE)
    for a, b in (("north", "south"), ("east", "west")):
        assert vectors[a] == (-vectors[b][0], -vectors[b][1])


@pytest.mark.parametrize(("first", "then"), [("rotate90", "rotate270"), ("rotate180", "rotate180")])
def test_a_rotation_then_its_inverse_is_the_identity(first: str, then: str) -> None:
    a, b = spatial.WORLDS[first], spatial.WORLDS[then]
    assert matmul(a, b) == IDENTITY and matmul(b, a) == IDENTITY


@pytest.mark.parametrize("world", ["flip_vertical", "flip_horizontal", "standard", "rotate180"])
def test_flips_and_half_turns_are_involutions(world: str) -> None:
    assert matmul(spatial.WORLDS[world], spatial.WORLDS[world]) == IDENTITY


def test_rotations_are_powers_of_a_quarter_turn_and_flips_compose_to_a_half_turn() -> None:
    quarter = spatial.WORLDS["rotate90"]
    power = IDENTITY
    for turns, world in enumerate(["rotate90", "rotate180", "rotate270", "standard"], start=1):
        power = matmul(quarter, power)
        assert power == spatial.WORLDS[world], turns
    flips = matmul(spatial.WORLDS["flip_vertical"], spatial.WORLDS["flip_horizontal"])
    assert flips == spatial.WORLDS["rotate180"]
    assert spatial.WORLDS["flip_vertical"] != spatial.WORLDS["flip_horizontal"]


@pytest.mark.parametrize(("world", "turns"), [("rotate90", 1), ("rotate180", 2), ("rotate270", 3)])
def test_rotations_turn_clockwise_from_north_towards_east(world: str, turns: int) -> None:
    for i, side in enumerate(CLOCKWISE):
        assert spatial.direction(world, side) == FIXED[CLOCKWISE[(i + turns) % 4]]


def test_flips_swap_one_pair_of_opposite_sides() -> None:
    def swapped(world: str) -> set[str]:
        return {side for side in CLOCKWISE if spatial.direction(world, side) != FIXED[side]}

    assert swapped("flip_vertical") == {"north", "south"}
    assert spatial.direction("flip_vertical", "north") == FIXED["south"]
    assert swapped("flip_horizontal") == {"east", "west"}
    assert spatial.direction("flip_horizontal", "east") == FIXED["west"]


# --- solve -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("world", "expected"),
    [
        ("standard", "microwave: (0, 1); fridge: (-1, 0); coffee machine: (0, -1)"),
        ("flip_vertical", "microwave: (0, -1); fridge: (-1, 0); coffee machine: (0, 1)"),
        ("flip_horizontal", "microwave: (0, 1); fridge: (1, 0); coffee machine: (0, -1)"),
        ("rotate90", "microwave: (-1, 0); fridge: (0, -1); coffee machine: (1, 0)"),
        ("rotate180", "microwave: (0, -1); fridge: (1, 0); coffee machine: (0, 1)"),
        ("rotate270", "microwave: (1, 0); fridge: (0, 1); coffee machine: (-1, 0)"),
    ],
)
def test_known_room(world: str, expected: str) -> None:
    assert FAMILY.solve(SETTINGS[world], KITCHEN) == expected
    messy = (
        "  you are in the middle of a KITCHEN.\nThere is a Microwave on the South side.  There is a fridge"
        " on the  west side.There is a Coffee Machine on the NORTH side. "
    )
    assert FAMILY.solve(SETTINGS[world], messy) == expected


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(WORLDS), ROOMS)
def test_solve_lists_the_input_objects_in_order_with_the_world_vectors(world: str, room) -> None:
    name, objects, sides = room
    answer = FAMILY.solve(SETTINGS[world], description(name, list(zip(objects, sides, strict=True))))
    assert FAMILY.normalise(answer) == answer
    pairs = parsed_answer(answer)
    assert [obj for obj, _ in pairs] == objects
    assert [vector for _, vector in pairs] == [times(FIXED[s], spatial.WORLDS[world]) for s in sides]
    if world == "standard":
        assert [vector for _, vector in pairs] == [FIXED[s] for s in sides]


@pytest.mark.parametrize("world", WORLDS[1:])
def test_every_counterfactual_answer_differs_from_the_standard_one(world: str) -> None:
    for case in FAMILY.cases(SETTINGS[world], 60, seed=3):
        assert case.output != FAMILY.solve(SETTINGS["standard"], case.input)


@pytest.mark.skipif(not ANCHOR_ROOMS.exists(), reason="Wu et al.'s items are not on this machine")
def test_wu_et_al_rooms_parse() -> None:
    lines = [line for line in ANCHOR_ROOMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines
    for line in lines:
        pairs = parsed_answer(FAMILY.solve(SETTINGS["standard"], line))
        named = re.findall(r"There is an? (.+?) on the (\w+) side", line)
        assert pairs == [(obj.lower(), FIXED[side]) for obj, side in named]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ending with '.'"),
        ("north", "ending with '.'"),
        ("You are in the middle of a kitchen.", "expected 3 objects, got 0"),
        ("You are in the middle of a kitchen. There is a sink on the north side.", "got 1"),
        (KITCHEN + " There is a toaster on the east side.", "expected 3 objects, got 4"),
        (KITCHEN.replace("west", "north"), "each side may hold one object"),
        (KITCHEN.replace("fridge", "microwave"), "each object must be named once"),
        (KITCHEN.replace("west", "up"), "There is a <object> on the <north|south|east|west> side"),
        (KITCHEN.replace("You are in", "We stand in"), "You are in the middle of a <room>"),
        (KITCHEN.replace("fridge", "fridge!"), "There is a <object>"),
        (KITCHEN[:-1], "ending with '.'"),
    ],
)
def test_bad_input_is_a_clear_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FAMILY.solve(SETTINGS["rotate90"], text)


def test_unknown_world_names_the_valid_worlds() -> None:
    with pytest.raises(ProbeError, match="has no value 'nope'; valid: " + ", ".join(WORLDS)):
        parse_spec("spatial:world=nope")
    with pytest.raises(ProbeError, match="no parameter 'rotation'; valid: world"):
        parse_spec("spatial:rotation=90")
    assert parse_spec("spatial:world=Rotate90") == [SETTINGS["rotate90"]]


# --- normalise -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "microwave: (0, 1); fridge: (-1, 0); coffee machine: (0, -1)",
        "Microwave:(0,1);Fridge:(-1,0);Coffee Machine:(0,-1)",
        "  microwave : ( 0 , 1 ) ;\nfridge: (- 1, 0);  coffee   machine: (0, -1) ",
    ],
)
def test_normalise_forgives_only_spacing_and_case(answer: str) -> None:
    assert FAMILY.normalise(answer) == "microwave: (0, 1); fridge: (-1, 0); coffee machine: (0, -1)"


@pytest.mark.parametrize(
    "answer",
    [
        "microwave: (0, 1); fridge: (-1, 0); coffee machine: (0, 1)",
        "fridge: (-1, 0); microwave: (0, 1); coffee machine: (0, -1)",
        "microwave: (0, 1); fridge: (-1, 0)",
        "microwave: (0, +1); fridge: (-1, 0); coffee machine: (0, -1)",
        "microwave: [0, 1]; fridge: [-1, 0]; coffee machine: [0, -1]",
        "microwave: (0, 1), fridge: (-1, 0), coffee machine: (0, -1)",
        "microwave: (0, 1); fridge: (-1, 0); coffee machine: (0, -1).",
        "microwave: south; fridge: west; coffee machine: north",
    ],
)
def test_normalise_keeps_semantic_differences(answer: str) -> None:
    expected = FAMILY.solve(SETTINGS["standard"], KITCHEN)
    assert FAMILY.normalise(answer) != FAMILY.normalise(expected)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc -1,:;()\n ", max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    once = FAMILY.normalise(text)
    assert FAMILY.normalise(once) == once


# --- draw and cases --------------------------------------------------------------------------


def test_vocabulary() -> None:
    assert len(spatial.ROOMS) >= 8
    for room, objects in spatial.ROOMS.items():
        assert len(objects) >= 6 and len(set(objects)) == len(objects), room
        for name in (room, *objects):
            assert re.fullmatch(r"[a-z]+( [a-z]+)*", name), name


@pytest.mark.parametrize("world", WORLDS)
def test_drawn_rooms_have_three_distinct_objects_on_distinct_sides(world: str) -> None:
    pattern = re.compile(
        r"You are in the middle of (a|an) ([a-z ]+)\."
        + r" There is (a|an) ([a-z ]+) on the (north|south|east|west) side\." * 3
    )
    cases = FAMILY.cases(SETTINGS[world], 80, seed=11)
    rooms = set()
    for case in cases:
        match = pattern.fullmatch(case.input)
        assert match, case.input
        groups = match.groups()
        room, objects, sides = groups[1], groups[3::3], groups[4::3]
        rooms.add(room)
        assert len(set(objects)) == 3 and len(set(sides)) == 3
        assert set(objects) <= set(spatial.ROOMS[room])
        for article, noun in [(groups[0], room), *zip(groups[2::3], objects, strict=True)]:
            assert article == ("an" if noun[0] in "aeiou" else "a"), case.input
        assert [obj for obj, _ in parsed_answer(case.output)] == list(objects)
    assert len(rooms) >= 5


@pytest.mark.parametrize("world", WORLDS)
def test_cases_are_deterministic_and_prefix_stable(world: str) -> None:
    setting = SETTINGS[world]
    cases = FAMILY.cases(setting, 40, seed=7)
    assert FAMILY.cases(setting, 40, seed=7) == cases
    assert FAMILY.cases(setting, 13, seed=7) == cases[:13]
    assert len({case.input for case in cases}) == 40
    assert FAMILY.cases(setting, 40, seed=8) != cases
    assert all(case == Case(case.input, FAMILY.solve(setting, case.input)) for case in cases)


# --- the comprehension check -----------------------------------------------------------------


@pytest.mark.parametrize("world", WORLDS)
def test_the_check_asks_where_a_walk_ends(world: str) -> None:
    setting = SETTINGS[world]
    check = FAMILY.comprehension
    assert check is not None and check.extract is None
    cases = FAMILY.check_cases(setting, 100, seed=1)
    assert FAMILY.check_cases(setting, 40, seed=1) == cases[:40]
    for case in cases:
        steps = case.input.split(", ")
        assert 1 <= len(steps) <= 4 and set(steps) <= set(CLOCKWISE)
        moved = [times(FIXED[step], spatial.WORLDS[world]) for step in steps]
        assert case.output == f"({sum(x for x, _ in moved)}, {sum(y for _, y in moved)})"
        assert FAMILY.normalise(case.output) == case.output
    question = check.question(setting, cases[0].input)
    assert FAMILY.rule(setting).split(" Each input")[0] in question
    assert f"in this order: {cases[0].input}." in question
    assert question.endswith('as (x, y). End the response with the result in "\\boxed{result}".')
    for side in CLOCKWISE:
        x, y = times(FIXED[side], spatial.WORLDS[world])
        assert check.solve(setting, side) == f"({x}, {y})"
        assert check.solve(setting, f"{side}, {side}") == f"({2 * x}, {2 * y})"
    assert check.solve(setting, "North , SOUTH,east,west") == "(0, 0)"
    assert len(FAMILY.check_cases(setting, 340, seed=1)) == 340
    for bad in ("up", "", "north east", "north,,east"):
        with pytest.raises(ValueError, match="expected directions"):
            check.solve(setting, bad)


# --- the rest of the app ---------------------------------------------------------------------


@pytest.mark.parametrize("world", WORLDS)
def test_rule_gives_all_four_vectors_and_the_answer_form(world: str) -> None:
    text = FAMILY.rule(SETTINGS[world])
    vectors = ", ".join(
        f"{side} is ({x}, {y})"
        for side in ("north", "south", "east", "west")
        for x, y in [times(FIXED[side], spatial.WORLDS[world])]
    )
    assert vectors in text
    assert "'object: (x, y)'" in text and "'; '" in text
    if world in ("rotate90", "rotate270"):
        assert f"rotated {world[6:]} degrees clockwise" in text


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("world", ["standard", "rotate90", "flip_horizontal"])
def test_prompts_for_every_mode(mode: str, world: str) -> None:
    spec = MODES[mode]
    setting = SETTINGS[world]
    if getattr(spec, "checks_comprehension", False):
        [check] = FAMILY.check_cases(setting, 1, seed=2)
        [message] = build_messages(setting, mode, [], check.input)
        assert message["content"] == FAMILY.comprehension.question(setting, check.input)
        return
    if mode not in {"deductive", "io_rule", "io", "solverlearner", "deductive_code"}:
        pytest.skip(f"mode {mode} asks something this test does not know how to check")
    examples, [query] = FAMILY.cases(setting, 4, seed=2)[:3], FAMILY.cases(setting, 4, seed=2)[3:]
    [message] = build_messages(setting, mode, examples if spec.shows_examples else [], query.input)
    content = message["content"]
    assert FAMILY.task in content
    assert (FAMILY.rule(setting) in content) == spec.states_rule
    if not spec.states_rule:
        assert "usually" not in content and "north is" not in content
    assert all((case.output in content) == spec.shows_examples for case in examples)
    assert ("def solver" in content) == spec.returns_code
    assert (query.input in content) == (not spec.returns_code)
    assert query.output not in content


def test_cli_prints_cases_for_every_world() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab", "cases", "--probe", "spatial", "--n", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["setting"] for r in records] == [f"spatial:world={w}" for w in WORLDS for _ in range(3)]
    for record in records:
        [setting] = parse_spec(record["setting"])
        assert FAMILY.solve(setting, record["input"]) == record["output"]


def test_the_scripted_solver_solves_every_world_in_the_sandbox() -> None:
    for world in WORLDS:
        setting = SETTINGS[world]
        cases = FAMILY.cases(setting, 20, seed=5)
        report = run_solver(solver_source(setting), [case.input for case in cases])
        assert report.verdict is None, (world, report.detail)
        assert [r.output for r in report.results] == [case.output for case in cases], world
