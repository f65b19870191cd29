"""The oracle mode for the app and the command line: its summary per setting and one item's conversation.

The statistics load pandas, so they are imported inside the function that needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lab.run.store import Store
from lab.tasks.oracle import Turn, timeline

if TYPE_CHECKING:
    import pandas as pd


def oracle_summary(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Per run, model and setting of the oracle mode: success rate, mean queries and mean submissions,
    each with a 95% interval over instances (empty when the runs hold no oracle item)."""
    from lab.results import oracle, read

    return oracle.oracle_summary(store, read.items_frame(store, run_ids, links=True))


def oracle_timeline(messages: Sequence[dict[str, str]], response: str | None) -> list[Turn]:
    """The conversation of an oracle item (its call's messages and reply), turn by turn."""
    return timeline(messages, response)
