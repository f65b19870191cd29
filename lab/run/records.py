"""Typed records between the runner and the store: scored items, code-mode functions, run statuses.

The item columns of the store, the item frame and the items CSV are derived from `Item`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

# A reply cut at the token cap with no readable answer (or no function): not a wrong answer but a
# reply the model was not allowed to finish; the remedy is a larger max_tokens.
TRUNCATED = "truncated"


class RunStatus(StrEnum):
    """Stored as these exact strings. `interrupted` is never stored: a `running` run whose process is gone."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"
    INCOMPLETE = "incomplete"
    INTERRUPTED = "interrupted"


_LINK = {"column": False}  # stored with the item, not one of its tidy columns
_SWEEP = {"column": False, "sweep": True}  # added with sweeps: stored, appended after the tidy columns


@dataclass(frozen=True)
class Item:
    """One held-out case scored for one model, setting, mode and instance."""

    run_id: str
    model: str
    probe: str
    setting: str
    default_world: bool
    mode: str
    instance: int
    case_index: int
    input: str
    expected: str
    predicted: str | None
    correct: bool
    error: str | None
    detail: str | None = field(default=None, metadata=_LINK)
    call_id: int | None = field(default=None, metadata=_LINK)
    function_id: int | None = field(default=None, metadata=_LINK)  # None: the unit's final function
    # The sweep point and identifiability of the instance (None: no examples shown, or stored before
    # these were recorded). Stored and read with the item, not yet among its tidy columns.
    consistent_worlds: int | None = field(default=None, metadata=_SWEEP)
    shots: int | None = field(default=None, metadata=_SWEEP)
    noise: float | None = field(default=None, metadata=_SWEEP)

    def row(self) -> dict[str, Any]:
        """The item as the store holds it (flags as 0/1)."""
        values = {name: getattr(self, name) for name in ITEM_FIELDS}  # flat: no deep copy as `asdict`
        values["default_world"] = int(self.default_world)
        values["correct"] = int(self.correct)
        return values


ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Item))
# The tidy item columns (the statistics and the items CSV use these, in this order).
ITEM_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Item) if f.metadata.get("column", True))
# Columns to append after ITEM_COLUMNS in the item frame and the items CSV (NULL in older rows).
SWEEP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Item) if f.metadata.get("sweep", False))


@dataclass(frozen=True)
class ShownExample:
    """How a function did on one shown example."""

    input: str
    expected: str
    output: str | None
    error: str | None
    detail: str | None
    correct: bool

    def what_it_gave(self) -> str:
        if self.output is not None:
            return self.output
        detail = f": {self.detail}" if self.detail else ""
        return f"no output ({self.error}{detail})"


@dataclass(frozen=True)
class FunctionRecord:
    """One function a model wrote in a code mode: a sample, or a refinement round of the chosen sample."""

    run_id: str
    model: str
    probe: str
    setting: str
    mode: str
    instance: int
    call_id: int | None
    code: str | None
    verdict: str | None
    detail: str | None
    examples: tuple[ShownExample, ...]
    fits_examples: bool | None  # None when no examples were shown
    memorised: bool
    held_out_failed: tuple[int, ...]
    sample: int = 0
    round: int = 0
    chosen: bool = True

    @property
    def shown_correct(self) -> int:
        return sum(1 for example in self.examples if example.correct)

    def row(self) -> dict[str, Any]:
        """The function as the store holds it (lists as JSON, flags as 0/1)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["examples"] = json.dumps([asdict(example) for example in self.examples])
        values["held_out_failed"] = json.dumps(list(self.held_out_failed))
        values["fits_examples"] = None if self.fits_examples is None else int(self.fits_examples)
        values["memorised"] = int(self.memorised)
        values["chosen"] = int(self.chosen)
        return values
