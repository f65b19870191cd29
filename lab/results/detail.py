"""Everything behind one item for the Inspect page: its exact prompt, raw reply, function and candidates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lab.run.store import Store
from lab.tasks.modes import MODES


@dataclass(frozen=True)
class ItemDetail:
    item: dict[str, Any]
    messages: list[dict[str, str]]
    reply: str | None
    call_error: str | None
    code: str | None
    function: dict[str, Any] | None
    held_out: list[dict[str, Any]]
    # Code modes: every sample and refinement round of the item's unit, oldest first.
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # Verbal modes: the rule the model stated in words (its reply to the first turn), which the item's
    # call carries as the conversation's first assistant turn.
    stated_rule: str | None = None
    # The item's call: tokens sent and received, seconds it took, whether the response cache answered
    # it (None without a call).
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency: float | None = None
    cached: bool | None = None


def candidate_table(detail: ItemDetail) -> pd.DataFrame:
    """One row per function of the item's unit: which sample and round, how it fit, how it scored."""
    cases = len(detail.held_out)
    return pd.DataFrame(
        [
            {
                "sample": c["sample"],
                "round": c["round"],
                "chosen": bool(c["chosen"]),
                "verdict": c["verdict"] or "ran",
                "lookup table": bool(c["memorised"]),
                "shown examples right": f"{sum(e['correct'] for e in c['examples'])} of {len(c['examples'])}",
                "held-out right": f"{cases - len(c['held_out_failed'])} of {cases}",
            }
            for c in detail.candidates
        ],
        columns=[
            "sample",
            "round",
            "chosen",
            "verdict",
            "lookup table",
            "shown examples right",
            "held-out right",
        ],
    )


def item_detail(store: Store, item: Mapping[str, Any]) -> ItemDetail:
    """Everything behind one item: exact prompt, raw reply, and for code modes the function's cases."""
    call = store.get_call(int(item["call_id"])) if item.get("call_id") is not None else None
    function = store.function(int(item["function_id"])) if item.get("function_id") is not None else None
    held_out: list[dict[str, Any]] = []
    if function is not None:
        siblings = store.function_items(int(item["function_id"]))
        held_out = [
            {
                "case": i["case_index"],
                "input": i["input"],
                "expected": i["expected"],
                "output": i["predicted"],
                "correct": bool(i["correct"]),
                "error": i["error"],
                "detail": i["detail"],
            }
            for i in siblings
        ]
    return ItemDetail(
        item=dict(item),
        messages=call["messages"] if call else [],
        reply=call["response"] if call else None,
        call_error=call["error"] if call else None,
        code=function["code"] if function else None,
        function=function,
        held_out=held_out,
        candidates=store.unit_functions(int(item["function_id"])) if function else [],
        stated_rule=stated_rule(item["mode"], call["messages"]) if call else None,
        prompt_tokens=call["prompt_tokens"] if call else None,
        completion_tokens=call["completion_tokens"] if call else None,
        latency=call["latency"] if call else None,
        cached=bool(call["cached"]) if call else None,
    )


def stated_rule(mode: str, messages: Sequence[Mapping[str, str]]) -> str | None:
    """In a verbal mode, the rule the model stated: the first assistant turn of the item's conversation
    (the first turn's reply, which the second turn repeats); None in other modes."""
    if not MODES[mode].verbal:
        return None
    return next((m["content"] for m in messages if m["role"] == "assistant"), None)
