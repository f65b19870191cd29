"""lab.results.read and lab.results.browse: what the app's Inspect and Results pages read, filter and page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.results import browse, detail, query, read, stats
from lab.run.prepare import prepare_run
from lab.run.records import SWEEP_COLUMNS, FunctionRecord, Item
from lab.run.store import ITEM_COLUMNS, Store
from tests.planted import planted_plan


def item(
    run_id: str,
    model: str,
    setting: str,
    mode: str,
    case: int,
    correct: bool,
    error: str | None = None,
    call_id: int | None = 1,
    function_id: int | None = None,
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "model": model,
        "probe": "arithmetic",
        "setting": setting,
        "default_world": int(setting.startswith("base=10")),
        "mode": mode,
        "instance": 0,
        "case_index": case,
        "input": f"{case}+1",
        "expected": str(case + 1),
        "predicted": str(case + 1) if correct else None,
        "correct": int(correct),
        "error": error,
        "detail": "boom" if error else None,
        "call_id": call_id,
        "function_id": function_id,
    }


def call(store: Store, run_id: str, response: str, *, tokens: tuple[int, int], latency: float) -> int:
    return store.record_call(
        run_id=run_id,
        cache_key=f"{run_id}-{response}",
        model="m",
        messages=[{"role": "user", "content": "what is it?"}],
        params={},
        response=response,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        latency=latency,
    )


@pytest.fixture
def store(db_path: Path) -> Store:
    store = Store(db_path)
    for run_id in ("r1", "r2"):
        store.create_run(run_id, {"models": []}, "hash", 8, {})
    carry = call(store, "r1", "So we carry the ONE: \\boxed{1}", tokens=(120, 30), latency=1.5)
    slow = call(store, "r1", "nothing here", tokens=(200, 50), latency=2.5)
    rows = [
        item(
            "r1",
            "m",
            "base=10,digits=2",
            "deductive",
            c,
            c % 2 == 0,
            None if c % 2 == 0 else "unparsed",
            call_id=carry if c < 2 else slow,
        )
        for c in range(4)
    ]
    store.save_items([Item(**row) for row in rows])
    rows = [
        item(
            "r1",
            "m",
            "base=8,digits=2",
            "solverlearner",
            c,
            c == 0,
            None if c == 0 else "runtime_error",
            call_id=None,
        )
        for c in range(4)
    ]
    function = FunctionRecord(
        run_id="r1",
        model="m",
        probe="arithmetic",
        setting="base=8,digits=2",
        mode="solverlearner",
        instance=0,
        call_id=None,
        code="def solver(x):\n    return x\n",
        verdict=None,
        detail=None,
        examples=(),
        fits_examples=None,
        memorised=False,
        held_out_failed=(1, 2, 3),
    )
    store.save_items([Item(**row) for row in rows], [function])
    off = call(store, "r2", "50% off the top", tokens=(10, 5), latency=0.5)
    plain = call(store, "r2", "plain", tokens=(10, 5), latency=0.5)
    rows = [
        item("r2", "m", "base=8,digits=2", "deductive", c, True, call_id=off if c == 0 else plain)
        for c in range(3)
    ]
    store.save_items([Item(**row) for row in rows])
    return store


def test_the_item_frame_with_links_is_the_item_frame_plus_ids(store: Store) -> None:
    frame = read.items_frame(store, ["r1"], links=True)
    assert list(frame.columns) == [*ITEM_COLUMNS, *SWEEP_COLUMNS, *read.LINK_COLUMNS]
    plain = read.items_frame(store, ["r1"])
    pd.testing.assert_frame_equal(frame[list(plain.columns)], plain)
    assert len(frame) == 8 and frame["function_id"].dtype == "Int64"
    assert frame["function_id"].isna().sum() == 4 and frame["call_id"].isna().sum() == 4
    # lab.stats reads it as it is.
    assert stats.summary(frame)["n"].tolist() == [4, 4]


def test_change_marker_follows_the_item_counts(store: Store) -> None:
    assert browse.change_marker(store, ["r1", "r2"])[:2] == (8, 3)
    store.save_items([Item(**item("r2", "m", "base=8,digits=2", "deductive", 3, True))])
    assert browse.change_marker(store, ["r1", "r2"])[:2] == (8, 4)


def test_change_marker_follows_renames_of_any_run(store: Store) -> None:
    """A label depends on every stored run's name, so renaming any run must refresh cached pages."""
    plan = planted_plan("openai/x", probes=("arithmetic:base=8",), modes=("deductive",), n=2, instances=1)
    prepare_run(store, plan, "r9")
    before = browse.change_marker(store, ["r1"])
    assert store.set_name("r9", "renamed")
    after = browse.change_marker(store, ["r1"])
    assert after[0] == before[0] == 8 and after != before
    assert browse.change_marker(store, ["r1"]) == after  # unchanged when nothing changed


def test_a_model_in_several_runs_is_labelled_by_run_and_kept_apart(store: Store) -> None:
    # These runs have items but no run record: unnamed, and undated (their ids hold no date).
    one = read.with_model_labels(read.items_frame(store, ["r1"]))
    assert set(one["model_label"]) == {"m - r1"}
    both = read.with_model_labels(read.items_frame(store, ["r1", "r2"]))
    assert set(both["model_label"]) == {"m - r1", "m - r2"}
    assert set(both["model"]) == {"m"}  # the model string itself stays as it is: nothing to parse back
    table = stats.summary(both)
    assert table["model_label"].nunique() == 2 and set(table["model"]) == {"m"}
    assert table.loc[table["model_label"] == "m - r2", "n"].tolist() == [3]
    assert read.with_model_labels(read.items_frame(store, []))["model_label"].tolist() == []


def both(**fields: object) -> query.ItemQuery:
    return query.ItemQuery(run_ids=("r1", "r2"), **fields)


def test_filters_combine_in_the_store_and_an_empty_filter_keeps_everything(store: Store) -> None:
    def count(**fields: object) -> int:
        return browse.count_matching(store, both(**fields))

    assert count() == 11
    assert count(modes=("solverlearner",), outcome="wrong") == 3
    assert count(settings=("arithmetic:base=8,digits=2",), outcome="correct") == 4
    assert count(errors=(query.NO_ERROR,)) == 6
    assert count(errors=("unparsed", "runtime_error")) == 5
    assert count(errors=(query.NO_ERROR, "unparsed")) == 8
    assert count(models=("other",)) == 0
    assert browse.count_matching(store, query.ItemQuery(run_ids=("r2",))) == 3
    assert browse.count_matching(store, query.ItemQuery(run_ids=())) == 0
    with pytest.raises(ValueError, match="outcome must be one of"):
        both(outcome="maybe")


def test_facets_list_what_the_runs_hold(store: Store) -> None:
    facets = browse.facets(store, ["r1", "r2"])
    assert (
        facets.runs == ("r1", "r2")
        and facets.models == ("m",)
        and facets.probes == ("arithmetic",)
        and facets.items == 11
    )
    assert facets.settings == ("arithmetic:base=10,digits=2", "arithmetic:base=8,digits=2")
    assert facets.modes == ("deductive", "solverlearner")  # in the modes' order
    assert facets.errors == (query.NO_ERROR, "runtime_error", "unparsed")
    assert browse.facets(store, ["r2"]).errors == (query.NO_ERROR,)


def test_search_finds_input_reply_and_code_in_any_case_and_takes_phrases(store: Store) -> None:
    def found(text: str) -> list[tuple[str, str, int]]:
        rows = browse.item_page(store, both(search=text), number=1, size=100).rows
        return list(zip(rows["run_id"], rows["mode"], rows["case_index"], strict=True))

    assert found("2+1") == [("r1", "deductive", 2), ("r1", "solverlearner", 2), ("r2", "deductive", 2)]
    # r1's deductive replies say "Carry the ONE" (call 1: cases 0 and 1 share it); r2's never do.
    assert found("carry THE one") == [("r1", "deductive", 0), ("r1", "deductive", 1)]
    assert found('"carry the one"') == found("carry THE one")
    assert found('"the carry"') == []  # a phrase must appear as written; its words alone do
    assert found("the carry") == found("carry THE one")
    assert [case for _, mode, case in found("def SOLVER") if mode == "solverlearner"] == [0, 1, 2, 3]
    assert found("5%f") == [] and found("h_re") == []  # % and _ are literal, not wildcards
    assert found("50% off") == [("r2", "deductive", 0)]
    assert query.search_terms('def "return x" ') == ["def", "return x"]


def test_sorting_and_paging_cover_every_matching_item_once_in_order(store: Store) -> None:
    for sort in query.SORTS:
        for descending in (False, True):
            wanted = both(sort=sort, descending=descending)
            pages = [browse.item_page(store, wanted, number=n, size=3) for n in (1, 2, 3, 4)]
            assert [p.pages for p in pages] == [4] * 4 and {p.matching for p in pages} == {11}
            rows = pd.concat([p.rows for p in pages])
            keys = list(zip(rows["run_id"], rows["mode"], rows["setting"], rows["case_index"], strict=True))
            assert len(rows) == 11 and len(set(keys)) == 11, sort
    by_input = pd.concat(
        [
            browse.item_page(store, both(sort="input", descending=True), number=n, size=4).rows
            for n in (1, 2, 3)
        ]
    )
    assert by_input["input"].tolist() == sorted(by_input["input"], reverse=True)
    assert by_input["input"].tolist()[:2] == ["3+1", "3+1"]
    by_latency = browse.item_page(store, both(sort="latency", descending=True), number=1, size=2).rows
    assert by_latency["latency"].tolist() == [2.5, 2.5]
    # Pages are clamped to the pages there are.
    assert browse.item_page(store, both(), number=99, size=3).number == 4
    assert browse.item_page(store, both(), number=0, size=3).rows["case_index"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="cannot sort by 'input; DROP TABLE items'"):
        both(sort="input; DROP TABLE items")
    with pytest.raises(ValueError):
        browse.page_count(7, 0)


def test_a_page_shows_tokens_and_latency_of_the_call_and_blanks_without_one(store: Store) -> None:
    rows = browse.item_page(store, both(modes=("deductive",)), number=1, size=20).rows
    assert list(rows.columns) == list(browse.PAGE_COLUMNS)
    first = rows.iloc[0]
    assert (first["prompt_tokens"], first["completion_tokens"], first["latency"]) == (120, 30, 1.5)
    coded = browse.item_page(store, both(modes=("solverlearner",)), number=1, size=20).rows
    assert coded["prompt_tokens"].isna().all() and coded["latency"].isna().all()  # no call stored
    assert coded["predicted"].tolist()[1:] == [None, None, None]


def test_an_item_key_finds_the_same_item_again(store: Store) -> None:
    row = browse.item_page(store, both(sort="input", descending=True), number=1, size=1).rows.iloc[0]
    key = browse.item_key(row)
    found = browse.find_item(store, key)
    assert found is not None and {c: found[c] for c in browse.KEY_COLUMNS} == {
        c: row[c] for c in browse.KEY_COLUMNS
    }
    assert browse.parse_item_key("r|p|mode|1|2|base=8|openai/a|b") == {
        "run_id": "r",
        "model": "openai/a|b",  # the model keeps any character
        "probe": "p",
        "setting": "base=8",
        "mode": "mode",
        "instance": 1,
        "case_index": 2,
    }
    assert browse.find_item(store, "r9|arithmetic|deductive|0|0|base=8,digits=2|m") is None
    with pytest.raises(ValueError, match="is not run\\|probe"):
        browse.find_item(store, "r1|arithmetic|deductive")


def test_item_record_gives_plain_values_for_item_detail(store: Store) -> None:
    frame = read.items_frame(store, ["r1"], links=True)
    record = browse.item_record(frame.iloc[5])
    assert (
        record["call_id"] is None
        and record["function_id"] is not None
        and isinstance(record["function_id"], int)
    )
    assert record["correct"] is False and record["predicted"] is None and record["case_index"] == 1


def test_unrecorded_items_are_summarised_by_mode_with_readable_model_names() -> None:
    recorded = "replay/anchors/arithmetic/model_interactions/0shot/without_0cot/gpt4_base*.tsv"
    rows = [item("r1", recorded, "base=8,digits=2", "solverlearner", 0, False, error="not_recorded")]
    rows += [item("r1", recorded, "base=8,digits=2", "deductive", c, c % 2 == 0) for c in range(3)]
    rows += [item("r1", "live", "base=8,digits=2", "ccc", c, False, error="not_recorded") for c in range(2)]
    frame = pd.DataFrame(rows)
    assert browse.unrecorded_summary(frame) == (
        "solverlearner: 1 items (gpt-4-0314 (recorded)); ccc: 2 items (live)"
    )
    assert browse.unrecorded_summary(frame[frame["error"].isna()]) is None


def test_the_detail_of_a_verbal_item_shows_the_rule_the_model_stated_and_its_call(store: Store) -> None:
    opening = [{"role": "user", "content": "Here are examples. State the rule."}]
    stated = "Rule: add the numbers in base 8."
    first = store.record_call(
        run_id="r2", cache_key="rule", model="m", messages=opening, params={}, response=stated
    )
    second = store.record_call(
        run_id="r2",
        cache_key="apply",
        model="m",
        messages=[
            *opening,
            {"role": "assistant", "content": stated},
            {"role": "user", "content": "Apply it."},
        ],
        params={},
        response="\\boxed{11}",
        prompt_tokens=42,
        completion_tokens=7,
        latency=0.25,
        cached=True,
    )
    assert second != first
    store.save_items([Item(**item("r2", "m", "base=8,digits=2", "verbal_apply", 0, True, call_id=second))])
    key = browse.item_key(
        {"run_id": "r2", "model": "m", "probe": "arithmetic", "setting": "base=8,digits=2"}
        | {"mode": "verbal_apply", "instance": 0, "case_index": 0}
    )
    found = browse.find_item(store, key)
    assert found is not None
    shown = detail.item_detail(store, found)
    assert shown.stated_rule == stated and shown.reply == "\\boxed{11}"
    assert (shown.prompt_tokens, shown.completion_tokens, shown.latency, shown.cached) == (42, 7, 0.25, True)
    # Other modes state no rule; an item without a call has no call facts.
    plain = browse.item_page(store, both(modes=("deductive",)), number=1, size=1).rows.iloc[0]
    assert detail.item_detail(store, browse.find_item(store, browse.item_key(plain))).stated_rule is None
    coded = browse.find_item(
        store,
        browse.item_key(
            browse.item_page(store, both(modes=("solverlearner",)), number=1, size=1).rows.iloc[0]
        ),
    )
    assert coded is not None
    none = detail.item_detail(store, coded)
    assert none.stated_rule is None and none.prompt_tokens is None and none.cached is None
    assert none.code == "def solver(x):\n    return x\n" and len(none.held_out) == 4
