"""Runs written straight into a store, right or wrong where a test says: no model, no sandbox.

Each run has a real plan (so the app and the CLI read it as any other) and, for every work unit of it,
a stored call with its messages and a reply; a code-mode unit also gets its function.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lab.run.plan import ModelSpec, RunPlan, total_items, work_units
from lab.run.records import FunctionRecord, Item
from lab.run.store import Store
from lab.tasks.modes import MODES

# (mode, probe, setting, instance, case_index) -> is the item right?
Rightness = Callable[[str, str, str, int, int], bool]


def planted_plan(
    model: str, *, probes: tuple[str, ...], modes: tuple[str, ...], n: int, instances: int
) -> RunPlan:
    return RunPlan(models=(ModelSpec(model),), probes=probes, modes=modes, n=n, instances=instances, shots=4)


WORDS = (
    "the sum carry digit base column add result so we get first then next value write keep units tens "
    "because therefore check each step number left right place move order rule apply answer"
).split()


def _prose(length: int, *, seed: int) -> str:
    """About `length` characters of words drawn at random (text that compresses as a reply would)."""
    draw = random.Random(seed)
    words: list[str] = []
    while sum(map(len, words)) + len(words) < length:
        words.append(draw.choice(WORDS) if draw.random() > 0.2 else str(draw.randrange(10_000)))
    return " ".join(words)


def plant_run(store: Store, run_id: str, plan: RunPlan, right: Rightness, *, reply_chars: int = 0) -> None:
    """A finished run of `plan`; an item is right where `right` says. Replies are padded to `reply_chars`."""
    store.create_run(run_id, plan.to_dict(), plan.identity_hash(), total_items(plan), {})
    call_seed = sum(map(ord, run_id))
    for unit in work_units(plan):
        setting, mode = unit.setting, unit.mode
        code_mode = MODES[mode].returns_code
        code = f"def solver(x: str) -> str:\n    return planted_{mode}_{unit.instance}(x)\n"
        first, case = unit.cases[0]
        answer = case.output if right(mode, setting.family, setting.label, unit.instance, first) else "WRONG"
        reply = f"```python\n{code}```" if code_mode else f"\\boxed{{{answer}}}"
        reply = reply + " " + _prose(reply_chars - len(reply), seed=call_seed)
        call_seed += 1
        call_id = store.record_call(
            run_id=run_id,
            cache_key=f"{run_id}-{setting.spec}-{mode}-{unit.instance}-{unit.cases[0][0]}",
            model=unit.model.label,
            messages=unit.messages,
            params={},
            response=reply,
        )
        items = []
        for index, case in unit.cases:
            ok = right(mode, setting.family, setting.label, unit.instance, index)
            items.append(
                {
                    "run_id": run_id,
                    "model": unit.model.label,
                    "probe": setting.family,
                    "setting": setting.label,
                    "default_world": setting.default_world,
                    "mode": mode,
                    "instance": unit.instance,
                    "case_index": index,
                    "input": case.input,
                    "expected": case.output,
                    "predicted": case.output if ok else "WRONG",
                    "correct": ok,
                    "error": None if ok else "wrong_answer",
                    "detail": None,
                    "call_id": call_id,
                }
            )
        functions = []
        if code_mode:
            failed = [item["case_index"] for item in items if not item["correct"]]
            functions.append(
                {
                    "run_id": run_id,
                    "model": unit.model.label,
                    "probe": setting.family,
                    "setting": setting.label,
                    "mode": mode,
                    "instance": unit.instance,
                    "call_id": call_id,
                    "code": code,
                    "verdict": None,
                    "detail": None,
                    "examples": (),
                    "fits_examples": None,
                    "memorised": False,
                    "held_out_failed": tuple(failed),
                }
            )
        store.save_items([Item(**item) for item in items], [FunctionRecord(**f) for f in functions])
    store.set_status(run_id, "finished")
