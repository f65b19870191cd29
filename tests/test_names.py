"""Run names and labels, accuracy per mode, the typed items export (Parquet) and recorded models' labels."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from lab import api
from lab.cli import main
from lab.models.replay import display_label
from lab.results import read
from lab.run.labels import RunFacts, clean_name, model_labels, run_labels, short_id
from lab.run.store import ITEM_COLUMNS, Store
from tests.planted import plant_run, planted_plan

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
PRESETS = Path(__file__).resolve().parents[1] / "lab" / "presets"
DAY = 1_764_500_000.0  # 2025-11-30 around noon UTC
PROBES = ("arithmetic:base=16", "arithmetic:base=8", "arithmetic:base=10", "arithmetic:base=9")


def day(stamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(stamp))


def test_an_unnamed_run_is_model_date_and_short_id_and_runs_of_one_model_stay_apart() -> None:
    runs = [
        RunFacts("20261130-141937-3f2a9c", ("openai/gpt-4",), created=DAY),
        RunFacts("20261130-150000-77b0e1", ("openai/gpt-4",), created=DAY),
        RunFacts("base8-study", ("replay/x/0shot/with_0cot/gpt4_base*.tsv",), created=DAY),
    ]
    labels = model_labels(runs)
    assert labels["20261130-141937-3f2a9c", "openai/gpt-4"] == f"openai/gpt-4 - {day(DAY)} - 3f2a"
    assert labels["20261130-150000-77b0e1", "openai/gpt-4"] == f"openai/gpt-4 - {day(DAY)} - 77b0"
    assert (
        labels["base8-study", runs[2].models[0]] == f"gpt-4-0314 (recorded, CoT) - {day(DAY)} - base8-study"
    )
    # Without its creation time (a frame read outside a store) a run is dated by its id.
    assert model_labels([RunFacts("20261130-141937-3f2a9c", ("m",))]) == {
        ("20261130-141937-3f2a9c", "m"): "m - 2026-11-30 - 3f2a"
    }
    assert short_id("20261130-141937-3f2a9c") == "3f2a" and short_id("my-run") == "my-run"


def test_a_named_run_is_its_name_kept_distinct_when_shared_or_of_several_models() -> None:
    runs = [
        RunFacts("20261130-141937-3f2a9c", ("a",), name="base-9 sweep", created=DAY),
        RunFacts("20261130-150000-77b0e1", ("a",), name="base-9 sweep", created=DAY),
        RunFacts("20261130-160000-99c0e1", ("a", "b"), name="pair", created=DAY),
        RunFacts("20261130-170000-0000e1", ("c",), name="solo", created=DAY),
        # A name that reads as another run's default label still gives two labels.
        RunFacts("20261130-180000-1234e1", ("d",), name=f"c - {day(DAY)} - 5678", created=DAY),
        RunFacts("20261130-190000-5678e1", ("c",), created=DAY),
    ]
    labels = model_labels(runs)
    assert labels["20261130-141937-3f2a9c", "a"] == "base-9 sweep - 3f2a"
    assert labels["20261130-150000-77b0e1", "a"] == "base-9 sweep - 77b0"
    assert (labels["20261130-160000-99c0e1", "a"], labels["20261130-160000-99c0e1", "b"]) == (
        "pair - a",
        "pair - b",
    )
    assert labels["20261130-170000-0000e1", "c"] == "solo"
    assert len(set(labels.values())) == len(labels)
    whole = run_labels(runs)
    assert whole["20261130-160000-99c0e1"] == "pair" and len(set(whole.values())) == len(runs)
    assert run_labels([RunFacts("r", ("a", "b", "a"), created=DAY)]) == {"r": f"a, b - {day(DAY)} - r"}


@pytest.mark.parametrize(
    ("text", "stored"), [("  base-9   sweep ", "base-9 sweep"), ("", None), ("   ", None), ("ünï ✓", "ünï ✓")]
)
def test_names_are_trimmed_and_an_empty_one_clears(text: str, stored: str | None) -> None:
    assert clean_name(text) == stored


@pytest.mark.parametrize(("text", "says"), [("a\x1b[31mred", "printable"), ("x" * 81, "at most 80")])
def test_a_name_that_cannot_be_one_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(api.RunError, match=says):
        clean_name(text)


RECORDED = {
    "arithmetic/model_interactions/0shot/without_0cot/gpt4_base*.tsv": "gpt-4-0314 (recorded)",
    "arithmetic/model_interactions/0shot/with_0cot/gpt3.5_base*.tsv": "gpt-3.5-turbo-0301 (recorded, CoT)",
    "arithmetic/model_interactions/ccc/claude_base*.tsv": "claude-v1.3 (recorded)",
    "spatial/model_interactions/with_0cot/palm2_*.tsv": "palm2 (recorded, CoT)",
    "spatial/model_interactions/without_0cot/gpt4_r90.tsv": "gpt-4-0314 (recorded)",
    "syntax/model_interactions/control-*-reconstruct_cot-openai-gpt-4.tsv": "gpt-4 (recorded, CoT)",
    "syntax/model_interactions/control-sov-reconstruct_std-anthropic-claude-v1.3.tsv": (
        "claude-v1.3 (recorded)"
    ),
    "syntax/model_interactions/*-reconstruct_std-models-text-bison-001.tsv": "text-bison-001 (recorded)",
}


@pytest.mark.parametrize(("path", "label"), RECORDED.items())
def test_wu_recordings_are_labelled_by_the_model_they_recorded(path: str, label: str) -> None:
    assert display_label(f"replay/../shared/anchors/counterfactual-evaluation/{path}") == label


def test_every_recorded_model_of_every_preset_and_anchors_file_reads_as_a_model() -> None:
    models = [
        model.replace("{anchors}", str(ANCHORS))
        for preset in PRESETS.glob("*.json")
        for run in json.loads(preset.read_text())["runs"]
        for model in run.get("models", [])
    ]
    files = [f"replay/{path}" for path in ANCHORS.rglob("*.tsv")]
    assert models and (files or not ANCHORS.exists())
    for model in models + files:
        label = display_label(model)
        assert (
            "*" not in label and ".tsv" not in label and label.endswith(("(recorded)", "(recorded, CoT)"))
        ), model
    assert display_label("replay/runs/items.csv") == "items.csv (recorded)"
    assert display_label("openai/gpt-4o") == "openai/gpt-4o"


def plant_four(store: Store) -> list[str]:
    """Four runs, the first two of one model; items right where (case + run number) is even."""
    run_ids = [f"20261130-1{n}0000-{n}{n}a{n}f0" for n in range(4)]
    for number, (run_id, model) in enumerate(zip(run_ids, ("m/a", "m/a", "m/b", "m/c"), strict=True)):
        plan = planted_plan(model, probes=PROBES, modes=("deductive", "io"), n=4, instances=1)
        plant_run(store, run_id, plan, lambda mode, *key, n=number: mode == "io" or (key[3] + n) % 2 == 0)
    return run_ids


def test_labels_reach_the_item_frame_the_summary_and_the_runs_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    run_ids = plant_four(store)
    assert api.rename_run(store, run_ids[2], " my  run ") == "my run"
    items = read.with_model_labels(read.items_frame(store, run_ids), store)
    today = time.strftime("%Y-%m-%d")
    expected = {f"m/a - {today} - 00a0", f"m/a - {today} - 11a1", "my run", f"m/c - {today} - 33a3"}
    assert set(items["model_label"]) == expected
    assert set(read.summary_frame(store, run_ids)["model_label"]) == expected
    # A label does not depend on the selection: a name another run shares keeps its short id.
    api.rename_run(store, run_ids[3], "my run")
    alone = read.with_model_labels(read.items_frame(store, run_ids[2:3]), store)
    assert set(alone["model_label"]) == {"my run - 22a2"}
    runs = api.runs_frame(store).set_index("run_id")
    assert runs.loc[run_ids[3], "label"] == "my run - 33a3" and runs.loc[run_ids[3], "name"] == "my run"
    assert runs.loc[run_ids[0], "name"] == "" and runs["label"].is_unique
    assert api.rename_run(store, run_ids[3], "") is None
    with pytest.raises(api.RunError, match="no run 'nope'"):
        api.rename_run(store, "nope", "x")


def test_history_accuracy_is_per_mode_never_pooled(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    run_ids = plant_four(store)
    by_mode = api.mode_accuracy(store)
    assert list(by_mode.columns) == ["deductive", "io"]  # in MODE_ORDER
    assert by_mode.loc[run_ids[0]].tolist() == [0.5, 1.0]
    assert by_mode.loc[run_ids[1], "deductive"] == 0.5
    assert api.mode_accuracy(Store(tmp_path / "empty.db")).empty


def test_the_items_export_appends_plan_and_typed_setting_columns_and_parquet_keeps_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    store = Store(db)
    run_ids = plant_four(store)
    csv_path, parquet_path = tmp_path / "items.csv", tmp_path / "items.parquet"
    argv = ["export", *run_ids[:2], "--csv", str(csv_path), "--parquet", str(parquet_path), "--db", str(db)]
    assert main(argv) == 0
    typed = pd.read_parquet(parquet_path)
    text = pd.read_csv(csv_path)
    assert list(typed.columns) == list(text.columns)
    assert list(typed.columns[:15]) == [*ITEM_COLUMNS, "messages", "response"]  # the old columns, in order
    assert list(typed.columns[15:]) == [
        *("consistent_worlds", "shots", "noise", "model_label", "run_name", "seed", "temperature"),
        *("max_tokens", "cot", "framing", "samples", "rounds", "n", "instances", "check_n", "identifiable"),
        *("cases_file", "check_file", "base", "digits"),
    ]
    dtypes = typed.dtypes.astype(str).to_dict()
    assert (dtypes["instance"], dtypes["correct"], dtypes["default_world"]) == ("int64", "bool", "bool")
    assert (dtypes["base"], dtypes["seed"], dtypes["shots"], dtypes["check_n"]) == ("Int64",) * 4
    assert (dtypes["temperature"], dtypes["noise"], dtypes["cot"]) == ("Float64", "Float64", "boolean")
    assert sorted(typed["base"].unique()) == [8, 9, 10, 16]  # numbers, so 8 sorts before 10
    assert typed["shots"].isna().all()  # planted items record no sweep point: missing, not 0
    assert typed["predicted"].isna().sum() == 0 and typed["error"].isna().any()
    assert set(typed["run_name"].fillna("unnamed")) == {"unnamed"}
    assert text["base"].sort_values().unique().tolist() == [8, 9, 10, 16]
    # The summary CSV gains the setting's parameters too; Parquet is for items.
    assert main(["export", run_ids[0], "--summary", "--csv", str(tmp_path / "s.csv"), "--db", str(db)]) == 0
    assert pd.read_csv(tmp_path / "s.csv")["base"].dtype == "int64"
    assert main(["export", run_ids[0], "--summary", "--parquet", str(parquet_path), "--db", str(db)]) == 2
    assert main(["export", run_ids[0], "--db", str(db)]) == 2
    assert "--csv PATH, --parquet PATH" in capsys.readouterr().err


def test_cli_names_a_run_renames_it_and_lists_it_by_its_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    store = Store(db)
    run_ids = plant_four(store)
    recording = tmp_path / "recorded.csv"
    api.export_items(store, run_ids[:1], recording)
    run = ["run", "--model", f"replay/{recording}", "--probe", PROBES[0], "--mode", "deductive"]
    run += ["--n", "4", "--instances", "1", "--shots", "4", "--db", str(db), "--name", "replayed  once"]
    assert main(run) == 0
    (new,) = {record.id for record in store.list_runs()} - set(run_ids)
    assert store.get_run(new).name == "replayed once"
    assert main(["rename", run_ids[1], "second of m/a", "--db", str(db)]) == 0
    assert main(["rename", run_ids[1], "\x07bell", "--db", str(db)]) == 2
    capsys.readouterr()
    assert main(["list", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 120 for line in lines)
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert "replayed once" in by_id[new] and "second of m/a" in by_id[run_ids[1]]
    assert f"m/a - {time.strftime('%Y-%m-%d')} - 00a0" in by_id[run_ids[0]]
    assert main(["show", run_ids[1], "--db", str(db)]) == 0
    assert '"name": "second of m/a"' in capsys.readouterr().out


def test_items_whose_run_is_gone_export_with_their_run_columns_blank(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    run_ids = plant_four(store)
    with store._transaction() as db:  # a run row lost while its items stayed (never by `delete_run`)
        db.execute("DELETE FROM runs WHERE id = ?", (run_ids[0],))
    typed = pd.read_parquet(io.BytesIO(api.items_parquet(store, run_ids[:2])))
    gone = typed[typed["run_id"] == run_ids[0]]
    assert gone["seed"].isna().all() and gone["cot"].isna().all() and gone["run_name"].isna().all()
    assert set(gone["model_label"]) == {"m/a - 2026-11-30 - 00a0"}  # dated by its id
    assert typed.loc[typed["run_id"] == run_ids[1], "seed"].eq(0).all()
