"""The Results overview: a runs x settings matrix per mode, and the narrow read of items behind it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab import api
from lab.results import overview, read, sampling, stats
from lab.run.store import Store
from tests.planted import plant_run, planted_plan
from tests.test_charts import items


def sixteen_runs() -> pd.DataFrame:
    """16 rows whose labels share their first 60 and last 50 characters (a label is cut in the middle);
    row i is right on i of 6 cases more or less."""
    frames = []
    for run in range(16):
        frame = items(("deductive", "solverlearner"), models=("m",), n=6)
        shared_end = "/a-long-shared-end" * 3
        frame["model_label"] = f"{'a-very-long-shared-model-name/' * 2}run-{run:02d}{shared_end}"
        frame["run_id"] = f"run-{run:02d}"
        frame["correct"] = [(case + run) % 16 < run for case in range(len(frame))]
        frames.append(frame)
    return stats.summary(pd.concat(frames, ignore_index=True))


def test_sixteen_rows_stay_sixteen_even_when_their_labels_are_cut_to_the_same_text() -> None:
    summary = sixteen_runs()
    figure = overview.overview_matrix(summary)
    heatmaps = list(figure.data)
    assert [h.name for h in heatmaps] == ["solverlearner", "deductive"]  # one facet per mode
    assert all(len(h.z) == 16 and list(h.y) == list(range(16)) for h in heatmaps)
    ticks = figure.layout.yaxis.ticktext
    assert len(ticks) == 16 and len(set(ticks)) == 1  # the cut labels are alike, the rows are not merged
    assert figure.layout.height < 900  # one screen


def test_rows_are_sorted_by_mean_accuracy_or_by_name() -> None:
    summary = sixteen_runs()
    means = summary.groupby("model_label")["accuracy"].mean()
    by_accuracy = overview.row_order(summary)
    assert [means[label] for label in by_accuracy] == sorted(means, reverse=True)
    assert overview.row_order(summary, sort="name") == sorted(means.index)
    first = overview.overview_matrix(summary).data[0]
    assert first.z[0] == [
        summary.set_index(["model_label", "mode", "probe", "setting"]).loc[
            (by_accuracy[0], "solverlearner", column.probe, column.setting), "accuracy"
        ]
        for column in overview.setting_columns(summary)
    ]
    with pytest.raises(ValueError, match="sort must be one of mean accuracy, name, got 'size'"):
        overview.row_order(summary, sort="size")


def test_settings_go_by_family_then_by_the_value_of_their_parameter() -> None:
    columns = overview.setting_columns(stats.summary(items(("deductive",))))
    assert [(c.probe, c.setting.split(",")[0]) for c in columns][:4] == [
        ("arithmetic", "base=8"),
        ("arithmetic", "base=9"),
        ("arithmetic", "base=10"),
        ("arithmetic", "base=16"),
    ]
    assert {c.probe for c in columns[4:]} == {"cipher"}
    assert "★" in columns[2].tick and columns[2].tick.startswith("arithmetic<br>")


def test_a_cell_writes_its_accuracy_and_hovers_its_interval_and_its_method() -> None:
    summary = stats.summary(items(("deductive", "solverlearner"), n=6))
    figure = overview.overview_matrix(summary)
    code, direct = figure.data  # solverlearner first (chart mode order), then deductive
    row = summary[(summary["mode"] == "deductive") & (summary["setting"] == "base=8,digits=2")].iloc[0]
    place = [c.setting for c in overview.setting_columns(summary)].index("base=8,digits=2")
    assert direct.text[0][place] == f"{row['accuracy']:.0%}"
    hover = direct.customdata[0][place]
    assert f"95% interval {row['ci_low']:.1%} to {row['ci_high']:.1%} (Wilson over items)" in hover
    assert f"{row['correct']} of {row['n']} items" in hover
    assert "cluster bootstrap over instances" in code.customdata[0][place]


def test_a_cell_not_measured_is_blank_and_says_so() -> None:
    summary = stats.summary(items(("deductive", "io")))
    summary = summary[~((summary["mode"] == "io") & (summary["probe"] == "cipher"))]
    io = next(h for h in overview.overview_matrix(summary).data if h.name == "io")
    assert io.z[0][-1] is None and io.text[0][-1] == "" and io.customdata[0][-1].endswith("not measured")


def test_many_settings_wrap_the_mode_facets_onto_more_rows() -> None:
    summary = stats.summary(items(("deductive", "io", "io_rule")))
    wide = pd.concat(
        [summary.assign(probe=f"family{i}") for i in range(6)], ignore_index=True
    )  # 42 settings: too many for two facets side by side
    figure = overview.overview_matrix(wide)
    assert {h.xaxis for h in figure.data} == {"x", "x2", "x3"} and figure.layout.yaxis2.domain[1] < 1


def test_an_empty_summary_says_so() -> None:
    figure = overview.overview_matrix(stats.summary(items().iloc[0:0]))
    assert not figure.data and "No scored items" in figure.layout.annotations[0].text


def test_result_tables_narrow_to_the_rows_asked_for() -> None:
    frame = pd.concat([items(models=("m1",)), items(models=("m2",))], ignore_index=True)
    tables = api.result_tables(frame, sampling.function_frame([]))
    only = tables.only(["m2"])
    assert set(only.summary["model_label"]) == {"m2"} and set(only.gaps["model_label"]) == {"m2"}
    assert len(only.summary) == len(tables.summary) // 2


@pytest.fixture
def planted_store(tmp_path: Path) -> tuple[Store, list[str]]:
    store = Store(tmp_path / "s.db")
    run_ids = []
    for number in range(2):
        plan = planted_plan(
            "openai/m", probes=("arithmetic",), modes=("deductive", "solverlearner"), n=4, instances=2
        )
        plant_run(store, f"r{number}", plan, lambda *key, s=number: (key[3] + key[4] + s) % 2 == 0)
        run_ids.append(f"r{number}")
    return store, run_ids


def test_the_narrow_read_is_the_item_frame_without_texts(planted_store: tuple[Store, list[str]]) -> None:
    store, run_ids = planted_store
    narrow = read.stats_items(store, run_ids)
    assert list(narrow.columns) == [*read.STATS_COLUMNS, "consistent_worlds", "shots", "noise"]
    # The same values and types, but the group-by keys in pandas' string dtype (faster to group).
    keys = ["run_id", "model", "probe", "setting", "mode"]
    assert all(pd.api.types.is_string_dtype(narrow[key]) and narrow[key].dtype != object for key in keys)
    pd.testing.assert_frame_equal(
        narrow.astype(dict.fromkeys(keys, object)), read.items_frame(store, run_ids)[list(narrow.columns)]
    )
    assert read.stats_items(store, []).empty and list(read.stats_items(store, []).columns) == list(
        narrow.columns
    )


def test_the_result_set_is_the_tables_of_the_full_item_frame(planted_store: tuple[Store, list[str]]) -> None:
    store, run_ids = planted_store
    result = api.result_set(store, run_ids)
    full = api.result_tables(api.browse_items(store, run_ids), api.functions_frame(store, run_ids))
    pd.testing.assert_frame_equal(result.tables.summary, full.summary)
    pd.testing.assert_frame_equal(result.tables.gaps, full.gaps)
    assert result.unrecorded is None
    labels = set(result.tables.summary["model_label"])
    assert len(labels) == 2 and all(label.startswith("openai/m - ") for label in labels)
