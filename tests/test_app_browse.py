"""lab.results.read and lab.results.browse: what the app's Inspect and Results pages read, filter and page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.results import browse, read, stats
from lab.run.records import SWEEP_COLUMNS, Item
from lab.run.store import ITEM_COLUMNS, Store


def item(
    run_id: str,
    model: str,
    setting: str,
    mode: str,
    case: int,
    correct: bool,
    error: str | None = None,
    call_id: int | None = 1,
    function_id: int | None = None,
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "model": model,
        "probe": "arithmetic",
        "setting": setting,
        "default_world": int(setting.startswith("base=10")),
        "mode": mode,
        "instance": 0,
        "case_index": case,
        "input": f"{case}+1",
        "expected": str(case + 1),
        "predicted": str(case + 1) if correct else None,
        "correct": int(correct),
        "error": error,
        "detail": "boom" if error else None,
        "call_id": call_id,
        "function_id": function_id,
    }


@pytest.fixture
def store(db_path: Path) -> Store:
    store = Store(db_path)
    for run_id in ("r1", "r2"):
        store.create_run(run_id, {"models": []}, "hash", 8, {})
    rows = [
        item("r1", "m", "base=10,digits=2", "deductive", c, c % 2 == 0, None if c % 2 == 0 else "unparsed")
        for c in range(4)
    ]
    rows += [
        item(
            "r1",
            "m",
            "base=8,digits=2",
            "solverlearner",
            c,
            c == 0,
            None if c == 0 else "runtime_error",
            call_id=None,
            function_id=7,
        )
        for c in range(4)
    ]
    rows += [item("r2", "m", "base=8,digits=2", "deductive", c, True) for c in range(3)]
    store.save_items([Item(**row) for row in rows])
    return store


def test_the_item_frame_with_links_is_the_item_frame_plus_ids(store: Store) -> None:
    frame = read.items_frame(store, ["r1"], links=True)
    assert list(frame.columns) == [*ITEM_COLUMNS, *SWEEP_COLUMNS, *read.LINK_COLUMNS]
    plain = read.items_frame(store, ["r1"])
    pd.testing.assert_frame_equal(frame[list(plain.columns)], plain)
    assert len(frame) == 8 and frame["function_id"].dtype == "Int64"
    assert frame["function_id"].isna().sum() == 4 and frame["call_id"].isna().sum() == 4
    # lab.stats reads it as it is.
    assert stats.summary(frame)["n"].tolist() == [4, 4]


def test_change_marker_follows_the_item_counts(store: Store) -> None:
    assert browse.change_marker(store, ["r1", "r2"]) == (8, 3)
    store.save_items([Item(**item("r2", "m", "base=8,digits=2", "deductive", 3, True))])
    assert browse.change_marker(store, ["r1", "r2"]) == (8, 4)


def test_a_model_in_several_runs_is_labelled_by_run_and_kept_apart(store: Store) -> None:
    one = read.with_model_labels(read.items_frame(store, ["r1"]))
    assert set(one["model_label"]) == {"m"}
    both = read.with_model_labels(read.items_frame(store, ["r1", "r2"]))
    assert set(both["model_label"]) == {"m [r1]", "m [r2]"}
    assert set(both["model"]) == {"m"}  # the model string itself stays as it is: nothing to parse back
    table = stats.summary(both)
    assert table["model_label"].nunique() == 2 and set(table["model"]) == {"m"}
    assert table.loc[table["model_label"] == "m [r2]", "n"].tolist() == [3]
    assert read.with_model_labels(read.items_frame(store, []))["model_label"].tolist() == []


def test_filters_combine_and_an_empty_filter_keeps_everything(store: Store) -> None:
    frame = read.items_frame(store, ["r1", "r2"], links=True)
    assert len(browse.filter_items(frame)) == 11
    assert len(browse.filter_items(frame, modes=["solverlearner"], outcome="wrong")) == 3
    assert len(browse.filter_items(frame, settings=["arithmetic:base=8,digits=2"], outcome="correct")) == 4
    assert len(browse.filter_items(frame, errors=[browse.NO_ERROR])) == 6
    assert len(browse.filter_items(frame, errors=["unparsed", "runtime_error"])) == 5
    assert len(browse.filter_items(frame, models=["other"])) == 0
    assert browse.error_categories(frame) == [browse.NO_ERROR, "runtime_error", "unparsed"]
    with pytest.raises(ValueError, match="outcome must be one of"):
        browse.filter_items(frame, outcome="maybe")


def test_pages_are_clamped_and_cover_every_row() -> None:
    frame = pd.DataFrame({"x": range(7)})
    assert browse.page_count(7, 3) == 3 and browse.page_count(0, 3) == 1
    assert [browse.page(frame, n, 3)["x"].tolist() for n in (1, 2, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert browse.page(frame, 9, 3)["x"].tolist() == [6]
    assert browse.page(frame, 0, 3)["x"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        browse.page_count(7, 0)


def test_item_record_gives_plain_values_for_item_detail(store: Store) -> None:
    frame = read.items_frame(store, ["r1"], links=True)
    record = browse.item_record(frame.iloc[5])
    assert record["call_id"] is None and record["function_id"] == 7 and isinstance(record["function_id"], int)
    assert record["correct"] is False and record["predicted"] is None and record["case_index"] == 1


def test_unrecorded_items_are_summarised_by_mode_with_readable_model_names() -> None:
    recorded = "replay/anchors/arithmetic/model_interactions/0shot/without_0cot/gpt4_base*.tsv"
    rows = [item("r1", recorded, "base=8,digits=2", "solverlearner", 0, False, error="not_recorded")]
    rows += [item("r1", recorded, "base=8,digits=2", "deductive", c, c % 2 == 0) for c in range(3)]
    rows += [item("r1", "live", "base=8,digits=2", "ccc", c, False, error="not_recorded") for c in range(2)]
    frame = pd.DataFrame(rows)
    assert browse.unrecorded_summary(frame) == (
        "solverlearner: 1 items (gpt-4-0314 (recorded)); ccc: 2 items (live)"
    )
    assert browse.unrecorded_summary(frame[frame["error"].isna()]) is None
