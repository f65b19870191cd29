"""How many replies of a run stopped at the token cap, and the larger cap to try instead.

A reply cut at `max_tokens` before a readable answer (or a whole function) is scored wrong with
error `truncated`. It says nothing about the model's reasoning, only that it was not let finish;
`advice` counts them so that the Run page can suggest a larger cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.run.records import TRUNCATED

if TYPE_CHECKING:  # the record is importable without pandas
    import pandas as pd

GROWTH = 2  # the suggested cap is this many times the cap the run used


@dataclass(frozen=True)
class TruncationAdvice:
    """A run's replies cut at the token cap: how many, out of how many, and what to do about it."""

    run_id: str
    truncated: int  # replies (model calls) cut at the cap without a readable answer
    replies: int  # replies behind the run's scored items
    items: int  # items scored `truncated` (in a code mode, every case of a cut reply's instance)
    max_tokens: int  # the cap the run used
    suggested_max_tokens: int
    message: str


def advice(run_id: str, items: pd.DataFrame, max_tokens: int) -> TruncationAdvice | None:
    """The advice for a run from its items (with their `error` and `call_id`); None when no reply was cut."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens!r}")
    cut = items["error"] == TRUNCATED
    if not cut.any():
        return None
    calls = items["call_id"]
    truncated = int(calls[cut].nunique()) + int(calls[cut].isna().sum())
    replies = int(calls.nunique()) + int(calls.isna().sum())
    suggested = GROWTH * max_tokens
    message = (
        f"{truncated} of {replies} replies stopped at the {max_tokens}-token cap before a readable answer "
        f"({int(cut.sum())} items scored `{TRUNCATED}`, counted wrong). Run again with a larger cap, "
        f"e.g. max tokens {suggested} (`--max-tokens {suggested}`)."
    )
    return TruncationAdvice(
        run_id=run_id,
        truncated=truncated,
        replies=replies,
        items=int(cut.sum()),
        max_tokens=max_tokens,
        suggested_max_tokens=suggested,
        message=message,
    )
