"""How long a run has left: the items still to score at the rate measured over recent progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Progress older than this does not set the rate: a run's speed changes (cache hits, longer replies).
RATE_WINDOW_SECONDS = 600.0


@dataclass(frozen=True)
class ProgressSample:
    """At `time` (seconds, any clock), `done` items were scored."""

    time: float
    done: int


def eta_seconds(samples: Sequence[ProgressSample], total: int) -> float | None:
    """Seconds left at the rate of the samples within `RATE_WINDOW_SECONDS` of the latest; None until that
    rate is known (fewer than two samples, or no item scored between them). 0.0 once every item is scored."""
    if not samples:
        return None
    latest = samples[-1]
    if latest.done >= total:
        return 0.0
    recent = [s for s in samples if latest.time - s.time <= RATE_WINDOW_SECONDS]
    first = recent[0]
    scored, elapsed = latest.done - first.done, latest.time - first.time
    if scored <= 0 or elapsed <= 0:
        return None
    return (total - latest.done) * elapsed / scored


def format_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 05 min`: as precise as an estimate deserves."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
