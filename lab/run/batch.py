"""Batch mode: the opening call of every pending work unit that is one request whatever the model replies
(the direct modes, and the first sample of the code modes; not the verbal modes, whose second turn
depends on the first) goes to the provider as a batch; its replies fill the response cache under the
normal path's keys, and the run then scores them from there, calling only what no batch answered.

Each step is stored before the next is taken, so a process killed at any point loses nothing and sends
no request twice: a batch is recorded before its file is uploaded, the file's id before the batch is
created, and a batch created from a stored file is looked up at the provider before another would be.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lab.models import CallParams, ModelCallError, ModelSpec
from lab.models.batch import BatchClient, BatchReply, BatchRequest, BatchState, BatchUnsupportedError
from lab.run.batch_store import BatchRecord, BatchStage, BatchStore
from lab.run.plan import RunError, RunPlan, WorkUnit
from lab.run.store import Store
from lab.tasks.modes import MODES

_T = TypeVar("_T")
Messages = list[dict[str, str]]
# The response cache's key of a call: model, messages, sample (the run's sampling parameters fixed).
KeyFunction = Callable[[ModelSpec, Messages, int], str]


def _quiet(message: str) -> None:
    return None


@dataclass(frozen=True)
class BatchOptions:
    """`submit`: send the pending opening calls as batches; `poll`: seconds between checks of an open
    batch; `notify` is told, in a sentence, what was sent and collected."""

    submit: bool = False
    poll: float = 30.0
    notify: Callable[[str], None] = field(default=_quiet, compare=False)

    def __post_init__(self) -> None:
        if not self.poll > 0:
            raise ValueError(f"the batch poll interval must be above 0 seconds, got {self.poll}")


NO_BATCH = BatchOptions()


@dataclass(frozen=True)
class OpeningCall:
    """A unit's first call, as the normal path would make it."""

    model: ModelSpec
    messages: Messages
    sample: int = 0


def opening_calls(units: Iterable[WorkUnit], key: KeyFunction) -> dict[str, OpeningCall]:
    """The batchable first calls of the units, by cache key (units sharing a prompt share the call)."""
    calls: dict[str, OpeningCall] = {}
    for unit in units:
        if not MODES[unit.mode].verbal:
            calls.setdefault(key(unit.model, unit.messages, 0), OpeningCall(unit.model, unit.messages))
    return calls


class BatchRun:
    """The batches of one run: submit, recover after a crash, wait, and store the replies."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        plan: RunPlan,
        *,
        params: dict[str, Any],
        key: KeyFunction,
        stop: threading.Event,
        options: BatchOptions,
    ):
        self.store = store
        self.run_id = run_id
        self.plan = plan
        self.key = key
        self.stop = stop
        self.options = options
        self.params = params  # as the calls table stores them
        self.batches = BatchStore(store.path)
        self._clients: dict[str, BatchClient] = {}

    def settle(self, pending: list[WorkUnit]) -> None:
        """Submit (when asked) and wait for every batch of the run; returns early when stopped."""
        try:
            open_batches = self.batches.batches(self.run_id, open_only=True)
            if not open_batches and not self.options.submit:
                return
            calls = opening_calls(pending, self.key)
            for record in open_batches:
                self._recover(record)
            if self.options.submit:
                self._submit(calls)
            self._wait(calls)
        finally:
            self.batches.close()

    # ------------------------------------------------------------------ sending

    def _client(self, label: str) -> BatchClient:
        if label not in self._clients:
            model = next((m for m in self.plan.models if m.label == label), None)
            if model is None:
                raise RunError(f"run {self.run_id} has a batch for {label}, which its plan no longer names")
            try:
                self._clients[label] = BatchClient(model)
            except BatchUnsupportedError as exc:
                raise RunError(str(exc)) from None
        return self._clients[label]

    def _submit(self, calls: dict[str, OpeningCall]) -> None:
        sent = self.batches.open_keys(self.run_id)
        for model in self.plan.models:
            keys = [
                key
                for key, call in calls.items()
                if call.model == model and key not in sent and self.store.cached_response(key) is None
            ]
            if not keys:
                continue
            self._send(model, keys, calls)

    def _send(self, model: ModelSpec, keys: list[str], calls: dict[str, OpeningCall]) -> None:
        client = self._client(model.label)
        row = self.batches.begin(self.run_id, model.label, keys)
        requests = [
            BatchRequest(key, calls[key].messages, self._call_params(calls[key].sample)) for key in keys
        ]
        file_id = self._guarded(client.upload, requests, f"solverlab-{self.run_id}-{row}.jsonl")
        self.batches.set_file(row, file_id)
        self._create(row, client, file_id)

    def _call_params(self, sample: int) -> CallParams:
        return CallParams(self.plan.temperature, self.plan.max_tokens, self.plan.seed + sample)

    def _create(self, row: int, client: BatchClient, file_id: str) -> None:
        metadata = {"solverlab_run": self.run_id}
        batch_id = self._guarded(client.create, file_id, metadata)
        self.batches.set_submitted(row, batch_id)
        requests = len(self.batches.keys(row))
        self.options.notify(
            f"{client.spec.label}: {requests} requests sent as batch {batch_id}; this process collects "
            f"the replies, or `python -m lab run --resume {self.run_id}` after it ends"
        )

    def _recover(self, record: BatchRecord) -> None:
        """A batch a killed process left half-sent: created if its file was uploaded, else let go."""
        if record.stage is not BatchStage.PREPARING:
            return
        if record.input_file_id is None:
            # Killed before the upload was stored: nothing was sent, its requests are free again.
            self.batches.set_collected(record.row, "never sent: the process ended before the upload")
            return
        client = self._client(record.model)
        found = self._guarded(client.find, record.input_file_id)
        if found is None:
            self._create(record.row, client, record.input_file_id)
        else:
            self.batches.set_submitted(record.row, found)

    def _guarded(self, step: Callable[..., _T], *args: Any) -> _T:
        try:
            return step(*args)
        except ModelCallError as exc:
            raise self._refused(exc) from None

    def _refused(self, exc: ModelCallError) -> RunError:
        return RunError(
            f"the batch API refused ({exc.category}: {exc}); nothing is lost: fix it and run "
            f"`python -m lab run --resume {self.run_id}`"
        )

    # ------------------------------------------------------------------ collecting

    def _wait(self, calls: dict[str, OpeningCall]) -> None:
        while not self.stop.is_set():
            waiting = [b for b in self.batches.batches(self.run_id, open_only=True) if b.batch_id]
            if not waiting:
                return
            for record in waiting:
                state = self._state(record)
                if state is not None and state.ended:
                    self._collect(record, state, calls)
            if any(b.batch_id for b in self.batches.batches(self.run_id, open_only=True)):
                self.stop.wait(self.options.poll)

    def _state(self, record: BatchRecord) -> BatchState | None:
        """The batch's state; None after a failure that waiting may cure (the next poll tries again)."""
        client = self._client(record.model)
        try:
            return client.state(str(record.batch_id))
        except ModelCallError as exc:
            if not exc.retryable:
                raise self._refused(exc) from None
            self.options.notify(f"batch {record.batch_id}: {exc.category}: {exc}; trying again")
            return None

    def _collect(self, record: BatchRecord, state: BatchState, calls: dict[str, OpeningCall]) -> None:
        client = self._client(record.model)
        replies = self._guarded(client.replies, state)
        stored = errors = 0
        for reply in replies:
            call = calls.get(reply.custom_id)
            if call is None or self.store.cached_response(reply.custom_id) is not None:
                continue  # its unit is scored already, or an earlier collection stored it
            self._record(reply, call)
            stored += reply.completion is not None
            errors += reply.completion is None
        missing = record.requests - len({r.custom_id for r in replies})
        detail = f"{state.status}: {stored} replies stored, {errors} failed, {missing} without a reply"
        if state.errors:
            detail += f" ({state.errors})"
        self.batches.set_collected(record.row, detail)
        self.options.notify(f"batch {state.id} {detail}")

    def _record(self, reply: BatchReply, call: OpeningCall) -> None:
        completion = reply.completion
        common = {
            "run_id": self.run_id,
            "cache_key": reply.custom_id,
            "model": call.model.label,
            "messages": call.messages,
            "params": self.params,
        }
        if completion is None:
            self.store.record_call(**common, response=None, error=reply.error)
            return
        self.store.record_call(
            **common,
            response=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
            latency=completion.latency,
            finish_reason=completion.finish_reason,
        )
