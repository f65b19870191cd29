"""Study presets: a published set-up as data, one JSON file each in this folder.

A preset is one or more runs (Wu et al. ask their deductive items and their checks in different
numbers, with and without chain of thought, so one study can need several plans). In a file,
`{anchors}` stands for the folder of Wu et al.'s data and recordings (`$SOLVERLAB_TRANSCRIPTS`,
else `../shared/anchors` beside the checkout); `{base}`, `{order}` and the other setting
parameters in a cases file are filled in per setting by the plan, as on the command line. A run
without `models` runs on the model the user chooses.

File format (`"solverlab_preset": 1`): `name` (the file's name), `description`, `reproduces`
(what published figures it gives), and `runs`, each with `label`, `probes`, `modes`, and
optionally `models`, `n`, `shots`, `instances`, `cot`, `framing`, `cases_file`, `check_file`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from lab.models.replay import transcripts_folder
from lab.tasks.modes import Framing, ModeError, parse_framing, parse_modes
from probes import ProbeError, parse_spec

FORMAT_VERSION = 1
ANCHORS = "{anchors}"


class PresetError(ValueError):
    """A preset that does not exist, cannot be read, or needs data that is not on this machine."""


@dataclass(frozen=True, kw_only=True)
class PresetRun:
    """One plan of a preset; fields the preset leaves out keep the plan's defaults."""

    label: str
    probes: tuple[str, ...]
    modes: tuple[str, ...]
    models: tuple[str, ...] = ()
    n: int = 20
    shots: int = 8
    instances: int = 3
    cot: bool = False
    framing: Framing = Framing.PAPER
    cases_file: str | None = None
    check_file: str | None = None

    @property
    def needs_anchors(self) -> bool:
        texts = (*self.models, self.cases_file or "", self.check_file or "")
        return any(ANCHORS in text for text in texts)

    def resolved(self, anchors: Path) -> PresetRun:
        """The run with `{anchors}` replaced by the folder of Wu et al.'s data."""

        def fill(text: str | None) -> str | None:
            return None if text is None else text.replace(ANCHORS, str(anchors))

        return replace(
            self,
            models=tuple(text.replace(ANCHORS, str(anchors)) for text in self.models),
            cases_file=fill(self.cases_file),
            check_file=fill(self.check_file),
        )


@dataclass(frozen=True, kw_only=True)
class Preset:
    name: str
    description: str
    reproduces: str
    runs: tuple[PresetRun, ...]

    @property
    def needs_anchors(self) -> bool:
        return any(run.needs_anchors for run in self.runs)

    def resolved(self, anchors: Path | None = None) -> Preset:
        """The preset ready to run: `{anchors}` filled in, or a clear error when the data is missing."""
        if not self.needs_anchors:
            return self
        folder = anchors or transcripts_folder()
        if folder is None:
            raise PresetError(
                f"preset {self.name!r} replays Wu et al.'s recordings, and none were found: set "
                "$SOLVERLAB_TRANSCRIPTS to the folder holding counterfactual-evaluation/, or put it in "
                "../shared/anchors beside the checkout"
            )
        return replace(self, runs=tuple(run.resolved(folder) for run in self.runs))


_RUN_FIELDS = {f.name for f in fields(PresetRun)}


def _folder() -> Traversable:
    return resources.files("lab.presets")


def list_presets() -> list[Preset]:
    """Every preset shipped, by name."""
    names = sorted(
        entry.name[: -len(".json")] for entry in _folder().iterdir() if entry.name.endswith(".json")
    )
    return [load_preset(name) for name in names]


def load_preset(name: str) -> Preset:
    """The preset `name`, checked: its probes, modes and framing exist."""
    entry = _folder().joinpath(f"{name.strip()}.json")
    if not entry.is_file():
        valid = ", ".join(sorted(e.name[:-5] for e in _folder().iterdir() if e.name.endswith(".json")))
        raise PresetError(f"no preset {name!r}; valid: {valid}")
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PresetError(f"cannot read preset {name!r}: {exc}") from None
    return parse_preset(data, name)


def parse_preset(data: object, name: str) -> Preset:
    if not isinstance(data, dict) or data.get("solverlab_preset") != FORMAT_VERSION:
        raise PresetError(
            f'preset {name!r} is not a SolverLab preset file ("solverlab_preset": {FORMAT_VERSION})'
        )
    if data.get("name") != name:
        raise PresetError(f"preset file {name}.json names itself {data.get('name')!r}; the two must agree")
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise PresetError(f"preset {name!r} has no runs: give a list of at least one run")
    return Preset(
        name=name,
        description=str(data.get("description", "")),
        reproduces=str(data.get("reproduces", "")),
        runs=tuple(_parse_run(run, name, number) for number, run in enumerate(runs, 1)),
    )


def _parse_run(raw: object, name: str, number: int) -> PresetRun:
    where = f"preset {name!r}, run {number}"
    if not isinstance(raw, dict):
        raise PresetError(f"{where}: expected an object with label, probes and modes")
    unknown = sorted(set(raw) - _RUN_FIELDS)
    if unknown:
        raise PresetError(f"{where}: unknown field {unknown[0]!r}; valid: {', '.join(sorted(_RUN_FIELDS))}")
    try:
        probes = tuple(str(spec) for spec in raw["probes"])
        for spec in probes:
            parse_spec(spec)
        run = PresetRun(
            label=str(raw["label"]),
            probes=probes,
            modes=tuple(parse_modes(list(raw["modes"]))),
            models=tuple(str(model) for model in raw.get("models", ())),
            n=int(raw.get("n", 20)),
            shots=int(raw.get("shots", 8)),
            instances=int(raw.get("instances", 3)),
            cot=bool(raw.get("cot", False)),
            framing=parse_framing(str(raw.get("framing", Framing.PAPER.value))),
            cases_file=raw.get("cases_file"),
            check_file=raw.get("check_file"),
        )
    except KeyError as exc:
        raise PresetError(f"{where}: missing field {exc.args[0]!r}") from None
    except (ProbeError, ModeError, TypeError, ValueError) as exc:
        raise PresetError(f"{where}: {exc}") from None
    return run
