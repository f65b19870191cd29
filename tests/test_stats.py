"""Statistics: Wilson intervals, the summary table, inductive-deductive gaps, counterfactual drops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab.results.intervals import clip, holm, mover_wilson_interval, wilson_interval
from lab.results.read import item_frame
from lab.results.stats import (
    DEDUCTIVE_MODES,
    DROP_COLUMNS,
    GAP_COLUMNS,
    GAP_COMPARISONS,
    INDUCTIVE_MODES,
    MODES,
    SUMMARY_COLUMNS,
    counterfactual_drop,
    gaps,
    summary,
)
from lab.run.records import SWEEP_COLUMNS
from lab.run.store import ITEM_COLUMNS


def newcombe_difference_interval(a: int, m: int, b: int, k: int) -> tuple[float, float]:
    """Newcombe's interval for two independent proportions, as the drop computes it: MOVER over the
    two Wilson intervals, clipped to [-1, 1]."""
    low, high = mover_wilson_interval([(1.0, a, m), (-1.0, b, k)])
    return (clip(low, -1.0, 1.0), clip(high, -1.0, 1.0))


Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal


def closed_form_wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson (1927) written out, independent of statsmodels."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def rows_for(
    model: str,
    probe: str,
    setting: str,
    mode: str,
    outcomes: list[bool],
    *,
    default_world: bool = False,
    instance: int = 0,
) -> list[dict[str, Any]]:
    return [
        {
            "run_id": "run-1",
            "model": model,
            "probe": probe,
            "setting": setting,
            "default_world": default_world,
            "mode": mode,
            "instance": instance,
            "case_index": index,
            "input": f"{index}+1",
            "expected": str(index + 1),
            "predicted": str(index + 1) if ok else "0",
            "correct": ok,
            "error": None,
        }
        for index, ok in enumerate(outcomes)
    ]


def hits(correct: int, n: int) -> list[bool]:
    return [True] * correct + [False] * (n - correct)


# --- wilson_interval ------------------------------------------------------------------------------


def test_wilson_8_of_10_matches_the_closed_form_and_the_published_figures() -> None:
    low, high = wilson_interval(8, 10)
    ref_low, ref_high = closed_form_wilson(8, 10)
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


@pytest.mark.parametrize(("correct", "n"), [(1, 1), (0, 3), (3, 7), (13, 20), (59, 60)])
def test_wilson_matches_the_closed_form(correct: int, n: int) -> None:
    low, high = wilson_interval(correct, n)
    ref_low, ref_high = closed_form_wilson(correct, n)
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert low <= correct / n <= high


@pytest.mark.parametrize("n", [1, 7, 9, 14, 20, 60])
def test_wilson_edges_are_exactly_zero_and_one(n: int) -> None:
    # statsmodels alone gives 2.8e-17 as the lower limit of 0/7: above the estimate.
    low, high = wilson_interval(0, n)
    assert low == 0.0
    assert high == pytest.approx(closed_form_wilson(0, n)[1], abs=1e-12)
    low, high = wilson_interval(n, n)
    assert high == 1.0
    assert low == pytest.approx(closed_form_wilson(n, n)[0], abs=1e-12)


def test_wilson_other_level_is_wider_at_99_percent() -> None:
    low95, high95 = wilson_interval(8, 10)
    low99, high99 = wilson_interval(8, 10, level=0.99)
    ref_low, ref_high = closed_form_wilson(8, 10, z=2.5758293035489004)
    assert (low99, high99) == pytest.approx((ref_low, ref_high), abs=1e-12)
    assert low99 < low95
    assert high99 > high95


def test_wilson_of_no_items_is_nan() -> None:
    low, high = wilson_interval(0, 0)
    assert math.isnan(low)
    assert math.isnan(high)


@pytest.mark.parametrize(
    ("correct", "n", "level", "message"),
    [
        (11, 10, 0.95, "correct <= n"),
        (-1, 10, 0.95, "0 <= correct"),
        (1, 10, 1.0, "level"),
        (1, 10, 0, "level"),
    ],
)
def test_wilson_rejects_impossible_counts_and_levels(
    correct: int, n: int, level: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(correct, n, level)
    wilson_interval(1, 2)  # memoised: a cached 1 of 2 must not answer for a refused True of 2
    with pytest.raises(TypeError, match="whole numbers"):
        wilson_interval(True, 2)


# --- newcombe_difference_interval ----------------------------------------------------------------


def closed_form_newcombe(a: int, m: int, b: int, k: int) -> tuple[float, float]:
    l1, u1 = closed_form_wilson(a, m)
    l2, u2 = closed_form_wilson(b, k)
    p1, p2 = a / m, b / k
    return (
        p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


@pytest.mark.parametrize(
    "counts",
    [(8, 10, 3, 10), (0, 10, 0, 10), (10, 10, 10, 10), (10, 10, 0, 10), (0, 1, 37, 37), (5, 5, 0, 7)],
)
def test_newcombe_matches_the_closed_form_and_stays_inside_minus_one_one(
    counts: tuple[int, int, int, int],
) -> None:
    low, high = newcombe_difference_interval(*counts)
    ref_low, ref_high = closed_form_newcombe(*counts)
    assert low == pytest.approx(max(ref_low, -1.0), abs=1e-12)
    assert high == pytest.approx(min(ref_high, 1.0), abs=1e-12)
    estimate = counts[0] / counts[1] - counts[2] / counts[3]
    assert -1.0 <= low <= estimate <= high <= 1.0


def test_newcombe_edges() -> None:
    # All wrong in both modes: symmetric around 0, each side one arm's Wilson upper limit w.
    low, high = newcombe_difference_interval(0, 10, 0, 10)
    w = closed_form_wilson(0, 10)[1]
    assert (low, high) == pytest.approx((-w, w), abs=1e-12)
    # 10/10 against 0/10: the upper limit is exactly 1; statsmodels alone can give 1 + 2e-16.
    low, high = newcombe_difference_interval(10, 10, 0, 10)
    assert high == 1.0
    assert low == pytest.approx(1 - w * math.sqrt(2), abs=1e-12)
    low, high = newcombe_difference_interval(0, 1, 37, 37)
    assert low == -1.0
    assert all(math.isnan(v) for v in newcombe_difference_interval(0, 0, 3, 4))


# --- item_frame ------------------------------------------------------------------------------------


def test_item_frame_types_and_column_order() -> None:
    rows = rows_for("m", "arithmetic", "base=8", "deductive", [True, False])
    rows[1]["predicted"] = None
    rows[1]["error"] = "no answer found"
    rows[0]["correct"] = 1  # SQLite stores booleans as integers
    rows[0]["extra"] = "ignored"
    frame = item_frame(rows)
    assert tuple(frame.columns) == (*ITEM_COLUMNS, *SWEEP_COLUMNS)  # sweep columns: NULL here
    assert frame["correct"].dtype == bool
    assert frame["default_world"].dtype == bool
    assert frame["instance"].dtype == "int64"
    assert frame["case_index"].dtype == "int64"
    assert frame["correct"].tolist() == [True, False]
    assert frame["predicted"].tolist() == ["1", None]
    assert frame["error"].tolist() == [None, "no answer found"]


def test_item_frame_of_no_rows_has_the_columns() -> None:
    frame = item_frame([])
    assert tuple(frame.columns) == (*ITEM_COLUMNS, *SWEEP_COLUMNS)  # sweep columns: NULL here
    assert frame.empty


@pytest.mark.parametrize(
    ("column", "value", "error", "message"),
    [
        ("correct", "False", ValueError, "'correct' holds True or False"),
        ("correct", 2, ValueError, "'correct' holds True or False"),
        ("default_world", None, ValueError, "'default_world' holds True or False"),
        ("mode", "guess", ValueError, "unknown mode 'guess'"),
        ("instance", 1.5, TypeError, "'instance' holds a whole number"),
        ("instance", True, TypeError, "'instance' holds a whole number"),
        ("input", 3, TypeError, "'input' holds text"),
    ],
)
def test_item_frame_rejects_values_of_the_wrong_kind(
    column: str, value: object, error: type[Exception], message: str
) -> None:
    row = rows_for("m", "arithmetic", "base=8", "deductive", [True])[0]
    row[column] = value
    with pytest.raises(error, match=message):
        item_frame([row])


def test_item_frame_names_a_missing_column() -> None:
    row = rows_for("m", "arithmetic", "base=8", "deductive", [True])[0]
    del row["expected"]
    with pytest.raises(ValueError, match="expected"):
        item_frame([row])


# --- summary --------------------------------------------------------------------------------------


def test_summary_counts_accuracy_and_interval() -> None:
    items = item_frame(rows_for("m", "arithmetic", "base=8", "deductive", hits(8, 10)))
    table = summary(items)
    assert tuple(table.columns) == SUMMARY_COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["n"], row["correct"], row["accuracy"]) == (10, 8, 0.8)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(closed_form_wilson(8, 10), abs=1e-12)
    assert (row["ci_method"], row["instances"]) == ("wilson", 1)
    assert math.isnan(row["instance_solve_rate"])  # a direct mode has no function to solve the instance
    assert not row["default_world"]
    assert row["model_label"] == "m"


def instances_of(mode: str, scores: list[int], cases: int = 20, **options: Any) -> list[dict[str, Any]]:
    """One instance per score: the first `score` of `cases` held-out cases right."""
    rows: list[dict[str, Any]] = []
    for instance, score in enumerate(scores):
        rows += rows_for("m", "arithmetic", "base=8", mode, hits(score, cases), instance=instance, **options)
    return rows


def test_a_code_mode_takes_the_instance_as_its_unit() -> None:
    # The run: three functions scored 0/20, 20/20 and 15/20; items alone said [0.46, 0.70].
    table = summary(item_frame(instances_of("solverlearner", [0, 20, 15])))
    row = table.iloc[0]
    assert (row["n"], row["correct"], row["accuracy"]) == (60, 35, pytest.approx(35 / 60))
    assert (row["ci_method"], row["instances"]) == ("cluster_bootstrap", 3)
    assert row["instance_solve_rate"] == pytest.approx(1 / 3)
    item_low, item_high = closed_form_wilson(35, 60)
    assert row["ci_low"] < item_low - 0.3 and row["ci_high"] > item_high + 0.2
    # Never narrower than one trial per instance: three functions cannot say more than three trials.
    floor_low, floor_high = closed_form_wilson(1, 3)  # scaled below: the floor is at 35/60, not 1/3
    assert row["ci_high"] - row["ci_low"] >= (floor_high - floor_low) * 0.95
    # Seeded: the same items give the same interval.
    again = summary(item_frame(instances_of("solverlearner", [0, 20, 15]))).iloc[0]
    assert (again["ci_low"], again["ci_high"]) == (row["ci_low"], row["ci_high"])


def test_one_function_right_on_every_case_is_one_trial_not_twenty() -> None:
    row = summary(item_frame(instances_of("deductive_code", [20]))).iloc[0]
    assert (row["accuracy"], row["instances"], row["instance_solve_rate"]) == (1.0, 1, 1.0)
    assert row["ci_high"] == 1.0
    assert row["ci_low"] == pytest.approx(closed_form_wilson(1, 1)[0], abs=1e-9)  # about 0.21, not 0.84
    assert row["ci_low"] < closed_form_wilson(20, 20)[0] - 0.5


def test_many_instances_give_a_bootstrap_interval_narrower_than_the_floor() -> None:
    scores = [20, 18, 19, 20, 17, 20, 16, 20, 19, 18]
    row = summary(item_frame(instances_of("solverlearner", scores))).iloc[0]
    assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    floor_low, floor_high = wilson_interval(round(row["accuracy"] * 10), 10)
    assert row["ci_high"] - row["ci_low"] < (floor_high - floor_low) / 2
    assert row["instance_solve_rate"] == pytest.approx(0.4)


def test_summary_order_model_probe_default_first_natural_setting_then_mode_order() -> None:
    rows: list[dict[str, Any]] = []
    # Deliberately scrambled input order.
    for model in ("zeta", "alpha"):
        rows += rows_for(model, "words", "order=sov", "io", [True])
        rows += rows_for(model, "arithmetic", "base=9", "deductive_code", [True])
        rows += rows_for(model, "arithmetic", "base=10", "io", [True], default_world=True)
        rows += rows_for(model, "arithmetic", "base=16", "solverlearner", [False])
        rows += rows_for(model, "arithmetic", "base=9", "deductive", [True])
        rows += rows_for(model, "arithmetic", "base=10", "deductive", [False], default_world=True)
        rows += rows_for(model, "arithmetic", "base=9", "io_rule", [False])
        rows += rows_for(model, "words", "order=svo", "deductive", [True], default_world=True)
    table = summary(item_frame(rows))
    expected_block = [
        ("arithmetic", "base=10", "deductive"),
        ("arithmetic", "base=10", "io"),
        ("arithmetic", "base=9", "deductive"),
        ("arithmetic", "base=9", "io_rule"),
        ("arithmetic", "base=9", "deductive_code"),
        ("arithmetic", "base=16", "solverlearner"),
        ("words", "order=svo", "deductive"),
        ("words", "order=sov", "io"),
    ]
    got = list(zip(table["model"], table["probe"], table["setting"], table["mode"], strict=True))
    assert got == [("alpha", *key) for key in expected_block] + [("zeta", *key) for key in expected_block]
    assert table.index.tolist() == list(range(len(table)))


def test_summary_pools_instances_and_counts_errors_as_wrong() -> None:
    rows = rows_for("m", "cipher", "shift=3", "solverlearner", [True, True], instance=0)
    rows += rows_for("m", "cipher", "shift=3", "solverlearner", [False, True], instance=1)
    rows[2]["error"] = "solver raised ZeroDivisionError"
    table = summary(item_frame(rows))
    assert table[["n", "correct"]].values.tolist() == [[4, 3]]


def test_summary_of_no_items_is_empty_with_the_columns() -> None:
    table = summary(item_frame([]))
    assert tuple(table.columns) == SUMMARY_COLUMNS
    assert table.empty


def test_summary_refuses_a_setting_marked_both_default_and_counterfactual() -> None:
    rows = rows_for("m", "arithmetic", "base=10", "io", [True], default_world=True)
    rows += rows_for("m", "arithmetic", "base=10", "deductive", [True], default_world=False)
    with pytest.raises(ValueError, match="both default world and counterfactual"):
        summary(item_frame(rows))


# --- gaps -----------------------------------------------------------------------------------------


def closed_form_paired_newcombe(both: int, first: int, second: int, neither: int) -> tuple[float, float]:
    """Newcombe 1998 (Stat Med 17:2635), method 10, written out from the paper's formulas."""
    n = both + first + second + neither
    p1, p2 = (both + first) / n, (both + second) / n
    l1, u1 = closed_form_wilson(both + first, n)
    l2, u2 = closed_form_wilson(both + second, n)
    cross = both * neither - first * second
    corrected = cross - n / 2 if cross > n / 2 else min(cross, 0)
    margins = (both + first) * (second + neither) * (both + second) * (first + neither)
    phi = corrected / math.sqrt(margins) if margins else 0.0
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2)
    return max(low, -1.0), min(high, 1.0)


def test_gaps_are_paired_comparisons_with_the_interval_their_modes_call_for() -> None:
    rows = rows_for("m", "arithmetic", "base=8", "deductive", hits(3, 10))
    # Six functions, each right on 9 of the 10 cases the deductive mode saw.
    for instance in range(6):
        outcomes = [case != instance for case in range(10)]
        rows += rows_for("m", "arithmetic", "base=8", "solverlearner", outcomes, instance=instance)
    rows += rows_for("m", "arithmetic", "base=8", "io", hits(1, 10))
    rows += rows_for("m", "arithmetic", "base=8", "io_rule", hits(8, 10))
    # io without io_rule in this setting: no io comparison here.
    rows += rows_for("m", "arithmetic", "base=10", "io", hits(5, 10), default_world=True)
    rows += rows_for("m", "arithmetic", "base=10", "solverlearner", hits(10, 10), default_world=True)
    rows += rows_for("m", "arithmetic", "base=10", "deductive", hits(10, 10), default_world=True)
    table = gaps(item_frame(rows))
    assert tuple(table.columns) == GAP_COLUMNS
    got = list(zip(table["setting"], table["comparison"], strict=True))
    assert got == [
        ("base=10", "solverlearner - deductive"),
        ("base=8", "solverlearner - deductive"),
        ("base=8", "io - io_rule"),
    ]
    assert table["inductive_mode"].tolist() == ["solverlearner", "solverlearner", "io"]
    assert table["deductive_mode"].tolist() == ["deductive", "deductive", "io_rule"]
    assert table["default_world"].tolist() == [True, False, False]
    assert table["gap"].tolist() == pytest.approx([0.0, 0.6, -0.7])
    assert table["inductive_accuracy"].tolist() == pytest.approx([1.0, 0.9, 0.1])
    assert table["deductive_accuracy"].tolist() == pytest.approx([1.0, 0.3, 0.8])
    assert table["ci_method"].tolist() == ["cluster_bootstrap", "cluster_bootstrap", "newcombe_paired"]
    assert table["test"].tolist() == ["sign_flip_instances", "sign_flip_instances", "mcnemar_exact"]
    for row in table.itertuples():
        assert row.ci_low <= row.gap <= row.ci_high
    # io right on case 0 only, io_rule on cases 0-7: 1 right in both, 7 in io_rule only, 2 in neither.
    io = table.iloc[2]
    assert (io.ci_low, io.ci_high) == pytest.approx(closed_form_paired_newcombe(1, 0, 7, 2), abs=1e-12)
    assert io.p_value == pytest.approx(2 * 0.5**7)  # exact McNemar: 0 of 7 discordant pairs for io
    # Six functions at 9/10 against 3/10 are a clear positive gap, yet six instances can reach no
    # sign-flip p below 2 / 2^6; one function (base=10) gives p = 1.
    assert table["ci_low"].iloc[1] > 0
    assert table["p_value"].tolist()[:2] == pytest.approx([1.0, 2 / 64])
    assert io.ci_high < 0
    # Holm over the three comparisons: the smallest p times 3, then the next times 2, kept monotone.
    assert table["p_holm"].tolist() == pytest.approx([1.0, 2 * 2 / 64, 3 * 2 * 0.5**7])


def test_a_paired_gap_is_narrower_than_an_unpaired_one_when_the_modes_agree() -> None:
    # io_rule right on the cases io gets right and two more: the paired interval sees that.
    rows = rows_for("m", "arithmetic", "base=8", "io", hits(10, 20))
    rows += rows_for("m", "arithmetic", "base=8", "io_rule", hits(12, 20))
    row = gaps(item_frame(rows)).iloc[0]
    unpaired = newcombe_difference_interval(10, 20, 12, 20)
    assert row.ci_high - row.ci_low < (unpaired[1] - unpaired[0]) * 0.6
    assert row.p_value == pytest.approx(0.5)  # exact McNemar on 0 vs 2 discordant pairs


def test_gaps_without_a_pair_or_items_are_empty() -> None:
    only_inductive = rows_for("m", "arithmetic", "base=8", "solverlearner", [True])
    only_inductive += rows_for("m", "arithmetic", "base=8", "io_rule", [True])
    for items in (item_frame(only_inductive), item_frame([])):
        table = gaps(items)
        assert tuple(table.columns) == GAP_COLUMNS
        assert table.empty


# --- counterfactual_drop ----------------------------------------------------------------------------


def test_counterfactual_drop_on_a_hand_made_frame() -> None:
    rows = rows_for("m", "arithmetic", "base=10", "deductive", hits(9, 10), default_world=True)
    rows += rows_for("m", "arithmetic", "base=8", "deductive", hits(4, 10))
    rows += rows_for("m", "arithmetic", "base=9", "deductive", hits(2, 5))  # unequal n: mean of rates
    rows += rows_for("m", "arithmetic", "base=16", "deductive", hits(1, 10))
    # io_rule has one counterfactual setting only.
    rows += rows_for("m", "arithmetic", "base=10", "io_rule", hits(10, 10), default_world=True)
    rows += rows_for("m", "arithmetic", "base=8", "io_rule", hits(0, 10))
    # io appears only away from the default world: left out.
    rows += rows_for("m", "arithmetic", "base=8", "io", hits(3, 10))
    # A family with no default world in the data: left out.
    rows += rows_for("m", "cipher", "shift=3", "deductive", hits(3, 10))
    rows += rows_for("m", "cipher", "shift=5", "deductive", hits(3, 10))
    table = counterfactual_drop(item_frame(rows))
    assert tuple(table.columns) == DROP_COLUMNS
    assert list(zip(table["probe"], table["mode"], strict=True)) == [
        ("arithmetic", "deductive"),
        ("arithmetic", "io_rule"),
    ]
    assert table["ci_method"].tolist() == ["mover_wilson", "mover_wilson"]
    deductive, solverlearner = table.iloc[0], table.iloc[1]
    counterfactual_mean = (0.4 + 0.4 + 0.1) / 3
    assert deductive["default_accuracy"] == pytest.approx(0.9)
    assert deductive["counterfactual_accuracy"] == pytest.approx(counterfactual_mean)
    assert deductive["drop"] == pytest.approx(0.9 - counterfactual_mean)
    assert deductive["n_settings"] == 3

    # MOVER-Wilson, written out: p0 - mean(p1..p3) with each term's Wilson limits.
    l0, u0 = closed_form_wilson(9, 10)
    limits = [closed_form_wilson(4, 10), closed_form_wilson(2, 5), closed_form_wilson(1, 10)]
    rates = [0.4, 0.4, 0.1]
    below = (0.9 - l0) ** 2 + sum(((u - p) / 3) ** 2 for (_, u), p in zip(limits, rates, strict=True))
    above = (u0 - 0.9) ** 2 + sum(((p - lo) / 3) ** 2 for (lo, _), p in zip(limits, rates, strict=True))
    assert deductive["ci_low"] == pytest.approx(deductive["drop"] - math.sqrt(below), abs=1e-12)
    assert deductive["ci_high"] == pytest.approx(deductive["drop"] + math.sqrt(above), abs=1e-12)
    assert deductive["ci_low"] <= deductive["drop"] <= deductive["ci_high"]

    # One counterfactual setting: the interval is Newcombe's, and at 10/10 vs 0/10 it ends at 1.
    assert solverlearner["drop"] == 1.0
    assert solverlearner["n_settings"] == 1
    assert solverlearner["ci_high"] == 1.0
    assert (solverlearner["ci_low"], solverlearner["ci_high"]) == pytest.approx(
        newcombe_difference_interval(10, 10, 0, 10), abs=1e-12
    )


def test_a_code_mode_drop_resamples_instances_of_each_setting() -> None:
    rows = instances_of("solverlearner", [20, 20, 20], default_world=True)
    rows = [{**r, "setting": "base=10"} for r in rows]
    rows += instances_of("solverlearner", [0, 20, 5])
    row = counterfactual_drop(item_frame(rows)).iloc[0]
    assert row["ci_method"] == "cluster_bootstrap"
    assert row["drop"] == pytest.approx(1 - 25 / 60)
    assert row["ci_low"] <= row["drop"] <= row["ci_high"]
    # Three functions a setting: the interval reaches below zero, unlike one over 60 items a setting.
    assert row["ci_low"] < 0 < newcombe_difference_interval(60, 60, 25, 60)[0]


def test_counterfactual_drop_without_counterfactuals_or_items_is_empty() -> None:
    only_default = rows_for("m", "arithmetic", "base=10", "deductive", [True], default_world=True)
    for items in (item_frame(only_default), item_frame([])):
        table = counterfactual_drop(items)
        assert tuple(table.columns) == DROP_COLUMNS
        assert table.empty


def test_counterfactual_drop_refuses_two_default_worlds() -> None:
    rows = rows_for("m", "arithmetic", "base=10", "deductive", [True], default_world=True)
    rows += rows_for("m", "arithmetic", "base=10,digits=3", "deductive", [True], default_world=True)
    rows += rows_for("m", "arithmetic", "base=8", "deductive", [True])
    with pytest.raises(ValueError, match="more than one default-world setting"):
        counterfactual_drop(item_frame(rows))


def test_tables_name_a_missing_column() -> None:
    frame = item_frame(rows_for("m", "arithmetic", "base=8", "deductive", [True])).drop(columns="mode")
    for table in (summary, gaps, counterfactual_drop):
        with pytest.raises(ValueError, match="mode"):
            table(frame)


def test_tables_do_not_modify_their_input() -> None:
    items = item_frame(rows_for("m", "arithmetic", "base=8", "deductive", hits(2, 3)))
    before = items.copy()
    summary(items), gaps(items), counterfactual_drop(items)
    pd.testing.assert_frame_equal(items, before)


def test_mode_views_follow_lab_modes() -> None:
    assert MODES == (
        "deductive",
        "io_rule",
        "io",
        "solverlearner",
        "deductive_code",
        "ccc",
        "verbal_apply",
        "verbal_code",
        "oracle",
    )
    assert INDUCTIVE_MODES == ("io", "solverlearner", "verbal_apply", "verbal_code", "oracle")
    assert DEDUCTIVE_MODES == ("deductive", "io_rule", "deductive_code")
    assert [label for label, _, _ in GAP_COMPARISONS] == ["solverlearner - deductive", "io - io_rule"]


def test_tables_accept_a_frame_built_directly_by_pandas() -> None:
    rows = rows_for("m", "arithmetic", "base=10", "deductive", hits(3, 4), default_world=True)
    rows += rows_for("m", "arithmetic", "base=8", "deductive", hits(1, 4))
    plain = pd.DataFrame(rows)  # pandas' own dtypes (str columns in pandas 3)
    pd.testing.assert_frame_equal(summary(plain), summary(item_frame(rows)))
    assert counterfactual_drop(plain)["drop"].tolist() == pytest.approx([0.5])


def test_holm_gives_statsmodels_values_to_the_last_bit_ties_and_caps_included() -> None:
    from statsmodels.stats.multitest import multipletests

    draw = np.random.default_rng(7)
    for _ in range(200):
        size = int(draw.integers(1, 40))
        # Rounded so that ties are common; scaled so that some products pass 1 and are capped.
        p_values = [
            float(p) for p in np.round(draw.random(size), int(draw.integers(1, 3))) * draw.choice([1, 0.02])
        ]
        assert holm(p_values) == [float(p) for p in multipletests(p_values, method="holm")[1]]
