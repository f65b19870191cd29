"""Execute a stored plan: call models, run solvers in the sandbox, score, commit each item as it is scored."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from executor import SandboxPool
from lab.custom.probes import fingerprints, install_saved
from lab.models import (
    CUT_AT_TOKEN_CAP,
    DEFAULT_RETRY,
    CallParams,
    ModelCallError,
    ModelSpec,
    NoReplyError,
    Provider,
    RetryPolicy,
    provider_for,
)
from lab.models.event_loop import on_loop, run_stoppable, start_stoppable, stoppable_task
from lab.models.limits import call_slots, round_robin
from lab.models.provider import CallCancelledError
from lab.models.replay import NOT_RECORDED
from lab.run.batch import NO_BATCH, BatchOptions, BatchRun
from lab.run.cost import CostCap, check_cost_cap
from lab.run.group_commit import GroupCommit
from lab.run.items import Reply, code_items, direct_items, unanswered_items
from lab.run.oracle import converse
from lab.run.plan import (
    RunError,
    RunPlan,
    WorkUnit,
    work_units,
)
from lab.run.records import FunctionRecord, Item, RunStatus
from lab.run.search import Candidate, search
from lab.run.store import RunRecord, Store
from lab.tasks.modes import MODES
from lab.tasks.prompts import followup_messages, refinement_messages, solver_signature
from probes import ProbeFamily, Setting, get_family


@dataclass(frozen=True)
class Progress:
    run_id: str
    done: int
    total: int
    failures: int
    prompt_tokens: int
    completion_tokens: int
    cost: float


ProgressCallback = Callable[[Progress], None]


def _takes_one_call(unit: WorkUnit) -> bool:
    """Whether the unit is scored on one model call (run as a coroutine on the process's event loop)."""
    mode = MODES[unit.mode]
    return not (mode.returns_code or mode.verbal or mode.interactive)


def cache_key(model: ModelSpec, messages: list[dict[str, str]], params: dict[str, Any], sample: int) -> str:
    payload = {
        "model": model.name,
        "api_base": model.api_base,
        "messages": messages,
        "params": params,
        "sample": sample,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class _UnansweredError(Exception):
    """Ends a unit whose provider has no reply to give; the call was stored as `call_id`."""

    def __init__(self, error: NoReplyError, call_id: int):
        super().__init__(str(error))
        self.category = error.category
        self.call_id = call_id


@dataclass
class _Counters:
    done: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    failures: int = 0
    last_error: str = ""


def execute_run(
    store: Store,
    run_id: str,
    *,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    retry: RetryPolicy | None = None,
    sandbox: SandboxPool | None = None,
    preflight: bool = True,
    max_cost: float | None = None,
    batch: BatchOptions = NO_BATCH,
) -> RunRecord:
    """Finish every item of the run that is not stored yet; safe to call again after any crash.
    `max_cost` (USD) stops the run before its total cost passes it; resume to go on. `batch` sends the
    opening calls through the provider's batch API (the run's open batches are waited for in any case)."""
    executor = RunExecutor(
        store, run_id, progress=progress, stop=stop, retry=retry, sandbox=sandbox, max_cost=max_cost
    )
    return executor.run(preflight=preflight, batch=batch)


class RunExecutor:
    """One execution of a stored run: the pending work units, called and scored from the process's event
    loop (one-call units as its coroutines, the others on a thread pool)."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
        retry: RetryPolicy | None = None,
        sandbox: SandboxPool | None = None,
        max_cost: float | None = None,
    ):
        self.store = store
        self.run_id = run_id
        self.record = self._load_record()
        self.plan = self._read_plan()
        self.progress = progress
        self.stop = stop or threading.Event()
        self.retry = retry or DEFAULT_RETRY
        self.sandbox = sandbox
        self.budget_exceeded = threading.Event()
        self.providers: dict[ModelSpec, Provider] = {m: provider_for(m) for m in self.plan.models}
        totals = store.totals(run_id)
        self.counters = _Counters(totals.items, totals.prompt_tokens, totals.completion_tokens, totals.cost)
        check_cost_cap(max_cost, self.plan.models)
        self.cost_cap = CostCap(max_cost, totals.cost)
        self.lock = threading.Lock()
        self.commits = GroupCommit(store)
        self.first_turns: dict[tuple[ModelSpec, Setting, int], threading.Lock] = {}
        self.params = {
            "temperature": self.plan.temperature,
            "max_tokens": self.plan.max_tokens,
            "seed": self.plan.seed,
        }

    # ---------------------------------------------------------------- the run's life

    def _load_record(self) -> RunRecord:
        record = self.store.get_run(self.run_id)
        if record is None:
            raise RunError(f"no run {self.run_id!r} in {self.store.path}")
        install_saved(self.store)  # the plan may name custom probes, which live in the store
        return record

    def _read_plan(self) -> RunPlan:
        record = self.record
        try:
            plan = RunPlan.from_dict(record.plan)
        except ValueError as exc:  # e.g. a custom probe deleted since the run was planned
            self._fail_unfinished(f"cannot read the run's plan: {exc}")
            raise RunError(f"cannot read the plan of run {record.id}: {exc}") from None
        now = fingerprints(self.store, {s.family for s in plan.settings()})
        changed = sorted(name for name, digest in now.items() if record.versions.get(name, digest) != digest)
        if changed:
            reason = (
                f"{changed[0]} was deleted and saved anew since this run began, so its cases differ; "
                "start a new run to use it"
            )
            if self._fail_unfinished(reason):
                raise RunError(reason)
        return plan

    def _fail_unfinished(self, reason: str) -> bool:
        if self.record.status == RunStatus.FINISHED:
            return False
        self.store.set_status(self.run_id, RunStatus.FAILED, reason=reason)
        return True

    def run(self, *, preflight: bool = True, batch: BatchOptions = NO_BATCH) -> RunRecord:
        done = self.store.done_keys(self.run_id)
        pending = [u for u in work_units(self.plan) if not set(u.item_keys()) <= done]
        self.store.set_status(self.run_id, RunStatus.RUNNING, pid=os.getpid())
        self._report()
        if preflight and pending:
            self._check_models({u.model for u in pending})
        try:
            self._settle_batches(pending, batch)
            with self._sandbox_for(pending):
                self._dispatch(pending)
        except BaseException as exc:
            stopped = isinstance(exc, KeyboardInterrupt)
            status = RunStatus.STOPPED if stopped else RunStatus.FAILED
            self.store.set_status(self.run_id, status, reason=f"{type(exc).__name__}: {exc}")
            raise
        self._set_final_status()
        final = self.store.get_run(self.run_id)
        assert final is not None
        return final

    def _settle_batches(self, pending: list[WorkUnit], options: BatchOptions) -> None:
        """Batch replies go to the response cache, from which `_dispatch` scores them."""
        BatchRun(
            self.store,
            self.run_id,
            self.plan,
            params=self.params,
            key=lambda model, messages, sample: cache_key(model, messages, self.params, sample=sample),
            stop=self.stop,
            options=options,
        ).settle(pending)
        totals = self.store.totals(self.run_id)
        with self.lock:
            self.counters.prompt_tokens, self.counters.completion_tokens = (
                totals.prompt_tokens,
                totals.completion_tokens,
            )
            self.counters.cost = totals.cost

    def _check_models(self, models: set[ModelSpec]) -> None:
        for model in models:
            try:
                self.providers[model].check()
            except Exception as exc:
                self.store.set_status(self.run_id, RunStatus.FAILED, reason=str(exc))
                raise RunError(str(exc)) from None

    @contextmanager
    def _sandbox_for(self, pending: list[WorkUnit]) -> Iterator[None]:
        if self.sandbox is not None or not any(MODES[u.mode].returns_code for u in pending):
            yield
            return
        self.sandbox = SandboxPool(size=min(2, os.cpu_count() or 1))
        try:
            yield
        finally:
            self.sandbox.close()
            self.sandbox = None

    def _dispatch(self, pending: list[WorkUnit]) -> None:
        """Each pending unit once, dispatched from the process's event loop; an interrupt (Ctrl-C) cancels
        the calls in flight, and the units started end before the run's status is set."""
        dispatched = start_stoppable(functools.partial(self._dispatch_on_loop, pending), lambda: False)
        try:
            failed = dispatched.result()
        except KeyboardInterrupt:
            self.stop.set()
            wait([dispatched])
            raise
        if failed:
            raise failed[0]

    async def _dispatch_on_loop(self, pending: list[WorkUnit]) -> list[BaseException]:
        """At most `limit` units at a time: a one-call unit as a task on this loop (nothing of it waits on
        a thread), the others on a thread of the pool. The errors of failed units, after all have ended."""
        limit = call_slots(self.plan.models, self.plan.concurrency)
        running = asyncio.Semaphore(limit)
        started: set[asyncio.Future[None]] = set()
        failed: list[BaseException] = []

        def finished(unit: asyncio.Future[None]) -> None:
            started.discard(unit)
            error = None if unit.cancelled() else unit.exception()  # cancelled: the run is stopping
            if error is not None:
                failed.append(error)
            running.release()

        loop = asyncio.get_running_loop()
        workers = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="solverlab-call")
        try:
            for unit in round_robin(pending, key=lambda u: u.model):
                await running.acquire()
                if self.should_stop() or failed:
                    running.release()
                    break
                if _takes_one_call(unit):
                    task = stoppable_task(functools.partial(self._one_call, unit), self._cancelled)
                else:
                    task = loop.run_in_executor(workers, self._process, unit)
                started.add(task)
                task.add_done_callback(finished)
        finally:
            if started:
                await asyncio.wait(started)
            self.commits.flush()  # the writes of units cancelled while they waited for their commit
            workers.shutdown()  # its threads are idle now: their units have ended
        return failed

    def _set_final_status(self) -> None:
        missing = self.record.total_items - self.store.totals(self.run_id).items
        counters = self.counters
        if self.stop.is_set():
            status, reason = RunStatus.STOPPED, f"stopped by the user; {missing} items left to resume"
        elif self.cost_cap.reached.is_set():
            status, reason = (
                RunStatus.STOPPED,
                (
                    f"stopped at the cost cap of {self.cost_cap.cap} USD ({self.cost_cap.spent:.4f} spent); "
                    f"{missing} items left: resume with a higher --max-cost to finish"
                ),
            )
        elif self.budget_exceeded.is_set():
            status, reason = (
                RunStatus.FAILED,
                (
                    f"stopped after {counters.failures} failed model calls "
                    f"(budget {self.plan.max_failures}); "
                    f"last: {counters.last_error}; {missing} items left to resume"
                ),
            )
        elif missing:
            status, reason = (
                RunStatus.INCOMPLETE,
                (
                    f"{missing} items not scored because their model calls failed "
                    f"(last: {counters.last_error}); resume to retry them"
                ),
            )
        else:
            status, reason = RunStatus.FINISHED, self._missing_data()
        self.store.set_status(self.run_id, status, reason=reason)

    def _missing_data(self) -> str | None:
        """Why a run whose items are all stored is still no result: most were never answered."""
        unanswered, items = self.store.item_errors(self.run_id, NOT_RECORDED)
        if 2 * unanswered <= items:
            return None
        return (
            f"{unanswered:,} of {items:,} items have no recorded reply (`{NOT_RECORDED}`), so their "
            "scores say nothing about the model: the recordings do not hold these prompts. Choose the "
            "settings, modes, framing and cases file the recordings were made with (a preset sets them)"
        )

    def should_stop(self) -> bool:
        return self.stop.is_set() or self.budget_exceeded.is_set() or self.cost_cap.reached.is_set()

    def _cancelled(self) -> bool:
        return self.stop.is_set() or self.budget_exceeded.is_set()

    def _report(self) -> None:
        if self.progress is None:
            return
        with self.lock:
            c = self.counters
            snapshot = Progress(
                self.run_id,
                c.done,
                self.record.total_items,
                c.failures,
                c.prompt_tokens,
                c.completion_tokens,
                c.cost,
            )
        self.progress(snapshot)

    # ---------------------------------------------------------------- one work unit

    def _process(self, unit: WorkUnit) -> None:
        if self.should_stop():
            return
        try:
            self._score_unit(unit)
        except _UnansweredError as exc:
            self._save(unanswered_items(unit, self.run_id, exc.call_id, exc.category, str(exc)), [])

    async def _one_call(self, unit: WorkUnit) -> None:
        """A one-call unit, on the process's event loop: its call and items are stored in one commit."""
        if self.should_stop():
            return
        try:
            score = functools.partial(self._direct_items, unit)
            reply = await self._acall(unit, unit.messages, 0, score=score)
        except _UnansweredError as exc:
            self._save(unanswered_items(unit, self.run_id, exc.call_id, exc.category, str(exc)), [])
            return
        if reply is not None:
            self._report()

    def _score_unit(self, unit: WorkUnit) -> None:
        family = get_family(unit.setting.family)
        opening = self._opening(unit)
        if opening is None:
            return
        if MODES[unit.mode].interactive:
            assert self.sandbox is not None
            talk = converse(
                unit,
                family,
                budget=self.plan.budget,
                call=lambda messages: self._call(unit, messages, 0),
                run=self.sandbox.run,
                run_id=self.run_id,
                seed=self.plan.seed,
            )
            if talk is not None:
                self._save(talk.items, talk.functions)
            return
        if not MODES[unit.mode].returns_code:
            if self._call(unit, opening, 0, score=functools.partial(self._direct_items, unit)) is not None:
                self._report()
            return
        result = search(
            opening,
            samples=self.plan.samples,
            rounds=self.plan.rounds,
            refinable=bool(unit.examples),
            write=lambda messages, sample, round_: self._write_function(
                unit, family, messages, sample, round_
            ),
            refine=lambda last: refinement_messages(
                unit.setting,
                last.messages,
                last.reply,
                last.mismatches(),
                signature=solver_signature(unit.setting, unit.mode, self.plan.framing),
            ),
            should_stop=self.should_stop,
        )
        if result is not None:
            self._save(result.final.items, result.functions())

    def _opening(self, unit: WorkUnit) -> list[dict[str, str]] | None:
        """The messages the unit is scored on: in a verbal mode, the second turn after the rule the model
        stated (one call per instance, shared by both verbal modes: the others wait and take it from the
        cache)."""
        if not MODES[unit.mode].verbal:
            return unit.messages
        key = (unit.model, unit.setting, unit.instance)
        with self.lock:
            turn = self.first_turns.setdefault(key, threading.Lock())
        with turn:
            stated = self._call(unit, unit.messages, 0)
        if stated is None:
            return None
        query = None if MODES[unit.mode].returns_code else unit.cases[0][1].input
        cot = self.plan.cot
        return followup_messages(unit.setting, unit.mode, unit.messages, stated.text, query, cot=cot)

    def _write_function(
        self, unit: WorkUnit, family: ProbeFamily, messages: list[dict[str, str]], sample: int, round_: int
    ) -> Candidate | None:
        reply = self._call(unit, messages, sample)
        if reply is None:
            return None
        assert self.sandbox is not None
        scored = code_items(
            unit,
            family,
            reply,
            self.run_id,
            self.sandbox.run,
            framing=self.plan.framing,
            sample=sample,
            round_=round_,
        )
        return Candidate(messages, reply.text, scored)

    def _direct_items(self, unit: WorkUnit, reply: Reply) -> list[Item]:
        family = get_family(unit.setting.family)
        return direct_items(unit, family, reply, self.run_id, framing=self.plan.framing)

    def _save(self, items: list[Item], functions: list[FunctionRecord]) -> None:
        """Commit the items (on the loop's thread, as all the runner's SQLite work) and report progress."""
        on_loop(lambda: self.store.save_items(items, functions))
        with self.lock:
            self.counters.done += len(items)
        self._report()

    # ---------------------------------------------------------------- one model call

    def _call(
        self,
        unit: WorkUnit,
        messages: list[dict[str, str]],
        sample: int,
        *,
        score: Callable[[Reply], list[Item]] | None = None,
    ) -> Reply | None:
        """`_acall` from a unit's thread; None also when the run stops meanwhile."""
        try:
            return run_stoppable(lambda: self._acall(unit, messages, sample, score=score), self._cancelled)
        except CallCancelledError:
            return None

    async def _acall(
        self,
        unit: WorkUnit,
        messages: list[dict[str, str]],
        sample: int,
        *,
        score: Callable[[Reply], list[Item]] | None = None,
    ) -> Reply | None:
        """The reply, from the cache or the model; None when the call failed or the run is stopping.
        With `score`, the items it makes of the reply are stored with the call. On the process's event
        loop, whose thread does the store's work."""
        key = cache_key(unit.model, messages, self.params, sample=sample)
        provider = self.providers[unit.model]

        async def record(response: str | None, **fields: Any) -> int:
            """The call stored, in the commit of this turn of the loop (`GroupCommit`)."""
            return await self.commits.write(
                functools.partial(
                    self.store.record_call,
                    run_id=self.run_id,
                    cache_key=key,
                    model=unit.model.label,
                    messages=messages,
                    params=self.params,
                    response=response,
                    **fields,
                )
            )

        async def keep(text: str, truncated: bool, **fields: Any) -> Reply:
            if score is None:
                return Reply(text, await record(text, **fields), truncated)
            try:
                items = score(Reply(text, 0, truncated))  # stored with the call's id
            except Exception:
                await record(text, **fields)  # a reply paid for stays in the cache though its scoring failed
                raise
            reply = Reply(text, await record(text, items=items, **fields), truncated)
            with self.lock:
                self.counters.done += len(items)
            return reply

        cached = self.store.cached_response(key) if provider.cacheable else None
        if cached is not None:
            truncated = cached.finish_reason == CUT_AT_TOKEN_CAP
            return await keep(cached.response, truncated, cached=True, finish_reason=cached.finish_reason)
        params = CallParams(self.plan.temperature, self.plan.max_tokens, self.plan.seed + sample)
        if not await self.cost_cap.begin():
            return None
        cost = None
        try:
            # A stop or a spent failure budget cancels the calls in flight; at the cost cap they finish, as
            # they are paid for.
            completion = await provider.acomplete(
                messages, params, retry=self.retry, should_stop=self._cancelled
            )
            cost = completion.cost
        except CallCancelledError:
            return None  # the run is stopping: nothing stored, no failure; a resume makes the call again
        except (NoReplyError, ModelCallError) as exc:
            if self._cancelled():  # e.g. a backend reporting the generation it was told to abort as an error
                return None
            if isinstance(exc, NoReplyError):
                # Neither a failure nor a reply: stored with an error, so it is never served from the cache.
                raise _UnansweredError(exc, await record(None, error=f"{exc.category}: {exc}")) from None
            await record(None, error=f"{exc.category}: {exc}")
            self._count_failure(f"{exc.category}: {exc}")
            return None
        finally:
            self.cost_cap.end(cost)
        with self.lock:
            self.counters.prompt_tokens += completion.prompt_tokens
            self.counters.completion_tokens += completion.completion_tokens
            self.counters.cost += completion.cost
        return await keep(
            completion.text,
            completion.truncated,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
            latency=completion.latency,
            finish_reason=completion.finish_reason,
        )

    def _count_failure(self, error: str) -> None:
        with self.lock:
            self.counters.failures += 1
            self.counters.last_error = error
            if self.counters.failures > self.plan.max_failures:
                self.budget_exceeded.set()
        self._report()
