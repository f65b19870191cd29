"""What the Inspect page asks the store for: which items of which runs, in which order.

No pandas and no SQL here: `lab.results.browse` turns an `ItemQuery` into SQL, and the app builds one
from its widgets (and its URL) without loading the item frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_ERROR = "no error"
OUTCOMES: tuple[str, ...] = ("all", "correct", "wrong")
STORED_ORDER = "stored order"
# What a page can be sorted by (`lab.results.browse` maps each to its column; the item key breaks ties).
SORTS: tuple[str, ...] = (
    STORED_ORDER,
    "model",
    "probe",
    "setting",
    "mode",
    "instance",
    "case",
    "input",
    "expected",
    "answer",
    "correct",
    "error",
    "prompt tokens",
    "completion tokens",
    "latency",
)
# A search term is a word, or a phrase in double quotes.
_TERM = re.compile(r'"([^"]+)"|(\S+)')


@dataclass(frozen=True, kw_only=True)
class ItemQuery:
    """Which items of which runs, in which order. An empty tuple filters nothing.

    `settings` holds `probe:setting` specs; `errors` error categories (`NO_ERROR` for none); `search`
    words or "quoted phrases", each found in the input, the reply or the extracted code (any case).
    """

    run_ids: tuple[str, ...]
    models: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    outcome: str = "all"
    errors: tuple[str, ...] = ()
    search: str = ""
    sort: str = STORED_ORDER
    descending: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")
        if self.sort not in SORTS:
            raise ValueError(f"cannot sort by {self.sort!r}; choose one of: {', '.join(SORTS)}")


def search_terms(text: str) -> list[str]:
    """The words and "quoted phrases" of a search, e.g. `def "return x"` -> ["def", "return x"]."""
    return [phrase or word for phrase, word in _TERM.findall(text)]
