"""The summary, gaps and drops kept per settled run: the same tables as computed from every item.

Each test compares `api.result_set` (kept tables where they hold) with the full path, `result_tables`
of the narrow item read, table by table with `check_exact`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from lab import api
from lab.results import kept
from lab.run.records import RunStatus
from lab.run.store import KeptStatistics, Store
from tests.planted import plant_run, planted_plan

MODES = ("deductive", "io_rule", "io", "solverlearner", "deductive_code", "ccc")


# Out of 5, how many cases in a row a mode gets right: the deductive modes well, the inductive ones not,
# so the gaps are far from 0 and their Holm adjustment depends on how many there are.
RIGHT_OF_5 = {"deductive": 5, "io_rule": 4, "ccc": 3, "deductive_code": 3, "io": 1, "solverlearner": 1}


def plant(
    store: Store, run_id: str, *, model: str, instances: int = 3, probes: tuple[str, ...] = ("arithmetic",)
) -> None:
    seed = sum(map(ord, run_id))
    plan = planted_plan(model, probes=probes, modes=MODES, n=12, instances=instances)
    plant_run(store, run_id, plan, lambda mode, *key: (key[2] * 7 + key[3] * 3 + seed) % 5 < RIGHT_OF_5[mode])


def full_path(store: Store, run_ids: list[str]) -> api.ResultSet:
    """The tables as computed from every item of the runs, nothing kept read."""
    items = api.result_items(store, run_ids)
    return api.ResultSet(
        api.result_tables(items, api.functions_frame(store, run_ids)), api.unrecorded_summary(items)
    )


def assert_same(result: api.ResultSet, expected: api.ResultSet) -> None:
    assert result.unrecorded == expected.unrecorded
    for field in dataclasses.fields(api.ResultTables):
        got, want = getattr(result.tables, field.name), getattr(expected.tables, field.name)
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=field.name)
        else:
            assert got == want, field.name


def kept_runs(store: Store) -> set[str]:
    return set(store.kept_statistics([run.id for run in store.list_runs()], kept.statistics_version()))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.db")
    plant(store, "r1", model="openai/a")
    plant(store, "r2", model="openai/a", instances=2)  # same model: its own rows, its own label
    plant(store, "r3", model="openai/b", instances=4)
    return store


def test_the_first_read_keeps_each_run_and_later_reads_give_the_same_tables(store: Store) -> None:
    run_ids = ["r3", "r1", "r2"]
    expected = full_path(store, run_ids)
    assert kept_runs(store) == set()
    assert_same(api.result_set(store, run_ids), expected)
    assert kept_runs(store) == {"r1", "r2", "r3"}
    assert_same(api.result_set(store, run_ids), expected)  # every table from the kept rows
    assert_same(api.result_set(store, ["r2"]), full_path(store, ["r2"]))  # Holm over this selection only
    assert len(set(expected.tables.summary["model_label"])) == 3
    assert (expected.tables.gaps["p_holm"] > expected.tables.gaps["p_value"]).any()


def test_kept_and_computed_runs_are_put_together(store: Store) -> None:
    api.result_set(store, ["r2"])
    assert kept_runs(store) == {"r2"}
    assert_same(api.result_set(store, ["r1", "r2", "r3"]), full_path(store, ["r1", "r2", "r3"]))


def test_runs_with_holes_and_several_probes(tmp_path: Path) -> None:
    store = Store(tmp_path / "holes.db")
    for number, instances in enumerate((2, 6, 7)):
        plant(
            store,
            f"h{number}",
            model=f"openai/m{number % 2}",
            instances=instances,
            probes=("arithmetic", "cipher"),
        )
    with sqlite3.connect(store.path) as db:  # one item in 17 gone: grids with holes
        db.execute("DELETE FROM items WHERE rowid % 17 = 0")
    run_ids = ["h0", "h1", "h2"]
    expected = full_path(store, run_ids)
    assert_same(api.result_set(store, run_ids), expected)
    assert_same(api.result_set(store, run_ids), expected)
    assert kept_runs(store) == set(run_ids)


def test_a_running_run_is_computed_every_time_and_never_kept(store: Store) -> None:
    store.set_status("r2", RunStatus.RUNNING)
    assert_same(api.result_set(store, ["r1", "r2"]), full_path(store, ["r1", "r2"]))
    assert kept_runs(store) == {"r1"}
    with sqlite3.connect(store.path) as db:  # an item of the running run arrives (here: one goes)
        db.execute("DELETE FROM items WHERE run_id = 'r2' AND rowid % 5 = 0")
    assert_same(api.result_set(store, ["r1", "r2"]), full_path(store, ["r1", "r2"]))
    assert kept_runs(store) == {"r1"}


def test_a_resumed_and_refinished_run_is_computed_anew(store: Store) -> None:
    api.result_set(store, ["r1", "r2"])
    before = store.kept_statistics(["r1"], kept.statistics_version())["r1"].marker
    store.set_status("r1", RunStatus.RUNNING)
    with sqlite3.connect(store.path) as db:
        db.execute("DELETE FROM items WHERE run_id = 'r1' AND rowid % 3 = 0")
    store.set_status("r1", RunStatus.FINISHED)
    assert_same(api.result_set(store, ["r1", "r2"]), full_path(store, ["r1", "r2"]))
    assert store.kept_statistics(["r1"], kept.statistics_version())["r1"].marker != before


def test_a_renamed_run_is_labelled_anew(store: Store) -> None:
    api.result_set(store, ["r1", "r2", "r3"])
    store.set_name("r2", "my baseline")
    result = api.result_set(store, ["r1", "r2", "r3"])
    assert_same(result, full_path(store, ["r1", "r2", "r3"]))
    assert "my baseline" in set(result.tables.summary["model_label"])


def test_tables_kept_under_another_statistics_version_are_not_read(store: Store) -> None:
    api.result_set(store, ["r1"])
    marker = store.kept_statistics(["r1"], kept.statistics_version())["r1"].marker
    store.keep_statistics([KeptStatistics("r1", "an older version", marker, {"summary": b"not arrow"})])
    assert kept_runs(store) == set()
    assert_same(api.result_set(store, ["r1"]), full_path(store, ["r1"]))
    assert kept_runs(store) == {"r1"}


def test_a_setting_default_in_one_run_and_counterfactual_in_another_is_refused(store: Store) -> None:
    api.result_set(store, ["r1"])
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE items SET default_world = 1 - default_world "
            "WHERE run_id = 'r3' AND setting = 'base=9,digits=2'"
        )
    with pytest.raises(
        ValueError, match="arithmetic / base=9,digits=2 is marked both default world and counterfactual"
    ):
        full_path(store, ["r1", "r3"])
    with pytest.raises(
        ValueError, match="arithmetic / base=9,digits=2 is marked both default world and counterfactual"
    ):
        api.result_set(store, ["r1", "r3"])


def test_a_drop_problem_in_a_computed_run_leaves_every_drop_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "two-defaults.db")
    plant(store, "a", model="openai/a")
    plant(store, "b", model="openai/b", probes=("cipher",))
    api.result_set(store, ["a"])
    with sqlite3.connect(store.path) as db:  # two default worlds in b's family
        db.execute(
            "UPDATE items SET default_world = 1 WHERE run_id = 'b' "
            "AND setting != (SELECT MAX(setting) FROM items WHERE run_id = 'b')"
        )
    expected = full_path(store, ["a", "b"])
    assert expected.tables.drops.empty and expected.tables.drop_problem
    assert_same(api.result_set(store, ["a", "b"]), expected)
    assert kept_runs(store) == {"a"}  # nothing of a computation with a drop problem is kept


def test_unrecorded_replays_take_the_full_path_and_keep_nothing(store: Store) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE items SET error = 'not_recorded', correct = 0 WHERE run_id = 'r1' AND mode = 'io'")
    expected = full_path(store, ["r1", "r3"])
    assert expected.unrecorded
    assert_same(api.result_set(store, ["r1", "r3"]), expected)
    assert kept_runs(store) == set()


def test_sweep_tables_read_only_the_items_they_need(store: Store) -> None:
    with sqlite3.connect(store.path) as db:  # io and solverlearner swept: shots 4, noise 0 or 0.2
        db.execute(
            "UPDATE items SET shots = 4, noise = (instance % 2) * 0.2, consistent_worlds = instance % 3 "
            "WHERE mode IN ('io', 'solverlearner')"
        )
    run_ids = ["r1", "r2", "r3"]
    expected = full_path(store, run_ids)
    assert not expected.tables.consistency.empty and not expected.tables.identifiability.empty
    assert_same(api.result_set(store, run_ids), expected)
    assert_same(api.result_set(store, run_ids), expected)


def test_a_database_from_before_kept_tables_gets_the_table_on_open(store: Store) -> None:
    path = store.path
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE kept_statistics")
    reopened = Store(path)
    assert_same(api.result_set(reopened, ["r1", "r3"]), full_path(reopened, ["r1", "r3"]))
    assert kept_runs(reopened) == {"r1", "r3"}


def test_forgotten_tables_are_computed_again(store: Store) -> None:
    api.result_set(store, ["r1", "r2"])
    store.forget_statistics(["r1"])
    assert kept_runs(store) == {"r2"}
    assert_same(api.result_set(store, ["r1", "r2"]), full_path(store, ["r1", "r2"]))


def add_functions(
    store: Store, run_id: str, *, sample: int, round: int, chosen: bool, failed: str, where: str
) -> None:
    """A copy of each of the run's first functions (`where` picks the units) as another sample or round."""
    columns = "run_id, model, probe, setting, mode, instance, call_id, code, verdict, detail, examples"
    columns += ", fits_examples"
    with sqlite3.connect(store.path) as db:
        db.execute(
            f"INSERT INTO functions ({columns}, memorised, held_out_failed, sample, round, chosen) "
            f"SELECT {columns}, memorised, ?, ?, ?, ? FROM functions "
            f"WHERE run_id = ? AND sample = 0 AND round = 0 AND {where}",
            (failed, sample, round, int(chosen), run_id),
        )


def test_pass_at_k_and_rounds_of_runs_refined_to_different_last_rounds(store: Store) -> None:
    add_functions(store, "r1", sample=0, round=1, chosen=True, failed="[]", where="instance = 0")
    add_functions(store, "r1", sample=0, round=2, chosen=True, failed="[1]", where="instance = 1")
    add_functions(store, "r3", sample=1, round=0, chosen=False, failed="[0, 2]", where="instance < 3")
    api.result_set(store, ["r2"])  # kept alone: its rounds stop at 0
    api.result_set(store, ["r1", "r3"])  # kept together: r3's rounds run on to r1's last, 2
    assert kept_runs(store) == {"r1", "r2", "r3"}
    for selection in (["r1", "r2", "r3"], ["r2", "r3"], ["r3"], ["r1"], ["r2"]):
        assert_same(api.result_set(store, selection), full_path(store, selection))
    expected = full_path(store, ["r1", "r2", "r3"]).tables
    assert expected.refined["round"].max() == 2 and set(expected.sampled["model_label"]) == {
        label for label in expected.summary["model_label"] if label.endswith("r3")
    }


def test_the_summary_a_finished_run_prints_keeps_its_tables(store: Store) -> None:
    from lab.results import read

    def same(run_ids: list[str]) -> None:
        expected = read.summary_frame(store, run_ids)  # every item read, nothing kept
        pd.testing.assert_frame_equal(api.summary_frame(store, run_ids), expected, check_exact=True)

    same(["r1", "r3"])
    assert kept_runs(store) == {"r1", "r3"}
    same(["r3"])
    with sqlite3.connect(store.path) as db:  # unrecorded replays: every cell, as before
        db.execute("UPDATE items SET error = 'not_recorded', correct = 0 WHERE run_id = 'r2' AND mode = 'io'")
    same(["r2"])
    assert kept_runs(store) == {"r1", "r3"}
