"""The spatial probe as Wu et al. pose it: their worlds, their prompt, JSON layouts judged by the centroid."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import run_solver
from lab.tasks.modes import MODES, Reply
from lab.tasks.prompts import build_messages
from probes import Case, ProbeError, parse_spec, spatial
from tests.conftest import ANCHORS
from tests.wu_solvers import spatial_solver_source

FAMILY = spatial.FAMILY
WORLDS = ["default", "hflip", "vflip", "r90", "r180", "r270", "random"]
SETTINGS = {world: FAMILY.setting(world=world) for world in WORLDS}
USUAL = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
SIDES = list(USUAL)
KITCHEN = (
    "You are in the middle of a kitchen. There is a microwave on the south side. "
    "There is a fridge on the west side. There is a coffee machine on the north side."
)
ANCHOR_ROOMS = ANCHORS / "counterfactual-evaluation" / "spatial" / "3obj.txt"


def rotate_clockwise(vector: tuple[int, int], quarter_turns: int) -> tuple[int, int]:
    """The test's own turn on a map with y pointing down: north (0, -1) -> east (1, 0)."""
    x, y = vector
    for _ in range(quarter_turns % 4):
        x, y = -y, x
    return (x, y)


def layout_of(placed: dict[str, tuple[float, float]]) -> str:
    return json.dumps({"objects": [{"name": name, "x": x, "y": y} for name, (x, y) in placed.items()]})


ROOMS = st.sampled_from(sorted(spatial.ROOMS)).flatmap(
    lambda room: st.tuples(
        st.just(room),
        st.lists(st.sampled_from(spatial.ROOMS[room]), min_size=3, max_size=3, unique=True),
        st.permutations(SIDES).map(lambda sides: sides[:3]),
    )
)


# --- the worlds --------------------------------------------------------------------------------


def test_wu_et_al_s_seven_worlds_are_the_standard_settings() -> None:
    assert list(spatial.WORLDS) == WORLDS
    assert [s.label for s in FAMILY.standard_settings()] == [f"world={w}" for w in WORLDS]
    assert [s.default_world for s in FAMILY.standard_settings()] == [True] + [False] * 6
    assert spatial.WORLDS["default"] == USUAL


@pytest.mark.parametrize(("world", "turns"), [("r90", -1), ("r180", 2), ("r270", 1)])
def test_rotations_turn_every_side(world: str, turns: int) -> None:
    # Wu et al.'s r90 sends north to (-1, 0): a quarter turn counter-clockwise on the map.
    assert {side: rotate_clockwise(USUAL[side], turns) for side in SIDES} == spatial.WORLDS[world]


def test_flips_and_the_random_world() -> None:
    assert spatial.WORLDS["hflip"] == USUAL | {"east": USUAL["west"], "west": USUAL["east"]}
    assert spatial.WORLDS["vflip"] == USUAL | {"north": USUAL["south"], "south": USUAL["north"]}
    random_world = spatial.WORLDS["random"]
    assert set(random_world.values()) == set(USUAL.values())
    assert random_world["north"] == USUAL["north"] and random_world["south"] != USUAL["south"]


@pytest.mark.parametrize(
    ("former", "world"),
    [
        ("standard", "default"),
        ("flip_horizontal", "hflip"),
        ("flip_vertical", "vflip"),
        ("rotate90", "r270"),
        ("rotate180", "r180"),
        ("rotate270", "r90"),
    ],
)
def test_former_world_names_read_as_the_world_with_their_vectors(former: str, world: str) -> None:
    # The former worlds turned clockwise: rotate90 sent north to (1, 0), which is Wu et al.'s r270.
    turns = {"rotate90": 1, "rotate180": 2, "rotate270": 3}
    if former in turns:
        assert {s: rotate_clockwise(USUAL[s], turns[former]) for s in SIDES} == spatial.WORLDS[world]
    assert parse_spec(f"spatial:world={former}") == [SETTINGS[world]]
    assert parse_spec(f"spatial:world={former.upper()}")[0].label == f"world={world}"


def test_unknown_world_names_the_valid_worlds() -> None:
    with pytest.raises(ProbeError, match="has no value 'nope'; valid: " + ", ".join(WORLDS)):
        parse_spec("spatial:world=nope")


# --- Wu et al.'s prompt ------------------------------------------------------------------------


def test_the_deductive_prompt_is_wu_et_al_s_template() -> None:
    # ../shared/anchors/README.md quotes it for the first room in the default world.
    room = (
        "You are in the middle of a laundry room. There is a dryer on the east side. There is a sink on "
        "the west side. There is a washing machine on the south side."
    )
    expected = (
        f"{room} We define the following directions. The north direction is (0, -1). The south direction "
        "is (0, 1). The east direction is (1, 0). The west direction is (-1, 0). What's the layout of the "
        "room in the following format? You can estimate the size of the objects.\n```json\n"
        '{"name": "??", "width": 500, "height": 500, "directions": {"north": "??", "south": "??", '
        '"east": "??", "west": "??"}, "objects": [{"name": "??", "x": "??", "y": "??"}]}\n```'
    )
    assert build_messages(SETTINGS["default"], "deductive", query=room) == [
        {"role": "user", "content": expected}
    ]
    with_cot = build_messages(SETTINGS["default"], "deductive", query=room, cot=True)[0]["content"]
    assert with_cot == expected + "\nLet's think step by step.\n"
    random_prompt = build_messages(SETTINGS["random"], "deductive", query=room)[0]["content"]
    assert "The south direction is (1, 0). The east direction is (-1, 0). The west direction is (0, 1)." in (
        random_prompt
    )


# --- answers: layouts judged as Wu et al. judge them -------------------------------------------


def test_solve_places_each_object_one_step_towards_its_side() -> None:
    answer = FAMILY.solve(SETTINGS["r90"], KITCHEN)
    assert json.loads(answer) == {
        "objects": [
            {"name": "microwave", "x": 1, "y": 0},
            {"name": "fridge", "x": 0, "y": 1},
            {"name": "coffee machine", "x": -1, "y": 0},
        ]
    }
    assert FAMILY.normalise(answer) == answer


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(WORLDS), ROOMS)
def test_the_reference_layout_is_right_and_the_usual_one_is_wrong_elsewhere(world: str, room) -> None:
    name, objects, sides = room
    text = spatial.describe(name, list(zip(objects, sides, strict=True)))
    case = Case(text, FAMILY.solve(SETTINGS[world], text))
    assert FAMILY.is_correct(SETTINGS[world], case, case.output)
    usual = FAMILY.solve(SETTINGS["default"], text)
    moved = any(spatial.WORLDS[world][side] != USUAL[side] for side in sides)
    assert FAMILY.is_correct(SETTINGS[world], case, usual) == (not moved)


def test_objects_are_judged_against_the_centre_of_the_placed_objects() -> None:
    setting = SETTINGS["default"]
    case = Case(KITCHEN, FAMILY.solve(setting, KITCHEN))
    # microwave south (y below the centre), fridge west (x left), coffee machine north (y above).
    right = {"microwave": (250, 400), "fridge": (100, 250), "coffee machine": (250, 50)}
    assert spatial.placed_right(setting, KITCHEN, layout_of(right)) == 3
    assert FAMILY.is_correct(setting, case, layout_of(right))
    wrong_fridge = right | {"fridge": (400, 250)}
    assert spatial.placed_right(setting, KITCHEN, layout_of(wrong_fridge)) == 2
    assert not FAMILY.is_correct(setting, case, layout_of(wrong_fridge))
    missing = {k: v for k, v in right.items() if k != "fridge"}
    assert spatial.placed_right(setting, KITCHEN, layout_of(missing)) == 2
    assert spatial.placed_right(setting, KITCHEN, "not a layout") == 0
    # Names are read in lower case with '_' as a space; numbers may be strings.
    loose = '{"objects": [{"name": "Coffee_Machine", "x": "250", "y": "50"}, ' + layout_of(right)[13:]
    assert spatial.placed_right(setting, KITCHEN, loose) == 3


def test_extract_reads_the_last_json_block_that_holds_a_layout() -> None:
    good = '{"name": "kitchen", "objects": [{"name": "sink", "x": 1, "y": 2}]}'
    reply = f'First:\n```json\n{good}\n```\nThen:\n```json\n{{"objects": "none"}}\n```\nDone.'
    assert spatial.extract(SETTINGS["default"], reply) == '{"objects": [{"name": "sink", "x": 1, "y": 2}]}'
    # Wu et al.'s repair: round brackets read as square ones, text around the outer braces dropped.
    tuples = (
        '```json\nlayout: {"directions": {"north": (0, -1)}, '
        '"objects": [{"name": "sink", "x": 1, "y": 2}]}\n```'
    )
    assert spatial.extract(SETTINGS["default"], tuples) == '{"objects": [{"name": "sink", "x": 1, "y": 2}]}'
    assert spatial.extract(SETTINGS["default"], "no block here") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ending with '.'"),
        ("You are in the middle of a kitchen.", "expected 3 objects, got 0"),
        (KITCHEN.replace("west", "north"), "each side may hold one object"),
        (KITCHEN.replace("fridge", "microwave"), "each object must be named once"),
        (KITCHEN.replace("west", "up"), "There is a <object> on the <north|south|east|west> side"),
    ],
)
def test_bad_input_is_a_clear_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FAMILY.solve(SETTINGS["r90"], text)


@pytest.mark.skipif(not ANCHOR_ROOMS.exists(), reason="../shared/anchors is not beside the checkout")
def test_wu_et_al_rooms_parse() -> None:
    lines = [line.strip() for line in ANCHOR_ROOMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == 100
    for line in lines:
        named = re.findall(r"There is an? (.+?) on the (\w+) side", line)
        assert spatial.parse(line) == [(obj.lower(), side) for obj, side in named]


# --- cases, the check, the sandbox --------------------------------------------------------------


@pytest.mark.parametrize("world", WORLDS)
def test_cases_are_deterministic_and_solved(world: str) -> None:
    setting = SETTINGS[world]
    cases = FAMILY.cases(setting, 40, seed=7)
    assert FAMILY.cases(setting, 13, seed=7) == cases[:13]
    assert len({case.input for case in cases}) == 40
    assert all(case == Case(case.input, FAMILY.solve(setting, case.input)) for case in cases)


@pytest.mark.parametrize("world", WORLDS)
def test_the_check_asks_where_a_walk_ends_in_the_world(world: str) -> None:
    setting = SETTINGS[world]
    check = FAMILY.comprehension
    assert check is not None
    for case in FAMILY.check_cases(setting, 60, seed=1):
        steps = case.input.split(", ")
        moved = [spatial.WORLDS[world][step] for step in steps]
        assert case.output == f"({sum(x for x, _ in moved)}, {sum(y for _, y in moved)})"
    question = check.question(setting, "north, east", False)
    assert spatial.directions_text(setting) in question and "in this order: north, east." in question
    x, y = spatial.WORLDS[world]["north"]
    case = Case("north", f"({x}, {y})")
    ccc = MODES["ccc"]
    assert ccc.score(Reply(FAMILY, setting, case, f"So \\boxed{{({x},{y})}}")).correct
    assert not ccc.score(Reply(FAMILY, setting, case, f"So \\boxed{{({x + 1}, {y})}}")).correct


@pytest.mark.parametrize("mode", ["deductive", "io_rule", "io", "solverlearner", "deductive_code"])
def test_blind_prompts_state_the_world_only_where_the_mode_does(mode: str) -> None:
    spec = MODES[mode]
    setting = SETTINGS["r90"]
    examples, [query] = FAMILY.cases(setting, 4, seed=2)[:3], FAMILY.cases(setting, 4, seed=2)[3:]
    [message] = build_messages(setting, mode, examples if spec.shows_examples else [], query.input)
    content = message["content"]
    assert ("The north direction is (-1, 0)." in content) == spec.states_rule
    assert all((case.output in content) == spec.shows_examples for case in examples)
    assert ("def solver" in content) == spec.returns_code
    assert query.output not in content


def test_a_correct_solver_is_right_in_every_world_in_the_sandbox() -> None:
    for world in WORLDS:
        setting = SETTINGS[world]
        cases = FAMILY.cases(setting, 15, seed=5)
        report = run_solver(spatial_solver_source(setting), [case.input for case in cases])
        assert report.verdict is None, (world, report.detail)
        outputs = [result.output for result in report.results]
        assert all(FAMILY.is_correct(setting, c, o) for c, o in zip(cases, outputs, strict=True)), world
