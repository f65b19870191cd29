"""How runs and their models are labelled wherever a user reads them: charts, tables, CSVs, `lab list`.

A run's label is its name; an unnamed run's is "model - date - short id" (`gpt-4 - 2026-11-30 - 3f2a`),
models through `display_label` so recordings read as the model they recorded. Labels are kept distinct:
a name two runs share gets the short id, a named run of several models gets the model, and any label
still shared gets the run id in brackets.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.models.replay import display_label
from lab.models.spec import ModelSpec
from lab.run.plan import RunError
from lab.run.store import RunRecord

NAME_LIMIT = 80  # characters
# The ids runs get when none is given (`prepare.new_run_id`): local date, time, random hex.
_DEFAULT_ID = re.compile(r"(?P<date>\d{8})-\d{6}-(?P<hex>[0-9a-f]+)")


@dataclass(frozen=True)
class RunFacts:
    """What a label is made of. `models` as items store them; `created` None: dated by the run id."""

    run_id: str
    models: tuple[str, ...]
    name: str | None = None
    created: float | None = None


def run_facts(record: RunRecord) -> RunFacts:
    models = tuple(ModelSpec(**model).label for model in record.plan["models"])
    return RunFacts(record.id, models, record.name, record.created)


def short_id(run_id: str) -> str:
    """The first 4 hex digits of a generated id; an id a user chose (`--run-id`) as it is."""
    parts = _DEFAULT_ID.fullmatch(run_id)
    return parts["hex"][:4] if parts else run_id


def run_date(run: RunFacts) -> str | None:
    """The day the run was created (local time), else the day in its id; None when neither says."""
    if run.created is not None:
        return time.strftime("%Y-%m-%d", time.localtime(run.created))
    parts = _DEFAULT_ID.fullmatch(run.run_id)
    if parts is None:
        return None
    day = parts["date"]
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def clean_name(text: str) -> str | None:
    """A run name as stored: trimmed, spaces collapsed; "" clears the name (None). RunError when it
    holds control characters or is longer than `NAME_LIMIT`."""
    name = " ".join(text.split())
    if any(unicodedata.category(char)[0] == "C" for char in name):
        raise RunError(f"a run name holds printable characters only, got {text!r}: type it again")
    if len(name) > NAME_LIMIT:
        raise RunError(f"a run name has at most {NAME_LIMIT} characters, got {len(name)}: {name[:40]!r}...")
    return name or None


def _default_label(models: str, run: RunFacts) -> str:
    return " - ".join(part for part in (models, run_date(run), short_id(run.run_id)) if part)


def model_labels(runs: Sequence[RunFacts]) -> dict[tuple[str, str], str]:
    """(run id, model) -> the label of that model in that run, distinct across `runs`."""
    shared = _shared_names(runs)
    labels: dict[tuple[str, str], str] = {}
    for run in runs:
        for model in run.models:
            shown = display_label(model)
            if not run.name:
                labels[run.run_id, model] = _default_label(shown, run)
                continue
            label = run.name + (f" - {shown}" if len(run.models) > 1 else "")
            labels[run.run_id, model] = label + (f" - {short_id(run.run_id)}" if run.name in shared else "")
    return _distinct(labels)


def run_labels(runs: Sequence[RunFacts]) -> dict[str, str]:
    """Run id -> the run's label (History, `lab list`): its name, else its models, date and short id."""
    shared = _shared_names(runs)
    labels: dict[tuple[str, str], str] = {}
    for run in runs:
        if run.name:
            label = run.name + (f" - {short_id(run.run_id)}" if run.name in shared else "")
        else:
            label = _default_label(", ".join(dict.fromkeys(map(display_label, run.models))), run)
        labels[run.run_id, ""] = label
    return {run_id: label for (run_id, _), label in _distinct(labels).items()}


def _shared_names(runs: Sequence[RunFacts]) -> set[str]:
    return {name for name, count in Counter(run.name for run in runs if run.name).items() if count > 1}


def _distinct(labels: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """Labels still shared (a name that reads as another run's label, one model twice) get the run id
    and, within one run, the model string."""
    counts = Counter(labels.values())
    out = {key: label if counts[label] == 1 else f"{label} [{key[0]}]" for key, label in labels.items()}
    counts = Counter(out.values())
    return {key: label if counts[label] == 1 else f"{label} [{key[1]}]" for key, label in out.items()}
