"""The instance as the unit of the code modes: bootstrap, paired tests, pass@k per problem, sample size.

The coverage simulation checks the promise of the summary's code-mode interval: functions right for
some instances and mostly wrong for others, and the reported 95% interval covers the true rate in
at least 90% of 200 seeded simulations, at the default sizes and with more instances.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab.models.calls import ModelSpec, RetryPolicy
from lab.results import bootstrap, precision, read, sampling, stats
from lab.results.intervals import holm, mcnemar_exact, paired_difference_interval, wilson_interval
from lab.run import study
from lab.run.plan import RunPlan
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

# --- the bootstrap ---------------------------------------------------------------------------------


def test_grid_lines_up_cases_and_marks_what_was_not_measured() -> None:
    cell = bootstrap.grid([0, 0, 1], [3, 5, 5], [True, False, True], [3, 4, 5], clustered=True)
    assert cell.right[0, 0] == 1.0 and np.isnan(cell.right[0, 1]) and cell.right[0, 2] == 0.0
    assert np.isnan(cell.right[1, 0]) and cell.right[1, 2] == 1.0
    assert (cell.instances, cell.cases) == (2, 3)
    assert cell.estimate == pytest.approx(2 / 3)


def test_replicates_with_every_weight_one_give_the_estimate() -> None:
    right = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1.0]])
    cell = bootstrap.Grid(right)
    means = bootstrap.batch_means([cell], np.ones((2, 3)), np.ones((2, 4)))[:, 0]
    assert means.tolist() == pytest.approx([cell.estimate, cell.estimate])
    # Instance 2 drawn three times, every case once: its accuracy.
    assert bootstrap.batch_means([cell], np.array([[0, 0, 3.0]]), np.ones((1, 4))).tolist() == [[1.0]]


def test_the_interval_is_seeded_and_widens_with_the_spread_between_functions() -> None:
    # Eight functions alike (right on the same 30 of 40 cases) against eight that differ (six right
    # on every case, two on none): both at 75%, the second far less certain.
    agree = bootstrap.Grid(np.tile([1.0, 1, 1, 0] * 10, (8, 1)))
    spread = bootstrap.Grid(np.array([[1.0] * 40] * 6 + [[0.0] * 40] * 2))
    assert bootstrap.accuracy_interval(spread) == bootstrap.accuracy_interval(spread)
    varied = bootstrap.Grid(
        (np.random.default_rng(0).random((12, 15)) < np.linspace(0.1, 0.9, 12)[:, None]) * 1.0
    )
    assert bootstrap.accuracy_interval(varied, seed=1) != bootstrap.accuracy_interval(varied, seed=2)
    agree_low, agree_high = bootstrap.accuracy_interval(agree)
    spread_low, spread_high = bootstrap.accuracy_interval(spread)
    assert spread_high - spread_low > agree_high - agree_low
    assert spread_low <= spread.estimate <= spread_high


def test_a_direct_grid_gets_the_wilson_interval_over_its_items() -> None:
    cell = bootstrap.Grid(np.array([[1.0, 1, 0, 1, 0]]), clustered=False)
    assert bootstrap.accuracy_interval(cell) == wilson_interval(3, 5)
    assert not cell.thin()


def test_sign_flip_is_exact_and_cannot_be_small_with_few_instances() -> None:
    assert bootstrap.sign_flip_p([0.5, 0.5, 0.5]) == pytest.approx(2 / 8)
    assert bootstrap.sign_flip_p([0.5] * 8) == pytest.approx(2 / 256)
    assert bootstrap.sign_flip_p([0.5, -0.5]) == 1.0
    assert math.isnan(bootstrap.sign_flip_p([]))


def test_mean_interval_of_equal_values_is_floored_by_one_trial_each() -> None:
    low, high = bootstrap.mean_interval([1.0, 1.0, 1.0])
    assert high == 1.0 and low == pytest.approx(wilson_interval(3, 3)[0], abs=1e-9)
    many = [1.0, 0.0] * 20
    low, high = bootstrap.mean_interval(many)
    assert low < 0.5 < high and high - low < wilson_interval(2, 4)[1] - wilson_interval(2, 4)[0]


# --- paired counts ---------------------------------------------------------------------------------


def test_mcnemar_exact_is_the_binomial_test_on_discordant_pairs() -> None:
    # 2 vs 9 discordant pairs: 2 * P(X <= 2), X ~ Binomial(11, 1/2).
    expected = 2 * sum(math.comb(11, i) for i in range(3)) / 2**11
    assert mcnemar_exact(2, 9) == pytest.approx(expected)
    assert mcnemar_exact(9, 2) == pytest.approx(expected)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0


def test_paired_interval_agrees_with_the_difference_and_names_bad_counts() -> None:
    low, high = paired_difference_interval(10, 2, 8, 5)
    assert low < (12 - 18) / 25 < high
    # Two modes right on the same 20 items: the difference is 0, the interval symmetric around it.
    low, high = paired_difference_interval(20, 0, 0, 0)
    assert low == pytest.approx(-high) and 0 < high < 0.2
    with pytest.raises(ValueError, match="whole numbers"):
        paired_difference_interval(1, -1, 0, 0)
    assert all(math.isnan(v) for v in paired_difference_interval(0, 0, 0, 0))


def test_holm_adjusts_step_down_and_keeps_nan_out_of_the_family() -> None:
    adjusted = holm([0.01, 0.04, math.nan, 0.03])
    assert adjusted[0] == pytest.approx(0.03)
    assert adjusted[3] == pytest.approx(0.06) and adjusted[1] == pytest.approx(0.06)
    assert math.isnan(adjusted[2])


# --- pass@k per problem ----------------------------------------------------------------------------


def functions(failed_by_instance: dict[int, list[list[int]]], cases: int = 4) -> pd.DataFrame:
    rows = [
        {
            "run_id": "r1",
            "model": "m",
            "probe": "arithmetic",
            "setting": "base=9",
            "mode": "solverlearner",
            "instance": instance,
            "sample": sample,
            "round": 0,
            "chosen": int(sample == 0),
            "cases": cases,
            "held_out_failed": failed,
        }
        for instance, samples in failed_by_instance.items()
        for sample, failed in enumerate(samples)
    ]
    return sampling.function_frame(rows)


def test_two_half_right_functions_do_not_make_a_solved_problem() -> None:
    # The example: each function right on half of the cases, together on all of them.
    table = sampling.sampling(functions({0: [[0, 1], [2, 3]]})).set_index("measure")
    assert table.loc["pass@2 per case", "value"] == 1.0
    assert table.loc["pass@2", "value"] == 0.0 and table.loc["pass@2", "per"] == "problem"
    assert table.loc["pass@2", "ci_method"] == "cluster_bootstrap"
    assert table.loc[sampling.BEST_FIT_SOLVES, "value"] == 0.0


def test_pass_at_k_per_problem_counts_solving_samples_per_instance_with_an_interval() -> None:
    solved, wrong = [], [0]
    table = sampling.sampling(functions({0: [wrong, solved, solved], 1: [wrong, wrong, wrong]}))
    problem = table[table["per"] == "problem"].set_index("measure")
    assert problem.loc["pass@1", "value"] == pytest.approx((2 / 3 + 0) / 2)
    assert problem.loc["pass@3", "value"] == pytest.approx(0.5)
    assert (problem.loc["pass@1", "instances"], problem.loc["pass@1", "cases"]) == (2, 8)
    for row in problem.itertuples():
        assert row.ci_low <= row.value <= row.ci_high
    # Two instances cannot pin a rate down: at least the Wilson interval of one trial per instance.
    assert problem.loc["pass@3", "ci_high"] - problem.loc["pass@3", "ci_low"] >= 0.7
    first = table.set_index("measure").loc[sampling.FIRST_SAMPLE]
    assert (first["value"], first["ci_method"]) == (pytest.approx(6 / 8), "cluster_bootstrap")


# --- sample size in sight ---------------------------------------------------------------------------


def plan(**sizes: Any) -> RunPlan:
    modes = ("deductive", "solverlearner", "deductive_code", "io")
    return RunPlan(models=(ModelSpec("m"),), probes=("arithmetic:base=9",), modes=modes, **sizes)


def test_expected_half_width_is_the_wilson_half_width_at_fifty_percent() -> None:
    low, high = wilson_interval(10, 20)
    assert precision.expected_half_width(20) == pytest.approx((high - low) / 2)
    with pytest.raises(ValueError, match="at least one unit"):
        precision.expected_half_width(0)


def test_code_modes_count_instances_and_small_cells_warn() -> None:
    cells = {c.mode: c for c in precision.plan_precision(plan(n=200, instances=3))}
    assert (cells["deductive"].items, cells["deductive"].units) == (200, 200)
    assert (cells["io"].items, cells["io"].units) == (600, 600)
    assert (cells["solverlearner"].items, cells["solverlearner"].units) == (600, 3)
    assert cells["deductive_code"].units == 1
    assert not cells["deductive"].too_wide and cells["solverlearner"].too_wide
    warnings = precision.precision_warnings(plan(n=200, instances=3))
    assert len(warnings) == 2 and "solverlearner" in warnings[0] and "3 instances" in warnings[0]
    assert "--instances" in warnings[0]
    # The quick study's 4 items a cell is a smoke test in every mode.
    assert len(precision.precision_warnings(plan(n=4, instances=1))) == 4
    # Sixty instances are enough for solverlearner; deductive_code (no examples) always runs one.
    (only,) = precision.precision_warnings(plan(n=200, instances=60))
    assert only.startswith("deductive_code:") and "(1 instance a cell)" in only


# --- coverage by simulation -------------------------------------------------------------------------


def simulated_items(rng: np.random.Generator, *, instances: int, cases: int, solve: float) -> pd.DataFrame:
    """Each instance's function is right on every case (probability `solve`) or wrong; a wrong function
    is still right on the cases its mistake does not touch (a case is untouched with probability 0.3,
    shared by every function, as a carry-free sum is) and on 5% of the others by chance."""
    solved = rng.random(instances) < solve
    untouched = rng.random(cases) < 0.3
    lucky = rng.random((instances, cases)) < 0.05
    right = solved[:, None] | untouched[None, :] | lucky
    rows = [
        {
            "run_id": "sim",
            "model": "m",
            "probe": "arithmetic",
            "setting": "base=9",
            "default_world": False,
            "mode": "solverlearner",
            "instance": i,
            "case_index": j,
            "input": str(j),
            "expected": "x",
            "predicted": "x" if right[i, j] else "y",
            "correct": bool(right[i, j]),
            "error": None,
        }
        for i in range(instances)
        for j in range(cases)
    ]
    return read.item_frame(rows)


@pytest.mark.parametrize(("instances", "cases", "solve"), [(3, 20, 0.5), (10, 20, 0.6)])
def test_the_code_mode_interval_covers_the_true_rate_in_most_simulations(
    instances: int, cases: int, solve: float
) -> None:
    truth = solve + (1 - solve) * (0.3 + 0.7 * 0.05)
    rng = np.random.default_rng(20260601 + instances)
    covered = 0
    for _ in range(200):
        row = stats.summary(simulated_items(rng, instances=instances, cases=cases, solve=solve)).iloc[0]
        assert row["ci_method"] == "cluster_bootstrap"
        covered += row["ci_low"] <= truth <= row["ci_high"]
    assert covered >= 180, f"covered the true rate {truth:.3f} in {covered} of 200 simulations"


def test_the_item_level_wilson_interval_would_not_cover() -> None:
    """The check above can fail: intervals that treat the cases as independent cover far less often."""
    truth = 0.5 + 0.5 * (0.3 + 0.7 * 0.05)
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        items = simulated_items(rng, instances=3, cases=20, solve=0.5)
        low, high = wilson_interval(int(items["correct"].sum()), len(items))
        covered += low <= truth <= high
    assert covered < 150


# --- end to end, through the scripted server ----------------------------------------------------------


def test_a_scripted_run_reports_the_cluster_interval_and_the_solve_rate(db_path: Any) -> None:
    with ScriptedServer() as server:
        study_plan = RunPlan(
            models=(ModelSpec("openai/scripted", api_base=server.base_url),),
            probes=("arithmetic:base=9",),
            modes=("solverlearner", "deductive"),
            shots=3,
            n=6,
            instances=3,
            max_tokens=64,
            concurrency=2,
        )
        # Functions right for instances 0 and 2 and wrong for instance 1; the deductive answers right.
        server.responder = plan_responder(study_plan, lambda unit: unit.instance != 1)
        store = Store(db_path)
        run_id = study.prepare_run(store, study_plan)
        record = study.execute_run(store, run_id, retry=RetryPolicy(attempts=2, base_delay=0.01, timeout=20))
        assert record.status == "finished", record.reason
    table = read.summary_frame(store, [run_id]).set_index("mode")
    code = table.loc["solverlearner"]
    assert (code["ci_method"], code["instances"], code["n"]) == ("cluster_bootstrap", 3, 18)
    assert code["instance_solve_rate"] == pytest.approx(2 / 3)
    assert code["accuracy"] == pytest.approx(2 / 3)
    assert code["ci_low"] < 0.3 and code["ci_high"] == 1.0  # three functions, not 18 independent items
    assert table.loc["deductive", "ci_method"] == "wilson"
    gap = stats.gaps(read.items_frame(store, [run_id])).iloc[0]
    assert (gap["ci_method"], gap["test"]) == ("cluster_bootstrap", "sign_flip_instances")
    assert gap["gap"] == pytest.approx(-1 / 3) and gap["ci_low"] < -0.5 and gap["ci_high"] >= 0
