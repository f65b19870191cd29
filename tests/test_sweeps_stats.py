"""Sweep points in the summary, truncated replies per cell, and cluster-aware sweep statistics.

Every sweep point is its own summary row (never pooled), a reply cut at the token cap is counted per
cell and turned into advice, and the sweep tables (consistency, identifiability) use the instance as
the unit in code modes like the summary: exact expectations, and a coverage simulation.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab import api
from lab.results import bootstrap, read, stats, sweeps
from lab.results.export import summary_csv
from lab.results.intervals import wilson_interval
from lab.run.plan import ModelSpec, RunPlan
from lab.run.store import Store
from tests.planted import plant_run


def item(mode: str, instance: int, case: int, ok: bool, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": "r",
        "model": "openai/m",
        "probe": "arithmetic",
        "setting": "base=9",
        "default_world": False,
        "mode": mode,
        "instance": instance,
        "case_index": case,
        "input": f"{case}+1",
        "expected": "x",
        "predicted": "x" if ok else "y",
        "correct": ok,
        "error": None if ok else "wrong_answer",
        **extra,
    }


def point(mode: str, shots: int | None, noise: float | None, right: list[list[bool]]) -> list[dict[str, Any]]:
    """Items of one sweep point: `right[i][j]` for instance i on case j."""
    return [
        item(mode, i, j, ok, shots=shots, noise=noise)
        for i, cases in enumerate(right)
        for j, ok in enumerate(cases)
    ]


# --- the summary keeps sweep points apart --------------------------------------------------------------


def test_every_sweep_point_is_its_own_summary_row() -> None:
    rows = point("io", 1, 0.0, [[True, True, False, False]])
    rows += point("io", 4, 0.0, [[True, True, True, True]])
    rows += point("deductive", None, None, [[True, False, False, False]])
    table = stats.summary(read.item_frame(rows))
    assert list(table["mode"]) == ["deductive", "io", "io"]
    assert table["shots"].isna().iloc[0] and list(table["shots"].iloc[1:]) == [1, 4]
    assert list(table["noise"].iloc[1:]) == [0.0, 0.0]
    assert list(table["n"]) == [4, 4, 4]  # pooled, io would be one row of 8
    assert list(table["accuracy"]) == [0.25, 0.5, 1.0]
    assert (table.loc[1, "ci_low"], table.loc[1, "ci_high"]) == wilson_interval(2, 4)


def test_a_code_mode_point_is_bootstrapped_over_its_own_instances() -> None:
    # The same instance numbers at both points: pooled, their grids would land on one another.
    one = [[True] * 5, [False] * 5, [False] * 5]
    four = [[True] * 5, [True] * 5, [False, True, True, True, True]]
    rows = point("solverlearner", 1, 0.0, one) + point("solverlearner", 4, 0.0, four)
    table = stats.summary(read.item_frame(rows)).set_index("shots")
    for shots, right in ((1, one), (4, four)):
        grid = bootstrap.Grid(np.array(right, dtype=float))
        row = table.loc[shots]
        assert (row["n"], row["instances"], row["ci_method"]) == (15, 3, "cluster_bootstrap")
        assert (row["ci_low"], row["ci_high"]) == bootstrap.accuracy_interval(grid)
    assert table.loc[1, "instance_solve_rate"] == pytest.approx(1 / 3)
    assert table.loc[4, "instance_solve_rate"] == pytest.approx(2 / 3)


def test_swept_rows_and_one_point_per_cell_for_the_setting_charts() -> None:
    rows = point("io", 1, 0.0, [[False, False]]) + point("io", 4, 0.0, [[True, False]])
    rows += point("io", 4, 0.5, [[False, False]]) + point("deductive", None, None, [[True, True]])
    table = stats.summary(read.item_frame(rows))
    assert len(sweeps.swept_rows(table)) == 4  # three io points and the deductive level
    single = sweeps.at_one_point(table)
    assert list(zip(single["mode"], single["shots"].astype(object), single["accuracy"], strict=True)) == [
        ("deductive", pd.NA, 1.0),
        ("io", 4, 0.5),  # the most shots, the least noise
    ]
    unswept = stats.summary(read.item_frame(point("io", 4, 0.0, [[True, False]])))
    assert sweeps.swept_rows(unswept).empty


def test_truncated_replies_are_counted_per_cell_and_appended_to_the_csv() -> None:
    rows = point("deductive", None, None, [[True, False, False, False, True]])
    for row in rows[1:3]:
        row["error"] = "truncated"
    table = stats.summary(read.item_frame(rows))
    assert (int(table.loc[0, "truncated"]), int(table.loc[0, "n"]), int(table.loc[0, "correct"])) == (2, 5, 2)
    assert tuple(stats.SUMMARY_COLUMNS[-3:]) == ("shots", "noise", "truncated")
    back = pd.read_csv(io.BytesIO(summary_csv(table)))
    # The CSV: the summary's columns in order (truncated last of them), then the setting's parameters.
    assert list(back.columns)[: len(stats.SUMMARY_COLUMNS)] == list(stats.SUMMARY_COLUMNS)
    assert back.loc[0, "truncated"] == 2


def test_a_frame_without_sweep_columns_has_one_unswept_row_per_cell() -> None:
    frame = read.item_frame(point("io", None, None, [[True, False]])).drop(columns=["shots", "noise"])
    table = stats.summary(frame)
    assert len(table) == 1 and table["shots"].isna().all() and table["noise"].isna().all()
    assert table.loc[0, "truncated"] == 0


# --- truncation advice ----------------------------------------------------------------------------------


def test_truncation_advice_counts_cut_replies_and_doubles_the_cap(db_path: Path) -> None:
    plan = RunPlan(
        models=(ModelSpec("openai/m"),),
        probes=("arithmetic:base=9",),
        modes=("deductive", "solverlearner"),
        n=4,
        instances=2,
        shots=4,
        max_tokens=384,
    )
    store = Store(db_path)
    plant_run(store, "cut", plan, lambda *_: False)
    assert api.truncation_advice(store, "cut") is None
    with sqlite3.connect(db_path) as db:  # two deductive replies and one function's reply cut at the cap
        db.execute(
            "UPDATE items SET error = 'truncated' WHERE run_id = 'cut' AND "
            "((mode = 'deductive' AND case_index IN (0, 1)) OR (mode = 'solverlearner' AND instance = 0))"
        )
    advice = api.truncation_advice(store, "cut")
    assert advice is not None
    assert (advice.truncated, advice.replies, advice.items) == (3, 6, 6)  # 4 deductive calls + 2 functions
    assert (advice.max_tokens, advice.suggested_max_tokens) == (384, 768)
    assert (
        "3 of 6 replies stopped at the 384-token cap" in advice.message
        and "--max-tokens 768" in advice.message
    )
    summary = read.summary_frame(store, ["cut"]).set_index("mode")
    assert (summary.loc["deductive", "truncated"], summary.loc["solverlearner", "truncated"]) == (2, 4)
    with pytest.raises(ValueError, match="no run 'gone'"):
        api.truncation_advice(store, "gone")


# --- consistency and identifiability with the instance as the unit ----------------------------------


def test_code_mode_consistency_is_bootstrapped_over_instance_pairs() -> None:
    clean = [[True, True, True, True], [False, False, False, False], [True, False, True, False]]
    noisy = [[True, True, True, True], [True, True, True, True], [True, False, True, True]]
    rows = point("solverlearner", 2, 0.0, clean) + point("solverlearner", 2, 0.5, noisy)
    rows += point("io", 2, 0.0, clean) + point("io", 2, 0.5, noisy)
    table = sweeps.consistency(read.item_frame(rows)).set_index("mode")
    same = np.array(clean) == np.array(noisy)  # by hand: 4 + 0 + 3 of 12 items keep their verdict
    code, direct = table.loc["solverlearner"], table.loc["io"]
    assert (code["n"], code["consistent"], code["consistency"]) == (12, 7, 7 / 12)
    assert code["ci_method"] == "cluster_bootstrap"
    assert (code["ci_low"], code["ci_high"]) == bootstrap.accuracy_interval(bootstrap.Grid(same * 1.0))
    assert (direct["ci_method"], (direct["ci_low"], direct["ci_high"])) == ("wilson", wilson_interval(7, 12))
    assert code["ci_high"] - code["ci_low"] > direct["ci_high"] - direct["ci_low"]


def test_code_mode_identifiability_counts_each_instance_at_each_point_as_a_unit() -> None:
    rows = point("solverlearner", 1, 0.0, [[True, True, True]]) + point(
        "solverlearner", 4, 0.0, [[False] * 3]
    )
    for row in rows:
        row["consistent_worlds"] = 1
    table = sweeps.identifiability(read.item_frame(rows))
    assert len(table) == 1 and table.loc[0, "examples"] == sweeps.IDENTIFIABLE
    assert (table.loc[0, "n"], table.loc[0, "accuracy"], table.loc[0, "ci_method"]) == (
        6,
        0.5,
        "cluster_bootstrap",
    )
    two_functions = bootstrap.Grid(np.array([[1.0] * 3, [0.0] * 3]))
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == bootstrap.accuracy_interval(two_functions)


def test_two_runs_of_one_model_are_two_cells_in_the_consistency_and_identifiability_tables(
    tmp_path: Path,
) -> None:
    """As in every other table: a run's noisy items are paired with its own noise-0 items, never with
    another run's, and each run's instances are its own clusters."""
    robust = point("io", 2, 0.0, [[True, False]]) + point("io", 2, 0.5, [[True, False]])
    fragile = point("io", 2, 0.0, [[True, True]]) + point("io", 2, 0.5, [[False, False]])
    for row in fragile:
        row["run_id"] = "r2"
    for row in robust + fragile:
        row["consistent_worlds"] = 1
    items = read.with_model_labels(read.item_frame(robust + fragile))
    consistency = sweeps.consistency(items).set_index("model_label")["consistency"]
    assert len(consistency) == 2 and sorted(consistency) == [0.0, 1.0]  # pooled, the pairs crossed runs
    identifiable = sweeps.identifiability(items)
    assert sorted(zip(identifiable["n"], identifiable["correct"], strict=True)) == [(4, 2), (4, 2)]
    assert identifiable["model_label"].nunique() == 2
    # The Results page's model filter narrows these tables too.
    tables = api.result_tables(items, read.functions_frame(Store(tmp_path / "none.db"), []))
    kept = consistency.index[0]
    assert set(tables.only([kept]).consistency["model_label"]) == {kept}


def simulated_pairs(rng: np.random.Generator, *, instances: int, cases: int, robust: float) -> pd.DataFrame:
    """Each instance's noisy function keeps the clean function's rule (probability `robust`) or is
    another rule; another rule still agrees on the cases the difference does not touch (probability
    0.3, shared by every function) and on 5% of the others by chance."""
    kept = rng.random(instances) < robust
    untouched = rng.random(cases) < 0.3
    lucky = rng.random((instances, cases)) < 0.05
    same = kept[:, None] | untouched[None, :] | lucky
    clean = rng.random((instances, cases)) < 0.5
    noisy = np.where(same, clean, ~clean)
    rows = point("solverlearner", 4, 0.0, clean.tolist()) + point("solverlearner", 4, 0.25, noisy.tolist())
    return read.item_frame(rows)


@pytest.mark.parametrize(("instances", "cases", "robust"), [(3, 20, 0.5), (10, 20, 0.6)])
def test_code_mode_consistency_interval_covers_the_true_score_in_most_simulations(
    instances: int, cases: int, robust: float
) -> None:
    # At 1,000 simulations of the interval itself the coverage is 0.927 with 10 instances (a percentile
    # bootstrap over few clusters is a little narrow) and 0.999 with 3 (floored by Wilson over instances).
    truth = robust + (1 - robust) * (0.3 + 0.7 * 0.05)
    rng = np.random.default_rng(20260601 + instances)
    covered = wilson_covered = 0
    for _ in range(200):
        row = sweeps.consistency(simulated_pairs(rng, instances=instances, cases=cases, robust=robust)).iloc[
            0
        ]
        assert row["ci_method"] == "cluster_bootstrap"
        covered += row["ci_low"] <= truth <= row["ci_high"]
        low, high = wilson_interval(int(row["consistent"]), int(row["n"]))
        wilson_covered += low <= truth <= high
    assert covered >= 180, f"covered the true score {truth:.3f} in {covered} of 200 simulations"
    assert wilson_covered < 160, f"items as independent trials covered {wilson_covered} of 200"


def test_the_results_page_draws_a_curve_only_for_what_was_swept() -> None:
    from lab.results import sampling

    no_functions = sampling.function_frame([])
    rows = point("io", 1, 0.0, [[False, True]]) + point("io", 4, 0.0, [[True, True]])
    figures = api.result_figures(api.result_tables(read.item_frame(rows), no_functions))
    assert "Accuracy against the number of shown examples" in figures
    assert "Accuracy against noisy examples" not in figures  # one noise level: nothing to plot against
    headline = figures["Accuracy per setting"].data
    assert [list(trace.y) for trace in headline] == [[1.0]]  # one bar per cell: the most shots
    empty = api.result_tables(read.item_frame([]), no_functions)
    assert not empty.is_sweep and len(api.result_figures(empty)) == 8


def test_items_stored_before_sweeps_join_their_cells_one_point() -> None:
    rows = point("io", None, None, [[True, False]]) + point("io", 4, 0.0, [[True, True]])
    table = stats.summary(read.item_frame(rows))
    assert list(zip(table["shots"], table["noise"], table["n"], strict=True)) == [(4, 0.0, 4)]
    rows += point("io", 8, 0.0, [[False, False]])  # two points: the old items cannot be placed
    assert len(stats.summary(read.item_frame(rows))) == 3


def test_the_gap_is_computed_per_sweep_point_against_the_same_deductive_items() -> None:
    """io at 1 and 4 shots against io_rule at the same points, and solverlearner at 1 and 4 shots against
    deductive (no shots): one gap row per point, never the points pooled."""
    rows = point("io", 1, 0.0, [[True, False, False, False]])  # 1/4
    rows += point("io", 4, 0.0, [[True, True, True, False]])  # 3/4
    rows += point("io_rule", 1, 0.0, [[True, True, False, False]])  # 2/4
    rows += point("io_rule", 4, 0.0, [[True, True, False, False]])  # 2/4
    rows += point("deductive", None, None, [[True, True, False, False]])  # 2/4
    rows += point("solverlearner", 1, 0.0, [[False] * 4, [True] * 4])  # 4/8
    rows += point("solverlearner", 4, 0.0, [[True] * 4, [True] * 4])  # 8/8
    table = stats.gaps(read.item_frame(rows))
    assert list(table.columns) == list(stats.GAP_COLUMNS)
    got = {(row.comparison, int(row.shots)): round(row.gap, 6) for row in table.itertuples()}
    assert got == {
        ("io - io_rule", 1): -0.25,
        ("io - io_rule", 4): 0.25,
        ("solverlearner - deductive", 1): 0.0,
        ("solverlearner - deductive", 4): 0.5,
    }
    solver = table[table["comparison"] == "solverlearner - deductive"]
    assert solver["deductive_accuracy"].tolist() == [0.5, 0.5]  # both points against the same items
    assert (solver["ci_method"] == "cluster_bootstrap").all()
    # The chart draws each comparison once, at its most shots.
    shown = sweeps.at_one_point(table, within=("setting", "comparison"))
    assert sorted(shown["shots"].astype(int)) == [4, 4]
    # Without sweep columns a run has one unswept gap per comparison, as before.
    plain = [
        {k: v for k, v in row.items() if k not in ("shots", "noise")} for row in rows if row["shots"] != 4
    ]
    assert len(stats.gaps(read.item_frame(plain))) == 2


def test_the_counterfactual_drop_is_computed_per_sweep_point() -> None:
    def at(setting: str, default: bool, shots: int, right: list[bool]) -> list[dict[str, Any]]:
        rows = point("io", shots, 0.0, [right])
        return [{**row, "setting": setting, "default_world": default} for row in rows]

    rows = at("base=10", True, 1, [True, True, True, False])
    rows += at("base=9", False, 1, [True, False, False, False])
    rows += at("base=10", True, 4, [True] * 4) + at("base=9", False, 4, [True, True, True, False])
    table = stats.counterfactual_drop(read.item_frame(rows))
    assert list(table.columns) == list(stats.DROP_COLUMNS)
    assert {int(row.shots): round(row.drop, 6) for row in table.itertuples()} == {1: 0.5, 4: 0.25}
    assert sweeps.at_one_point(table, within=("mode",))["shots"].tolist() == [4]
