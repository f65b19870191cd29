"""Sample size in sight: how wide a cell's 95% interval is expected to be for the sizes of a plan.

A cell is one model x setting x mode. In a direct mode every item is a trial: the expected
half-width is the Wilson half-width at 50% accuracy (the widest) over the cell's items. In a code
mode one function answers every case of its instance, so at worst the cell holds as many trials
as instances: the half-width is the Wilson half-width over the instances (which is also the floor
`lab.results.bootstrap` puts under a thin grid). Above `WARN_ABOVE` (15 points) a cell is too
small to read as a result.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.results.intervals import LEVEL, wilson_limits
from lab.run.plan import RunPlan, instances_for
from lab.tasks.modes import MODES

WARN_ABOVE = 0.15


@dataclass(frozen=True)
class CellPrecision:
    mode: str
    items: int  # scored items per cell (held-out cases x instances)
    units: int  # independent units: items in a direct mode, instances in a code mode
    half_width: float  # expected half-width of the 95% interval, as a proportion (0.15 = 15 points)

    @property
    def too_wide(self) -> bool:
        return self.half_width > WARN_ABOVE

    def warning(self) -> str | None:
        if not self.too_wide:
            return None
        unit = ("instance" if MODES[self.mode].returns_code else "item") + ("" if self.units == 1 else "s")
        return (
            f"{self.mode}: a cell's 95% interval is expected to be ±{self.half_width * 100:.0f} points "
            f"({self.units} {unit} a cell); above ±{WARN_ABOVE * 100:.0f} points a cell is a smoke test, "
            f"not a result: raise {'--instances' if MODES[self.mode].returns_code else '--n'}."
        )


def expected_half_width(units: int, level: float = LEVEL) -> float:
    """The half-width of the Wilson interval at 50% over `units` independent trials (the widest)."""
    if units < 1:
        raise ValueError(f"need at least one unit (item or instance), got {units}")
    low, high = wilson_limits(0.5, units, level)
    return (high - low) / 2


def plan_precision(plan: RunPlan) -> tuple[CellPrecision, ...]:
    """One `CellPrecision` per mode of the plan, for its `n` held-out cases and its instances."""
    out = []
    for mode in plan.modes:
        instances = instances_for(plan, mode)
        units = instances if MODES[mode].returns_code else plan.n * instances
        out.append(CellPrecision(mode, plan.n * instances, units, expected_half_width(units)))
    return tuple(out)


def precision_warnings(plan: RunPlan) -> list[str]:
    """The warnings of `plan_precision`, one per mode whose cells are expected wider than ±15 points."""
    return [w for cell in plan_precision(plan) if (w := cell.warning()) is not None]
