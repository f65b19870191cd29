"""What the Run page and the command line say about a run beside its progress: the time it has left,
whether a repeat would give the same replies, and whether it is the quick smoke test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lab.run.eta import ProgressSample, eta_seconds, format_duration

if TYPE_CHECKING:
    from lab.run.determinism import Determinism
    from lab.run.plan import RunPlan
    from lab.run.store import Store

__all__ = [
    "ProgressSample",
    "determinism_note",
    "eta_text",
    "run_determinism",
    "smoke_test_note",
]


def eta_text(samples: Sequence[ProgressSample], total: int) -> str | None:
    """`about 12 min left` at the rate of the recent progress `samples`; None until that rate is known."""
    seconds = eta_seconds(samples, total)
    if seconds is None:
        return None
    return "done" if seconds == 0 else f"about {format_duration(seconds)} left"


def run_determinism(store: Store, run_id: str) -> Determinism:
    """Whether a repeat of the run would give identical replies, as recorded when the run was created
    (`promised`; `recorded` is False for runs stored before this was recorded)."""
    from lab.run import study

    return study.run_determinism(store, run_id)


def determinism_note(store: Store, run_id: str) -> str | None:
    """One sentence for Results when a repeat of the run may give other replies; None when it would not."""
    from lab.run import study

    return study.determinism_note(study.run_determinism(store, run_id))


def smoke_test_note(plan: RunPlan) -> str | None:
    """For the quick default study: that it is a smoke test, not a measurement; None for any other plan."""
    from lab.run import study

    return study.smoke_test_note(plan)
