"""Study presets: shipped as data, checked on load, and the recorded ones reproduce the published figures."""

from __future__ import annotations

import csv
import glob
import json
from pathlib import Path

import pytest

from lab.models.transcripts import read_wu_tsv
from lab.presets import Preset, PresetError, PresetRun, list_presets, load_preset, parse_preset
from lab.tasks.modes import MODES, Framing, Reply
from lab.tasks.prompts import build_messages
from probes import Case, get_family, parse_spec
from tests.conftest import ANCHORS

NAMES = [
    "solverlearner-arithmetic",
    "wu-arithmetic-recorded",
    "wu-spatial-recorded",
    "wu-syntax-check-recorded",
]
TOLERANCE = 0.01 + 1e-9  # "within 0.01" of a figure printed to two or three places
has_anchors = pytest.mark.skipif(not ANCHORS.is_dir(), reason="../shared/anchors is not beside the checkout")


def test_every_preset_is_listed_and_loads() -> None:
    presets = list_presets()
    assert [p.name for p in presets] == NAMES
    for preset in presets:
        assert preset.description and preset.reproduces and preset.runs
        for run in preset.runs:
            assert run.label and run.probes and run.modes


def test_solverlearner_arithmetic_is_cheng_et_al_s_four_settings_in_their_wording() -> None:
    [run] = load_preset("solverlearner-arithmetic").runs
    assert run.framing is Framing.PAPER and run.models == ()
    assert set(run.modes) == {"deductive", "io", "io_rule", "solverlearner"}
    assert [s.label for s in parse_spec(run.probes[0])] == [f"base={b},digits=2" for b in (10, 8, 9, 11, 16)]
    assert not load_preset("solverlearner-arithmetic").needs_anchors


def test_unknown_preset_names_the_valid_ones() -> None:
    with pytest.raises(PresetError, match="no preset 'wu'; valid: " + ", ".join(NAMES)):
        load_preset("wu")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"solverlab_preset": 2}, "not a SolverLab preset file"),
        ({"name": "other"}, "names itself 'other'"),
        ({"runs": []}, "has no runs"),
    ],
)
def test_bad_preset_files_say_what_is_wrong(change: dict, message: str) -> None:
    data = json.loads(Path("lab/presets/solverlearner-arithmetic.json").read_text(encoding="utf-8")) | change
    with pytest.raises(PresetError, match=message):
        parse_preset(data, "solverlearner-arithmetic")


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"label": "x", "probes": ["arithmetic"], "modes": ["deduce"]}, "run 1: no mode 'deduce'"),
        ({"label": "x", "probes": ["algebra"], "modes": ["io"]}, "run 1: no probe family 'algebra'"),
        ({"label": "x", "probes": ["arithmetic"], "modes": ["io"], "framing": "x"}, "no framing 'x'"),
        ({"label": "x", "modes": ["io"]}, "missing field 'probes'"),
        ({"label": "x", "probes": ["arithmetic"], "modes": ["io"], "seeds": 3}, "unknown field 'seeds'"),
    ],
)
def test_bad_runs_say_which_run_and_what(run: dict, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        parse_preset({"solverlab_preset": 1, "name": "p", "runs": [run]}, "p")


def test_recorded_presets_need_wu_et_al_s_data_and_say_where_to_put_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOLVERLAB_TRANSCRIPTS", str(tmp_path / "missing"))
    monkeypatch.setattr("lab.models.replay.DEFAULT_TRANSCRIPTS", tmp_path / "missing")
    preset = load_preset("wu-spatial-recorded")
    with pytest.raises(PresetError, match=r"set \$SOLVERLAB_TRANSCRIPTS"):
        preset.resolved()
    resolved = preset.resolved(tmp_path)
    assert resolved.runs[0].cases_file == f"{tmp_path}/counterfactual-evaluation/spatial/3obj.txt"
    assert all(model.startswith(f"replay/{tmp_path}/") for model in resolved.runs[0].models)


# --- the recorded presets reproduce the published figures --------------------------------------
# The runs are expanded here as the plan does (a setting's cases file, one input a line; `#column`
# of a CSV file), each prompt is looked up in the run's recordings, and each reply is scored by the
# mode: every prompt must be recorded, and the accuracies must be the published ones.


def _inputs(template: str, setting_params: dict, n: int) -> list[str]:
    path, _, column = template.format(**setting_params).partition("#")
    with open(path, encoding="utf-8") as handle:
        if column:
            return [row[column] for row in csv.DictReader(handle)][:n]
        return [line.strip() for line in handle][:n]


def _recordings(model: str) -> dict[str, str]:
    files = sorted(glob.glob(model.removeprefix("replay/")))
    assert files, model
    return {record.prompt: record.response for path in files for record in read_wu_tsv(path)}


def _accuracies(run: PresetRun) -> dict[tuple[str, str], float]:
    """(model file pattern, setting label) -> accuracy."""
    [mode] = run.modes
    spec = MODES[mode]
    out = {}
    for model in run.models:
        replies = _recordings(model)
        for probe in run.probes:
            for setting in parse_spec(probe):
                family = get_family(setting.family)
                template = run.check_file if spec.checks_comprehension else run.cases_file
                solve = family.comprehension.solve if spec.checks_comprehension else family.solve
                correct = 0
                for text in _inputs(template, setting.as_dict(), run.n):
                    [message] = build_messages(setting, mode, [], text, cot=run.cot, framing=run.framing)
                    reply = replies[message["content"]]  # KeyError: a prompt that was not recorded
                    score = spec.score(Reply(family, setting, Case(text, solve(setting, text)), reply))
                    correct += score.correct
                out[(Path(model).name, setting.label)] = correct / run.n
    return out


def _preset(name: str) -> Preset:
    return load_preset(name).resolved(ANCHORS)


@has_anchors
def test_wu_arithmetic_recorded_reproduces_the_published_figures() -> None:
    no_cot, cot, check = _preset("wu-arithmetic-recorded").runs
    assert (no_cot.n, cot.n, check.n) == (1000, 1000, 200) and cot.cot and not no_cot.cot
    published = {  # ../shared/anchors/README.md, bases 10, 8, 9, 11, 16
        (no_cot, "gpt4_base*.tsv"): (1.000, 0.823, 0.234, 0.384, 0.630),
        (no_cot, "palm2_base*.tsv"): (0.987, 0.064, 0.022, 0.034, 0.234),
        (cot, "claude_base*.tsv"): (0.987, 0.014, 0.009, 0.040, 0.065),
        (cot, "gpt3.5_base*.tsv"): (0.990, 0.126, 0.098, 0.027, 0.177),
        (check, "gpt4_base*.tsv"): (1.00, 0.98, 0.90, 0.91, 1.00),
        (check, "gpt3.5_base*.tsv"): (1.00, 0.965, 0.77, 0.56, 0.955),
    }
    found = {id(run): _accuracies(run) for run in (no_cot, cot, check)}
    for (run, model), figures in published.items():
        for base, figure in zip((10, 8, 9, 11, 16), figures, strict=True):
            got = found[id(run)][(model, f"base={base},digits=2")]
            assert abs(got - figure) <= TOLERANCE, (run.label, model, base, got)


@has_anchors
def test_wu_spatial_recorded_reproduces_the_full_layout_table() -> None:
    no_cot, cot = _preset("wu-spatial-recorded").runs
    published = {
        (no_cot, "gpt4_*.tsv"): (0.790, 0.290, 0.570, 0.340, 0.060, 0.220, 0.340),
        (cot, "palm2_*.tsv"): (0.840, 0.800, 0.950, 0.380, 0.910, 0.380, 0.540),
    }
    for (run, model), figures in published.items():
        found = _accuracies(run)
        assert len(found) == 4 * 7
        for world, figure in zip(
            ("default", "hflip", "vflip", "r90", "r180", "r270", "random"), figures, strict=True
        ):
            assert abs(found[(model, f"world={world}")] - figure) <= TOLERANCE, (run.label, model, world)


@has_anchors
def test_wu_syntax_check_recorded_reproduces_the_check_table() -> None:
    std, cot = _preset("wu-syntax-check-recorded").runs
    published = {
        (std, "control-*-reconstruct_std-openai-gpt-3.5-turbo-0301.tsv"): (0.880, 0.720, 0.250, 0.610, 0.640),
        (cot, "*-reconstruct_cot-models-text-bison-001.tsv"): (0.280, 0.290, 0.910, 0.940, 0.700),
    }
    for (run, model), figures in published.items():
        found = _accuracies(run)
        for order, figure in zip(("sov", "vso", "vos", "ovs", "osv"), figures, strict=True):
            got = found[(model, f"order={order},phrase=word,task=main")]
            assert abs(got - figure) <= TOLERANCE, (run.label, model, order, got)
