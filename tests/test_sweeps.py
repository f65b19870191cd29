"""Identifiability, shots and noise sweeps, noisy examples: plans and their example sets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lab.models import ModelSpec
from lab.run.plan import RunError, RunPlan, parse_noise, parse_shots, total_items, work_units
from lab.run.records import ITEM_COLUMNS, SWEEP_COLUMNS, Item
from lab.run.store import Store
from lab.tasks.identifiability import candidate_worlds, consistent_worlds, count_consistent
from lab.tasks.noise import noisy_count, with_noise
from probes import Case, get_family


def plan(**overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/x"),),
        "probes": ("arithmetic:base=9",),
        "modes": ("io", "deductive"),
        "shots": 4,
        "n": 5,
        "instances": 2,
        "seed": 3,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------ identifiability


def test_one_example_7_plus_7_is_16_holds_in_base_8_alone() -> None:
    arithmetic = get_family("arithmetic")
    fits = consistent_worlds(arithmetic, arithmetic.setting(base=10), [Case("7+7", "16")])
    assert [world["base"] for world in fits] == [8]  # 7+7 = 14 = 1*8 + 6; 7 is no digit below base 8


def test_an_addition_without_carry_holds_in_every_base_its_digits_fit() -> None:
    arithmetic = get_family("arithmetic")
    fits = consistent_worlds(arithmetic, arithmetic.setting(base=10), [Case("12+13", "25")])
    assert [world["base"] for world in fits] == list(range(6, 37))
    both = [Case("12+13", "25"), Case("7+7", "16")]
    assert count_consistent(arithmetic, arithmetic.setting(base=8), both) == 1


def test_candidates_are_every_world_of_the_family() -> None:
    cipher, syntax = get_family("cipher"), get_family("syntax")
    assert len(candidate_worlds(get_family("arithmetic"), get_family("arithmetic").setting(base=9))) == 35
    assert len(candidate_worlds(cipher, cipher.setting())) == 25 + 2  # every shift, atbash, keyboard
    orders = candidate_worlds(syntax, syntax.setting(order="sov", phrase="det"))
    assert {w["order"] for w in orders} == {"svo", "sov", "vso", "vos", "osv", "ovs"}
    assert {w["phrase"] for w in orders} == {"det"}  # the other parameters are kept
    assert candidate_worlds(get_family("strings"), get_family("strings").setting()) == ()


def test_one_decrypted_letter_names_the_shift() -> None:
    cipher = get_family("cipher")
    fits = consistent_worlds(cipher, cipher.setting(shift=1), [Case("b", "a")])
    assert [w.label for w in fits] == ["cipher=caesar,shift=1"]
    assert count_consistent(cipher, cipher.setting(), []) is None  # nothing shown, nothing to count


def test_items_carry_the_count_of_worlds_their_examples_fit() -> None:
    units = [
        u for u in work_units(plan(probes=("arithmetic:base=10",), shots=1, instances=6)) if u.mode == "io"
    ]
    arithmetic = get_family("arithmetic")
    for unit in units:
        assert unit.consistent_worlds == len(consistent_worlds(arithmetic, unit.setting, unit.examples))
    assert any(unit.consistent_worlds > 1 for unit in units)  # one example often leaves several bases
    assert {u.consistent_worlds for u in work_units(plan()) if u.mode == "deductive"} == {None}


@pytest.mark.parametrize("probe", ["arithmetic:base=9", "arithmetic:base=10", "cipher", "syntax:order=osv"])
def test_identifiable_never_shows_an_ambiguous_instance(probe: str) -> None:
    swept = plan(probes=(probe,), shots=(1, 2), instances=6, identifiable=True)
    units = [u for u in work_units(swept) if u.mode == "io"]
    assert len({(u.setting, u.instance) for u in units}) == len(swept.settings()) * 2 * 6
    for unit in units:
        family = get_family(unit.setting.family)
        assert len(consistent_worlds(family, unit.setting, unit.examples)) == 1
        assert unit.consistent_worlds == 1
        assert len(unit.examples) == unit.shots
        held_out = {case.input for _, case in unit.cases}
        assert not held_out & {case.input for case in unit.examples}


def test_identifiable_refuses_a_family_without_candidates() -> None:
    with pytest.raises(RunError, match="no candidate worlds"):
        list(work_units(plan(probes=("strings:depth=1,program=0",), identifiable=True)))


# ------------------------------------------------------------------ sweeps


def test_a_plan_without_sweeps_keeps_its_identity_and_its_examples() -> None:
    old = plan(framing="blind")  # stored before framings existed, so blind
    # The hash and the first example sets of this plan as stored before sweeps existed.
    assert old.identity_hash() == "e274e6640868c30f"
    io = [u for u in work_units(old) if u.mode == "io"]
    assert [c.input for c in io[0].examples] == ["70+58", "47+18", "55+53", "37+61"]
    assert [c.input for c in io[-1].examples] == ["64+77", "60+56", "78+48", "81+38"]
    assert (io[-1].instance, io[-1].shots, io[-1].noise) == (1, 4, 0.0)
    assert RunPlan.from_dict(old.to_dict()) == old
    assert "noise" not in old.to_dict() or old.to_dict()["noise"] == 0.0


def test_shots_and_noise_lists_cross_on_the_same_held_out_cases() -> None:
    swept = plan(shots=(1, 2, 4), noise=(0.0, 0.5))
    assert RunPlan.from_dict(swept.to_dict()) == swept
    assert swept.identity_hash() != plan().identity_hash()
    units = list(work_units(swept))
    io = [u for u in units if u.mode == "io"]
    points = {(u.shots, u.noise) for u in io}
    assert points == {(k, f) for k in (1, 2, 4) for f in (0.0, 0.5)}
    assert len(io) == 3 * 2 * 2 * 5  # points x instances x held-out cases
    assert {tuple(c for _, c in u.cases) for u in io} == {tuple(c for _, c in u.cases) for u in units}
    assert len({u.item_keys()[0] for u in units}) == len(units) == total_items(swept)
    deductive = [u for u in units if u.mode == "deductive"]
    assert len(deductive) == 5 and {(u.shots, u.noise) for u in deductive} == {(None, None)}
    # Instance i grows the same example set: k shots show its first k examples (noise 0).
    by_key = {(u.instance, u.shots, u.noise): u.examples for u in io}
    for local in range(2):
        four = by_key[4 * 2 + local, 4, 0.0]  # point 4 (shots 4, noise 0): instances 8 and 9
        assert by_key[local, 1, 0.0] == four[:1]
        assert by_key[2 * 2 + local, 2, 0.0] == four[:2]


def test_noisy_examples_keep_their_inputs_and_the_held_out_cases_stay_clean() -> None:
    swept = plan(shots=4, noise=(0.0, 0.5))
    arithmetic = get_family("arithmetic")
    io = [u for u in work_units(swept) if u.mode == "io"]
    clean = {u.instance: u.examples for u in io if u.noise == 0.0}
    for unit in io:
        for _, case in unit.cases:
            assert arithmetic.solve(unit.setting, case.input) == case.output
        if unit.noise == 0.5:
            before = clean[unit.instance - 2]
            assert [c.input for c in unit.examples] == [c.input for c in before]
            changed = [a for a, b in zip(unit.examples, before, strict=True) if a != b]
            assert len(changed) == 2
            assert all(arithmetic.solve(unit.setting, c.input) != c.output for c in changed)


def test_noise_counts_and_corruptions() -> None:
    assert [noisy_count(f, 4) for f in (0.0, 0.1, 0.25, 0.5)] == [0, 0, 1, 2]
    assert noisy_count(0.25, 2) == 1 and noisy_count(0.1, 8) == 1
    listfn = get_family("listfn")
    setting = listfn.setting(function="sort")
    shown = listfn.cases(setting, 8, 0)
    noisy = with_noise(listfn, setting, shown, 0.25, "seed")
    assert noisy == with_noise(listfn, setting, shown, 0.25, "seed")  # same seed, same noise
    wrong = [c for c in noisy if listfn.solve(setting, c.input) != c.output]
    assert len(wrong) == 2
    strings = get_family("strings")  # no other worlds: a one-character corruption
    setting = strings.setting()
    shown = strings.cases(setting, 4, 0)
    noisy = with_noise(strings, setting, shown, 0.5, "seed")
    changed = [(a.output, b.output) for a, b in zip(shown, noisy, strict=True) if a != b]
    assert len(changed) == 2
    for before, after in changed:
        assert len(before) == len(after) and sum(x != y for x, y in zip(before, after, strict=True)) == 1


def test_sweep_lists_parse_and_bad_values_are_refused() -> None:
    assert parse_shots("8") == 8 and parse_shots("1,2,4,8") == (1, 2, 4, 8)
    assert parse_noise("0.1") == 0.1 and parse_noise("0, 0.1,0.25") == (0.0, 0.1, 0.25)
    with pytest.raises(ValueError, match=r"shots takes whole numbers.*'1,x'"):
        parse_shots("1,x")
    with pytest.raises(ValueError, match=r"noise must be a fraction.*1\.5"):
        plan(noise=(0.0, 1.5))
    with pytest.raises(ValueError, match="shots must be whole numbers of at least 1, got 0"):
        plan(shots=(0, 2))
    with pytest.raises(ValueError, match="shots is an empty list"):
        plan(shots=())


def test_a_database_from_before_sweeps_gains_the_columns_with_null_in_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(path)
    old = Item("r", "m", "arithmetic", "base=9", False, "io", 0, 0, "1+1", "2", "2", True, None)
    store.save_items([old])
    store.close()
    with sqlite3.connect(path) as db:  # the items table as it was before sweeps
        for column in ("consistent_worlds", "shots", "noise"):
            db.execute(f"ALTER TABLE items DROP COLUMN {column}")
    store = Store(path)
    new = Item(
        "r",
        "m",
        "arithmetic",
        "base=9",
        False,
        "io",
        1,
        0,
        "1+1",
        "2",
        "3",
        False,
        None,
        consistent_worlds=3,
        shots=4,
        noise=0.25,
    )
    store.save_items([new])
    rows = store.items(["r"])
    assert [(r["consistent_worlds"], r["shots"], r["noise"]) for r in rows] == [
        (None, None, None),
        (3, 4, 0.25),
    ]
    assert ITEM_COLUMNS[-1] == "error" and SWEEP_COLUMNS == ("consistent_worlds", "shots", "noise")
