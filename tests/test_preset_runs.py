"""The recorded presets in one command each: `python -m lab run --preset NAME --db X --csv Y` reproduces
every figure ../shared/anchors/README.md publishes for its task, within 0.01, with no unrecorded item."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from lab import api, cli
from lab.presets import list_presets
from lab.results import read
from lab.run.store import Store
from tests.conftest import ANCHORS

TOLERANCE = 0.01 + 1e-9  # "within 0.01" of a figure printed to two or three places
README = ANCHORS / "README.md"
pytestmark = pytest.mark.skipif(not README.is_file(), reason="../shared/anchors is not beside the checkout")

# The README's model names, and the part of the replayed model's label that names the same model.
ARITHMETIC_MODELS = {
    "gpt-4-0314": "gpt4_",
    "gpt-3.5-turbo-0301": "gpt3.5_",
    "claude-v1.3": "claude_",
    "palm2": "palm2_",
}
SYNTAX_MODELS = {
    "gpt-4-0314": "openai-gpt-4.tsv",
    "gpt-3.5-turbo-0301": "gpt-3.5-turbo-0301",
    "claude-v1.3": "claude-v1.3",
    "palm2": "text-bison-001",
}


def _tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of the text, in order, as rows of cells (header included)."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|") and not set(line) <= set("|- "):
            row = [cell.strip() for cell in line.strip("|").split("|")]
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(row)
        previous = line
    return tables


def _section(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start : end if end > 0 else len(text)]


def published(heading: str) -> dict[tuple[str, bool, str], float]:
    """(model, chain of thought, column) -> figure, from the first table after `heading`."""
    header, *rows = _tables(_section(heading))[0]
    figures = {}
    for model, setting, *values in rows:
        for column, value in zip(header[2:], values, strict=True):
            figures[(model, setting == "zero-shot CoT", column)] = float(value)
    return figures


def run_preset(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Store, list[str]]:
    db, items = tmp_path / "runs.db", tmp_path / "items.csv"
    assert cli.main(["run", "--preset", name, "--db", str(db), "--csv", str(items)]) == 0
    out = capsys.readouterr().out
    assert "NOT a result" not in out and "status: finished" in out
    store = Store(db)
    run_ids = [record.id for record in store.list_runs()]
    with open(items, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(record.total_items for record in store.list_runs())
    assert not [row for row in rows if row["error"] == "not_recorded"]
    return store, run_ids


def accuracies(
    store: Store, run_ids: list[str], models: dict[str, str]
) -> dict[tuple[str, bool, str, str], float]:
    """(README model, chain of thought, mode, setting label) -> accuracy, over the preset's runs."""
    out = {}
    for run_id in run_ids:
        cot = bool(store.get_run(run_id).plan["cot"])  # type: ignore[union-attr]
        for row in read.summary_frame(store, [run_id]).itertuples():
            [model] = [name for name, part in models.items() if part in row.model]
            out[(model, cot, row.mode, row.setting)] = row.accuracy
    return out


def test_wu_arithmetic_recorded_reproduces_every_published_figure(tmp_path: Path, capsys) -> None:
    store, run_ids = run_preset("wu-arithmetic-recorded", tmp_path, capsys)
    found = accuracies(store, run_ids, ARITHMETIC_MODELS)
    figures = published("## Figures these files give")
    assert len(figures) == 4 * 2 * 5
    for (model, cot, column), figure in figures.items():
        base = column.removeprefix("base ")
        got = found[(model, cot, "deductive", f"base={base},digits=2")]
        assert abs(got - figure) <= TOLERANCE, (model, cot, base, got, figure)
    checks = re.search(r"Comprehension check \(200 items\): (.*?)\(same base order", README.read_text(), re.S)
    assert checks is not None
    for model, line in zip(("gpt-4-0314", "gpt-3.5-turbo-0301"), checks.group(1).split(";"), strict=True):
        values = [float(v) for v in re.findall(r"\d\.\d+", line.split(maxsplit=1)[1])]
        for base, figure in zip((10, 8, 9, 11, 16), values, strict=True):
            got = found[(model, False, "ccc", f"base={base},digits=2")]
            assert abs(got - figure) <= TOLERANCE, (model, "check", base, got, figure)


def test_wu_spatial_recorded_reproduces_the_full_layout_table(tmp_path: Path, capsys) -> None:
    store, run_ids = run_preset("wu-spatial-recorded", tmp_path, capsys)
    found = accuracies(store, run_ids, ARITHMETIC_MODELS)
    figures = published("### Spatial")
    assert len(figures) == 4 * 2 * 7
    for (model, cot, world), figure in figures.items():
        got = found[(model, cot, "deductive", f"world={world}")]
        assert abs(got - figure) <= TOLERANCE, (model, cot, world, got, figure)


def test_wu_syntax_check_recorded_reproduces_the_check_table(tmp_path: Path, capsys) -> None:
    store, run_ids = run_preset("wu-syntax-check-recorded", tmp_path, capsys)
    found = accuracies(store, run_ids, SYNTAX_MODELS)
    figures = published("### Syntax comprehension check")
    assert len(figures) == 4 * 2 * 5
    for (model, cot, order), figure in figures.items():
        got = found[(model, cot, "ccc", f"order={order},phrase=word,task=main")]
        assert abs(got - figure) <= TOLERANCE, (model, cot, order, got, figure)


def test_presets_command_lists_name_description_and_what_each_reproduces(capsys) -> None:
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    for preset in list_presets():
        assert f"{preset.name}: {preset.description}" in out
        assert f"reproduces: {preset.reproduces}" in out


def test_prompt_with_the_paper_framing_prints_cheng_et_al_s_wording(capsys) -> None:
    argv = ["prompt", "--probe", "arithmetic:base=8", "--mode", "io", "--shots", "2", "--framing", "paper"]
    assert cli.main(argv) == 0
    [content] = [m["content"] for m in json.loads(capsys.readouterr().out)["messages"]]
    ask = "Q: You are asked to add two numbers, the base of which is unknown, what is "
    blocks = content.split("\n\n")
    assert len(blocks) == 3 and all(block.startswith(ask) for block in blocks)
    for block in blocks[:2]:
        question, answer = block.split("\n")
        sum_ = question.removeprefix(ask).removesuffix("?")
        a, b = sum_.split("+")
        assert answer == f"A: The result for {sum_} is {int(a, 8) + int(b, 8):o}."
    assert blocks[2].endswith("?\nA:")
    assert cli.main([*argv[:-1], "blind"]) == 0
    assert "the result of a hidden rule" in capsys.readouterr().out


def test_a_run_of_mostly_unrecorded_prompts_is_not_reported_as_a_result(tmp_path: Path, capsys) -> None:
    # Wu et al.'s base-8 recordings, asked about generated items they never saw.
    recording = (
        ANCHORS / "counterfactual-evaluation/arithmetic/model_interactions/0shot/without_0cot/gpt4_base8.tsv"
    )
    argv = ["run", "--model", f"replay/{recording}", "--probe", "arithmetic:base=8", "--mode", "deductive"]
    assert cli.main([*argv, "--n", "5", "--db", str(tmp_path / "x.db")]) == 3
    out = capsys.readouterr().out
    assert re.search(r"status: finished, but NOT a result: [345] of 5 items have no recorded reply", out)
    [record] = Store(tmp_path / "x.db").list_runs()
    assert record.status == "finished" and record.reason and "a preset sets them" in record.reason
    # Results leave the cell out, and say why.
    store = Store(tmp_path / "x.db")
    items = api.browse_items(store, [record.id])
    assert api.result_tables(items, api.functions_frame(store, [record.id])).summary.empty
    assert (api.unrecorded_summary(items) or "").endswith(api.UNRECORDED_CELL_NOTE)


def test_preset_options_that_the_preset_sets_are_refused(tmp_path: Path, capsys) -> None:
    argv = ["run", "--preset", "wu-spatial-recorded", "--probe", "spatial", "--db", str(tmp_path / "x.db")]
    assert cli.main(argv) == 2
    assert "sets the probes, modes and files itself; leave out --probe" in capsys.readouterr().err
    assert cli.main(["run", "--preset", "wu", "--db", str(tmp_path / "x.db")]) == 2
    assert "no preset 'wu'; valid: solverlearner-arithmetic" in capsys.readouterr().err
