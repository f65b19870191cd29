"""What a run will cost before it starts, and a cap on what it spends while it runs."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lab.models import ModelSpec, provider_for
from lab.run.plan import RunPlan, WorkUnit, work_units
from lab.tasks.modes import MODES

# Prompts counted exactly per (model, setting, mode); the rest of the group is scaled from them.
COUNTED_PER_GROUP = 20


@dataclass(frozen=True)
class ModelEstimate:
    """One model's share of a run if no reply is cached and every refinement round is needed.

    `prompt_cost` prices the prompts alone; `max_cost` adds every reply at the token cap. Both are
    None when litellm's price map does not know the model.
    """

    model: str
    calls: int
    prompt_tokens: int
    max_completion_tokens: int
    prompt_cost: float | None
    max_cost: float | None


def calls_per_unit(plan: RunPlan, unit: WorkUnit) -> int:
    """At most: the oracle's conversation uses up to its turn budget."""
    if MODES[unit.mode].interactive:
        return plan.budget.max_turns
    return plan.samples + plan.rounds if MODES[unit.mode].returns_code else 1


def estimate(plan: RunPlan) -> list[ModelEstimate]:
    """Tokens and cost per model; refinement prompts are counted as long as the first prompt."""
    groups: dict[tuple[ModelSpec, str, str], list[WorkUnit]] = defaultdict(list)
    for unit in work_units(plan):
        groups[(unit.model, unit.setting.spec, unit.mode)].append(unit)
    calls: dict[ModelSpec, int] = defaultdict(int)
    prompt_tokens: dict[ModelSpec, float] = defaultdict(float)
    providers = {model: provider_for(model) for model in plan.models}
    for (model, _, _), units in groups.items():
        step = max(1, len(units) // COUNTED_PER_GROUP)
        counted = units[::step]
        per_call = sum(providers[model].count_tokens(u.messages) for u in counted) / len(counted)
        group_calls = sum(calls_per_unit(plan, u) for u in units)
        calls[model] += group_calls
        prompt_tokens[model] += per_call * group_calls
    estimates = []
    for model in plan.models:
        prompt = round(prompt_tokens[model])
        completion = calls[model] * plan.max_tokens
        provider = providers[model]
        estimates.append(
            ModelEstimate(
                model=model.label,
                calls=calls[model],
                prompt_tokens=prompt,
                max_completion_tokens=completion,
                prompt_cost=provider.price(prompt, 0),
                max_cost=provider.price(prompt, completion),
            )
        )
    return estimates


def format_estimate(estimates: list[ModelEstimate]) -> str:
    """A table for a terminal: one line a model, then the total."""
    lines = [f"{'model':<48} {'calls':>8} {'prompt tokens':>14} {'reply tokens (cap)':>19}  cost (USD)"]
    for e in estimates:
        if e.prompt_cost is None or e.max_cost is None:
            cost = "unknown: litellm's price map does not list this model"
        else:
            cost = f"{e.prompt_cost:.4f} for the prompts, up to {e.max_cost:.4f} with replies at the cap"
        tokens = f"{e.calls:>8} {e.prompt_tokens:>14} {e.max_completion_tokens:>19}"
        lines.append(f"{e.model:<48} {tokens}  {cost}")
    known = [e.max_cost for e in estimates if e.max_cost is not None]
    low = sum(e.prompt_cost for e in estimates if e.prompt_cost is not None)
    total = f"total: {sum(e.calls for e in estimates)} calls; {low:.4f} to {sum(known):.4f} USD"
    unknown = len(estimates) - len(known)
    lines.append(total + (f", plus {unknown} model(s) of unknown price" if unknown else ""))
    lines.append("(no reply cached, every refinement round needed; replies may end well before the cap)")
    return "\n".join(lines)


def check_cost_cap(cap: float | None, models: Iterable[ModelSpec]) -> None:
    """ValueError for a cap a run could not keep: below 0, or with a model litellm's price map does not
    list (its calls count as 0 USD, so the cap would never stop them). Called before a run is stored or
    resumed; local backends (the embedded model, replays) cost nothing and are priced."""
    if cap is None:
        return
    if cap < 0:
        raise ValueError(f"--max-cost must be 0 or more USD, got {cap}")
    unpriced = [model.label for model in models if provider_for(model).price(1, 1) is None]
    if unpriced:
        raise ValueError(
            f"--max-cost {cap:g} cannot cap {', '.join(unpriced)}: litellm's price map does not list "
            f"{'it' if len(unpriced) == 1 else 'them'}, so every call would count as 0 USD and the cap "
            "would never stop the run. Leave out --max-cost, or run the models litellm prices on their own "
            "with it (the cost estimate, on the Run page or by lab run --dry-run, shows which are priced)"
        )


class CostCap:
    """Stops starting paid calls before the run's cost passes `cap` (USD), counting what it spent before.

    A call starts only if what is spent, plus the calls in flight and itself at the mean cost of a
    call so far, stays within the cap; until one call's cost is known, one call runs at a time. So the
    run ends within about one call's cost of the cap (`check_cost_cap` refuses models of unknown price).
    Used on the process's event loop, where the runner's calls are made; `reached` may be read anywhere.
    """

    def __init__(self, cap: float | None, spent: float):
        self.cap = cap
        self.spent = spent
        self._ended = asyncio.Event()  # set, and replaced, as each call ends
        self._in_flight = 0
        self._paid_calls = 0
        self._paid_cost = 0.0
        self.reached = threading.Event()

    async def begin(self) -> bool:
        """Wait until a call may start; False (and `reached` set) once the cap leaves no room for one."""
        if self.cap is None:
            return True
        while not self.reached.is_set():
            decision = self._may_start(self.cap)
            if decision:
                self._in_flight += 1
                return True
            if decision is False:
                self.reached.set()
                self._wake()
                break
            await self._ended.wait()
        return False

    def _may_start(self, cap: float) -> bool | None:
        """True: start; False: the cap is reached; None: wait for a call in flight to end."""
        if self.spent >= cap:
            return False
        if not self._paid_calls:
            return True if self._in_flight == 0 else None
        mean = self._paid_cost / self._paid_calls
        if self.spent + (self._in_flight + 1) * mean <= cap:
            return True
        return False if self._in_flight == 0 else None

    def _wake(self) -> None:
        self._ended.set()
        self._ended = asyncio.Event()

    def end(self, cost: float | None) -> None:
        """A call that `begin` let start has ended: with its cost, or None when it failed."""
        if self.cap is None:
            return
        self._in_flight -= 1
        if cost is not None:
            self.spent += cost
            self._paid_calls += 1
            self._paid_cost += cost
        self._wake()
