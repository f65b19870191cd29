"""Execute a stored plan: call models, run solvers in the sandbox, score, commit each item as it is scored."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from executor import ExecutionReport, SandboxPool
from lab.custom.probes import fingerprints, install_saved
from lab.models.replay import NOT_RECORDED, NotRecordedError, is_replay
from lab.run.plan import ModelSpec, RunError, RunPlan, WorkUnit, setting_cases, total_items, work_units
from lab.run.store import RunRecord, Store
from lab.tasks.modes import MODES
from lab.tasks.prompts import Mismatch, refinement_messages
from lab.tasks.scoring import NO_CODE, extract_code, looks_memorised, score_check, score_direct
from probes import Case, ProbeFamily, get_family

if TYPE_CHECKING:
    from lab.models.calls import RetryPolicy

VERSIONED_PACKAGES = ("litellm", "RestrictedPython", "xllamacpp", "pandas", "streamlit")


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


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def prepare_run(store: Store, plan: RunPlan, run_id: str | None = None) -> str:
    """Create the run, or accept an existing one with the same plan (which is then resumed)."""
    run_id = run_id or new_run_id()
    existing = store.get_run(run_id)
    if existing is not None:
        if existing.plan_hash != plan.identity_hash():
            raise RunError(f"run {run_id} exists with a different plan; choose another --run-id")
        return run_id
    for setting in plan.settings():
        setting_cases(plan, setting)  # e.g. a missing or short cases file fails now, before the run is stored
    versions = package_versions() | fingerprints(store, {s.family for s in plan.settings()})
    store.create_run(run_id, plan.to_dict(), plan.identity_hash(), total_items(plan), versions)
    return run_id


def cache_key(model: ModelSpec, messages: list[dict[str, str]], params: dict[str, Any], sample: int) -> str:
    payload = {
        "model": model.name,
        "api_base": model.api_base,
        "messages": messages,
        "params": params,
        "sample": sample,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def direct_items(unit: WorkUnit, family: ProbeFamily, reply: str) -> list[dict[str, Any]]:
    items = []
    for index, case in unit.cases:
        if MODES[unit.mode].checks_comprehension:
            score = score_check(family, unit.setting, reply, case.output)
        else:
            score = score_direct(family, reply, case.output)
        items.append(_item(unit, index, case, score.predicted, score.correct, score.error, None))
    return items


def code_items(
    unit: WorkUnit, family: ProbeFamily, reply: str, run: Callable[[str, list[str]], ExecutionReport]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the model's solver on the shown examples and the held-out cases in one sandbox round trip."""
    code = extract_code(reply)
    examples = list(unit.examples)
    function: dict[str, Any] = {"code": code, "verdict": None, "detail": None, "memorised": 0}
    if code is None:
        function.update(verdict=NO_CODE, detail="the reply holds no Python block defining solver")
        items = [_item(unit, i, case, None, False, NO_CODE, None) for i, case in unit.cases]
        function.update(
            examples=json.dumps([]),
            fits_examples=None if not examples else 0,
            held_out_failed=json.dumps([i for i, _ in unit.cases]),
        )
        return items, function
    report = run(code, [c.input for c in examples] + [c.input for _, c in unit.cases])
    function.update(
        verdict=report.verdict, detail=report.detail, memorised=int(looks_memorised(code, examples))
    )
    shown = []
    for case, result in zip(examples, report.results[: len(examples)], strict=True):
        ok = result.output is not None and family.normalise(result.output) == family.normalise(case.output)
        shown.append(
            {
                "input": case.input,
                "expected": case.output,
                "output": result.output,
                "error": result.error,
                "detail": result.detail,
                "correct": ok,
            }
        )
    items = []
    for (index, case), result in zip(unit.cases, report.results[len(examples) :], strict=True):
        predicted = family.normalise(result.output) if result.output is not None else None
        correct = predicted is not None and predicted == family.normalise(case.output)
        items.append(_item(unit, index, case, predicted, correct, result.error, result.detail))
    function.update(
        examples=json.dumps(shown),
        fits_examples=None if not examples else int(all(s["correct"] for s in shown)),
        held_out_failed=json.dumps([item["case_index"] for item in items if not item["correct"]]),
    )
    return items, function


@dataclass(frozen=True)
class Candidate:
    """One function a model wrote for a work unit: a sample, or a refinement of the chosen sample."""

    sample: int
    round: int
    messages: list[dict[str, str]]
    reply: str
    call_id: int
    items: list[dict[str, Any]]
    function: dict[str, Any]

    @property
    def shown_correct(self) -> int:
        return sum(1 for example in json.loads(self.function["examples"]) if example["correct"])

    @property
    def fits(self) -> bool:
        return bool(self.function["fits_examples"])

    def mismatches(self) -> list[Mismatch]:
        wrong = [example for example in json.loads(self.function["examples"]) if not example["correct"]]
        return [Mismatch(e["input"], e["expected"], _what_it_gave(e)) for e in wrong]


def _what_it_gave(example: dict[str, Any]) -> str:
    if example["output"] is not None:
        return example["output"]
    detail = f": {example['detail']}" if example.get("detail") else ""
    return f"no output ({example['error']}{detail})"


def best_fit(candidates: list[Candidate]) -> Candidate:
    """The sample that gets the most shown examples right; ties go to the earliest sample."""
    return max(candidates, key=lambda c: (c.shown_correct, -c.sample))


def not_recorded_items(unit: WorkUnit, detail: str) -> list[dict[str, Any]]:
    """A unit whose prompt a replay model has no recording of: every case wrong, error `not_recorded`."""
    return [_item(unit, index, case, None, False, NOT_RECORDED, detail) for index, case in unit.cases]


class _UnrecordedError(Exception):
    """Ends a unit whose replay model has no recorded response; `call_id` is the call stored for it."""

    def __init__(self, detail: str, call_id: int):
        super().__init__(detail)
        self.detail = detail
        self.call_id = call_id


def _item(
    unit: WorkUnit,
    index: int,
    case: Case,
    predicted: str | None,
    correct: bool,
    error: str | None,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "model": unit.model.label,
        "probe": unit.setting.family,
        "setting": unit.setting.label,
        "default_world": int(unit.setting.default_world),
        "mode": unit.mode,
        "instance": unit.instance,
        "case_index": index,
        "input": case.input,
        "expected": case.output,
        "predicted": predicted,
        "correct": int(correct),
        "error": error,
        "detail": detail,
    }


class _RunState:
    def __init__(self, run_id: str, total: int, store: Store, progress: ProgressCallback | None):
        totals = store.totals(run_id)
        self.lock = threading.Lock()
        self.run_id = run_id
        self.total = total
        self.done = totals.items
        self.failures = 0
        self.prompt_tokens = totals.prompt_tokens
        self.completion_tokens = totals.completion_tokens
        self.cost = totals.cost
        self.last_error = ""
        self.progress = progress

    def report(self) -> None:
        if self.progress is not None:
            self.progress(
                Progress(
                    self.run_id,
                    self.done,
                    self.total,
                    self.failures,
                    self.prompt_tokens,
                    self.completion_tokens,
                    self.cost,
                )
            )


def execute_run(
    store: Store,
    run_id: str,
    *,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    retry: RetryPolicy | None = None,
    sandbox: SandboxPool | None = None,
    preflight: bool = True,
) -> RunRecord:
    """Finish every item of the run that is not stored yet; safe to call again after any crash."""
    # litellm takes seconds to import; only running a plan needs it.
    from lab.models.calls import DEFAULT_RETRY, ModelCallError, check_model, complete

    retry = retry or DEFAULT_RETRY
    record = store.get_run(run_id)
    if record is None:
        raise RunError(f"no run {run_id!r} in {store.path}")
    install_saved(store)  # the plan may name custom probes, which live in the store
    try:
        plan = RunPlan.from_dict(record.plan)
    except ValueError as exc:  # e.g. a custom probe deleted since the run was planned
        if record.status != "finished":
            store.set_status(run_id, "failed", reason=f"cannot read the run's plan: {exc}")
        raise RunError(f"cannot read the plan of run {run_id}: {exc}") from None
    now = fingerprints(store, {s.family for s in plan.settings()})
    changed = sorted(name for name, digest in now.items() if record.versions.get(name, digest) != digest)
    if changed and record.status != "finished":
        reason = (
            f"{changed[0]} was deleted and saved anew since this run began, so its cases differ; "
            "start a new run to use it"
        )
        store.set_status(run_id, "failed", reason=reason)
        raise RunError(reason)
    stop = stop or threading.Event()
    done = store.done_keys(run_id)
    pending = [u for u in work_units(plan) if not set(u.item_keys()) <= done]
    state = _RunState(run_id, record.total_items, store, progress)
    store.set_status(run_id, "running", pid=os.getpid())
    state.report()
    if preflight and pending:
        for model in {u.model for u in pending}:
            try:
                check_model(model)
            except Exception as exc:
                store.set_status(run_id, "failed", reason=str(exc))
                raise RunError(str(exc)) from None
    own_sandbox = sandbox is None and any(MODES[u.mode].returns_code for u in pending)
    pool = SandboxPool(size=min(2, os.cpu_count() or 1)) if own_sandbox else sandbox
    params = {"temperature": plan.temperature, "max_tokens": plan.max_tokens, "seed": plan.seed}
    budget_exceeded = threading.Event()

    def should_stop() -> bool:
        return stop.is_set() or budget_exceeded.is_set()

    def call(unit: WorkUnit, messages: list[dict[str, str]], sample: int) -> tuple[str, int] | None:
        """The reply and its call id, from the cache or the model; None when the call failed."""
        key = cache_key(unit.model, messages, params, sample=sample)

        def record(response: str | None, **fields: Any) -> int:
            return store.record_call(
                run_id=run_id,
                cache_key=key,
                model=unit.model.label,
                messages=messages,
                params=params,
                response=response,
                **fields,
            )

        # A recording is its own cache, and the current files are what a replay must answer from.
        cached = None if is_replay(unit.model.name) else store.cached_response(key)
        if cached is not None:
            return cached.response, record(cached.response, cached=True)
        try:
            completion = complete(
                unit.model,
                messages,
                temperature=plan.temperature,
                max_tokens=plan.max_tokens,
                seed=plan.seed + sample,
                retry=retry,
                should_stop=should_stop,
            )
        except NotRecordedError as exc:
            # Neither a failure nor a reply: stored with an error, so it is never served from the cache.
            raise _UnrecordedError(str(exc), record(None, error=f"{NOT_RECORDED}: {exc}")) from None
        except ModelCallError as exc:
            record(None, error=f"{exc.category}: {exc}")
            with state.lock:
                state.failures += 1
                state.last_error = f"{exc.category}: {exc}"
                if state.failures > plan.max_failures:
                    budget_exceeded.set()
            state.report()
            return None
        call_id = record(
            completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
            latency=completion.latency,
        )
        with state.lock:
            state.prompt_tokens += completion.prompt_tokens
            state.completion_tokens += completion.completion_tokens
            state.cost += completion.cost
        return completion.text, call_id

    def write_function(
        unit: WorkUnit, family: ProbeFamily, messages: list[dict[str, str]], sample: int, round_: int
    ) -> Candidate | None:
        got = call(unit, messages, sample)
        if got is None:
            return None
        reply, call_id = got
        assert pool is not None
        items, function = code_items(unit, family, reply, pool.run)
        return Candidate(sample, round_, messages, reply, call_id, items, function)

    def code_unit(unit: WorkUnit, family: ProbeFamily) -> tuple[list[Candidate], Candidate] | None:
        """Sample, choose by fit on the shown examples, refine; None when a call failed."""
        samples: list[Candidate] = []
        for sample in range(plan.samples):
            candidate = write_function(unit, family, unit.messages, sample, 0)
            if candidate is None or should_stop():
                return None
            samples.append(candidate)
        chosen = best_fit(samples)
        chain = [chosen]
        while len(chain) <= plan.rounds and unit.examples and not chain[-1].fits:
            last = chain[-1]
            messages = refinement_messages(unit.setting, last.messages, last.reply, last.mismatches())
            refined = write_function(unit, family, messages, chosen.sample, last.round + 1)
            if refined is None or should_stop():
                return None
            chain.append(refined)
        return samples + chain[1:], chain[-1]

    def save(items: list[dict[str, Any]], functions: list[dict[str, Any]], call_id: int) -> None:
        for item in items:
            item.update(run_id=run_id, call_id=call_id)
        store.save_items(items, functions)
        with state.lock:
            state.done += len(items)
        state.report()

    def process(unit: WorkUnit) -> None:
        if should_stop():
            return
        try:
            score_unit(unit)
        except _UnrecordedError as exc:
            save(not_recorded_items(unit, exc.detail), [], exc.call_id)

    def score_unit(unit: WorkUnit) -> None:
        family = get_family(unit.setting.family)
        functions: list[dict[str, Any]] = []
        if MODES[unit.mode].returns_code:
            outcome = code_unit(unit, family)
            if outcome is None:
                return
            candidates, final = outcome
            chosen_sample = final.sample
            # The items link to the last function saved, so the final one goes last.
            for candidate in sorted(candidates, key=lambda c: (c.round, c is final, c.sample)):
                functions.append(
                    {
                        **candidate.function,
                        "run_id": run_id,
                        "model": unit.model.label,
                        "probe": unit.setting.family,
                        "setting": unit.setting.label,
                        "mode": unit.mode,
                        "instance": unit.instance,
                        "call_id": candidate.call_id,
                        "sample": candidate.sample,
                        "round": candidate.round,
                        "chosen": int(candidate.sample == chosen_sample),
                    }
                )
            items, call_id = final.items, final.call_id
        else:
            got = call(unit, unit.messages, 0)
            if got is None:
                return
            reply, call_id = got
            items = direct_items(unit, family, reply)
        save(items, functions, call_id)

    try:
        with ThreadPoolExecutor(max_workers=plan.concurrency, thread_name_prefix="solverlab-call") as workers:
            in_flight: set[Future[None]] = set()
            for unit in pending:
                if should_stop():
                    break
                in_flight.add(workers.submit(process, unit))
                if len(in_flight) >= plan.concurrency * 2:
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
            for future in in_flight:
                future.result()
    except BaseException as exc:
        store.set_status(
            run_id,
            "stopped" if isinstance(exc, KeyboardInterrupt) else "failed",
            reason=f"{type(exc).__name__}: {exc}",
        )
        raise
    finally:
        if own_sandbox and pool is not None:
            pool.close()

    missing = record.total_items - store.totals(run_id).items
    if stop.is_set():
        store.set_status(run_id, "stopped", reason=f"stopped by the user; {missing} items left to resume")
    elif budget_exceeded.is_set():
        store.set_status(
            run_id,
            "failed",
            reason=(
                f"stopped after {state.failures} failed model calls (budget {plan.max_failures}); "
                f"last: {state.last_error}; {missing} items left to resume"
            ),
        )
    elif missing:
        store.set_status(
            run_id,
            "incomplete",
            reason=(
                f"{missing} items not scored because their model calls failed (last: {state.last_error}); "
                "resume to retry them"
            ),
        )
    else:
        store.set_status(run_id, "finished")
    final = store.get_run(run_id)
    assert final is not None
    return final
