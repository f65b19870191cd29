"""Comparing two runs, models or modes item by item: the pairs, their four outcomes and the tests."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lab import api
from lab.results import intervals
from tests.planted import plant_run, planted_plan

PROBES = ("arithmetic:base=8", "arithmetic:base=10")
FLIPPED = ("deductive", "arithmetic", "base=8,digits=2", 0, 3)  # right in run A, wrong in run B


def exact_mcnemar(a_only: int, b_only: int) -> float:
    """By hand: twice the binomial(a_only + b_only, 1/2) tail at the smaller count, at most 1."""
    k, n = min(a_only, b_only), a_only + b_only
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.fixture
def store(tmp_path: Path) -> api.Store:
    store = api.Store(tmp_path / "solverlab.db")
    plan_a = planted_plan("openai/a", probes=PROBES, modes=("deductive", "solverlearner"), n=6, instances=2)
    plan_b = planted_plan("openai/b", probes=PROBES, modes=("deductive", "solverlearner"), n=6, instances=2)
    # Run A: right on even cases, and on the planted item. Run B: right on even cases and on case 5.
    plant_run(store, "run-a", plan_a, lambda *key: key[4] % 2 == 0 or key == FLIPPED)
    plant_run(store, "run-b", plan_b, lambda *key: key[4] % 2 == 0 or key[4] == 5)
    return store


def test_two_runs_find_the_planted_flipped_item(store: api.Store) -> None:
    items = api.browse_items(store, ["run-a", "run-b"])
    result = api.compare_items(items, kind="runs", a="run-a", b="run-b")
    # deductive: 2 settings x 6 cases; solverlearner: 2 settings x 2 instances x 6 cases
    assert result.n == 36 and result.unmatched_a == result.unmatched_b == 0
    assert (result.both_right, result.a_only, result.b_only, result.both_wrong) == (18, 1, 6, 11)
    a_only = result.flipped[result.flipped["outcome"] == "A only"]
    assert len(a_only) == 1
    row = a_only.iloc[0]
    assert (row["mode"], row["probe"], row["setting"], row["instance"], row["case_index"]) == FLIPPED
    # The pair's rows lead back to both items in the frame.
    assert items.loc[row["row_a"], "run_id"] == "run-a" and bool(items.loc[row["row_a"], "correct"])
    assert items.loc[row["row_b"], "run_id"] == "run-b" and not items.loc[row["row_b"], "correct"]
    assert items.loc[row["row_a"], "input"] == items.loc[row["row_b"], "input"] == row["input_a"]
    assert len(result.flipped) == 7 and set(result.flipped["outcome"]) == {"A only", "B only"}


def test_mcnemar_and_the_difference_match_a_hand_computation(store: api.Store) -> None:
    items = api.browse_items(store, ["run-a", "run-b"])
    result = api.compare_items(items, kind="runs", a="run-a", b="run-b")
    assert result.p_value == pytest.approx(exact_mcnemar(1, 6)) == pytest.approx(16 / 128)
    assert result.accuracy_a == pytest.approx(19 / 36) and result.accuracy_b == pytest.approx(24 / 36)
    assert result.difference == pytest.approx(-5 / 36)
    assert result.ci_low < result.difference < result.ci_high


def test_the_paired_interval_is_narrower_than_the_independent_one_when_sides_agree() -> None:
    # 90 of 100 pairs agree: the pairing carries information the independent interval ignores.
    low, high = intervals.paired_difference_interval(50, 7, 3, 40)
    ind_low, ind_high = intervals.mover_wilson_interval([(1, 57, 100), (-1, 53, 100)])  # independent
    assert low < 0.04 < high and high - low < (ind_high - ind_low) / 2
    # With no pair there is no interval.
    assert all(math.isnan(limit) for limit in intervals.paired_difference_interval(0, 0, 0, 0))


def test_two_modes_pair_within_a_run_and_two_models_within_runs(store: api.Store) -> None:
    items = api.browse_items(store, ["run-a", "run-b"])
    modes = api.compare_items(items, kind="modes", a="solverlearner", b="deductive")
    # Deductive has one instance, so only instance 0 of solverlearner finds a partner.
    assert modes.n == 24 and modes.unmatched_a == 24 and modes.unmatched_b == 0
    assert (modes.a_only, modes.b_only) == (0, 1)  # the planted deductive item
    label = dict(zip(items["model"], items["model_label"], strict=False))
    models = api.compare_items(items, kind="models", a=label["openai/a"], b=label["openai/b"])
    assert (models.a_only, models.b_only) == (1, 6)
    assert api.compare_choices(items, "modes") == ["deductive", "solverlearner"]


def test_bad_choices_are_clear_errors(store: api.Store) -> None:
    items = api.browse_items(store, ["run-a", "run-b"])
    with pytest.raises(ValueError, match="no item has run_id 'nosuch'; choose one of: run-a, run-b"):
        api.compare_items(items, kind="runs", a="run-a", b="nosuch")
    with pytest.raises(ValueError, match="choose two different ones"):
        api.compare_items(items, kind="runs", a="run-a", b="run-a")
    with pytest.raises(ValueError, match="cannot compare 'probes': choose one of runs, models, modes"):
        api.compare_items(items, kind="probes", a="x", b="y")


def test_a_run_of_two_models_is_refused_as_one_side(store: api.Store) -> None:
    plan = planted_plan("openai/a", probes=PROBES, modes=("deductive",), n=6, instances=1)
    two = api.RunPlan(
        models=(*plan.models, api.ModelSpec("openai/c")), probes=PROBES, modes=("deductive",), n=6
    )
    plant_run(store, "run-two", two, lambda *key: True)
    items = api.browse_items(store, ["run-a", "run-two"])
    with pytest.raises(
        ValueError, match=r"holds one case several times \(model: .*compare two models instead"
    ):
        api.compare_items(items, kind="runs", a="run-two", b="run-a")
    # Two models of that selection compare well: each model's cases are its own.
    label = {(row.run_id, row.model): row.model_label for row in items.itertuples()}
    a, b = label[("run-two", "openai/c")], label[("run-a", "openai/a")]
    assert api.compare_items(items, kind="models", a=a, b=b).n == 12


def test_a_pair_id_is_stable_and_labels_read_well(store: api.Store) -> None:
    items = api.browse_items(store, ["run-a", "run-b"])
    first = api.compare_items(items, kind="runs", a="run-a", b="run-b").flipped
    again = api.compare_items(items.iloc[::-1], kind="runs", a="run-a", b="run-b").flipped
    ids = {api.pair_id(row, "runs") for _, row in first.iterrows()}
    assert ids == {api.pair_id(row, "runs") for _, row in again.iterrows()}
    assert "deductive|arithmetic|base=8,digits=2|0|3" in ids
    label = api.pair_label(first[first["outcome"] == "A only"].iloc[0])
    assert label.startswith("A only · arithmetic base=8,digits=2 · deductive · instance 0 · case 3 · ")
