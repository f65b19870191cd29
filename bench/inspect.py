"""The Inspect page on a large store: one page of items from the store against the old load-all path.

The store of `bench.report` (16 finished runs, 80,080 items, every unit a stored call with a padded
reply and, in the code modes, a function) is planted once. Then, alternating round by round, each
step a user takes on the Inspect page is timed both ways:

- store: `lab.results.browse` (count + one page, SQL with parameters, LIMIT/OFFSET; the app keeps the
  count while the user pages, so a page flip costs less than this);
- old path: read every item of the runs (`api.browse_items`, what the app cached), then filter, search,
  sort and page in pandas; timed with the read (cold) and on the read frame (warm, the app's cache).

    python -m bench.inspect [--runs 16] [--n 91] [--reply-chars 400] [--rounds 3] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.report import open_or_plant, store_arguments
from lab import api
from lab.results import browse, query

PAGE = 50


@dataclass(frozen=True)
class Step:
    name: str
    query: query.ItemQuery
    number: int


def steps(run_ids: tuple[str, ...], needle: str) -> list[Step]:
    every = query.ItemQuery(run_ids=run_ids)
    return [
        Step("open: first page of all items", every, 1),
        Step(
            "filter: solverlearner, wrong",
            query.ItemQuery(run_ids=run_ids, modes=("solverlearner",), outcome="wrong"),
            1,
        ),
        Step("search: last 3 words of a reply", query.ItemQuery(run_ids=run_ids, search=needle), 1),
        Step("search: two words, many items", query.ItemQuery(run_ids=run_ids, search="def solver"), 1),
        Step("sort by input, page 800", query.ItemQuery(run_ids=run_ids, sort="input"), 800),
        Step("last page", every, 10_000),
    ]


def store_page(store: api.Store, step: Step) -> pd.DataFrame:
    return browse.item_page(store, step.query, number=step.number, size=PAGE).rows


def old_read(store: api.Store, run_ids: tuple[str, ...], *, search: bool) -> pd.DataFrame:
    """What the old page read: every item; with a search, every reply and function's code too."""
    items = api.browse_items(store, list(run_ids))
    if search:
        replies = {i: r for i, (_, r) in store.call_texts(run_ids).items()}
        items["reply"] = [replies.get(int(i), "") if not pd.isna(i) else "" for i in items["call_id"]]
        codes = {i: store.function(int(i))["code"] for i in items["function_id"].dropna().unique()}
        items["code"] = [codes.get(i, "") if not pd.isna(i) else "" for i in items["function_id"]]
    return items


def old_page(items: pd.DataFrame, step: Step) -> pd.DataFrame:
    """Filter, search, sort and page in pandas, as the old page did over its cached frame."""
    wanted = step.query
    keep = pd.Series(True, index=items.index)
    if wanted.modes:
        keep &= items["mode"].isin(wanted.modes)
    if wanted.outcome != "all":
        keep &= items["correct"] == (wanted.outcome == "correct")
    for term in query.search_terms(wanted.search):
        found = pd.Series(False, index=items.index)
        for column in ("input", "reply", "code"):
            found |= items[column].fillna("").str.contains(term, case=False, regex=False)
        keep &= found
    chosen = items[keep]
    if wanted.sort != query.STORED_ORDER:
        chosen = chosen.sort_values([{"input": "input"}[wanted.sort], *browse.KEY_COLUMNS])
    pages = browse.page_count(len(chosen), PAGE)
    number = min(step.number, pages)
    return chosen.iloc[(number - 1) * PAGE : number * PAGE]


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    store_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating the two sides (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.db or Path(folder) / "bench.db")
        started = time.perf_counter()
        run_ids = tuple(open_or_plant(path, runs=args.runs, n=args.n, reply_chars=args.reply_chars))
        store = api.Store(path)
        ready = time.perf_counter() - started
        # The last words of the last reply: the search finds the items of that reply (and of any
        # other holding the same words).
        last = store.get_call(max(store.call_texts(run_ids)))
        needle = " ".join(last["response"].split()[-3:])
        all_steps = steps(run_ids, f'"{needle}"')
        print(
            f"inspect benchmark: {len(run_ids)} runs, {browse.count_matching(store, all_steps[0].query):,} "
            f"items, replies of {args.reply_chars} characters, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}; store ready in {ready:.0f} s; {args.rounds} rounds, medians"
        )
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for step in all_steps:
                search = bool(step.query.search)
                times.setdefault((step.name, "store"), []).append(timed(lambda s=step: store_page(store, s)))
                read_started = time.perf_counter()
                items = old_read(store, run_ids, search=search)
                read = time.perf_counter() - read_started
                warm = timed(lambda s=step, f=items: old_page(f, s))
                times.setdefault((step.name, "cold"), []).append(read + warm)
                times.setdefault((step.name, "warm"), []).append(warm)
                got = store_page(store, step)
                expected = old_page(items, step)
                assert got["input"].tolist() == expected["input"].tolist(), step.name
        print(
            f"{'step':34} {'matching':>8} {'store':>8} {'old cold':>9} {'old warm':>9} {'store/cold':>11} "
            f"{'store/warm':>11}"
        )
        for step in all_steps:
            own, cold, warm = (
                statistics.median(times[(step.name, side)]) for side in ("store", "cold", "warm")
            )
            found = browse.count_matching(store, step.query)
            print(
                f"{step.name:34} {found:8,} {own:7.3f}s {cold:8.3f}s {warm:8.3f}s {own / cold:11.3f} "
                f"{own / warm:11.2f}"
            )


if __name__ == "__main__":
    main()
