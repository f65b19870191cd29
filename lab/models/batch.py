"""A provider's OpenAI-format batch API, through litellm: upload the chat requests as one JSONL file, create
a batch, poll it, and read its output file back as completions.

The JSONL holds the requests only (model, messages, sampling parameters): the key travels in the request
header, as for a normal call, and the file is built in memory, never written to disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab.models.calls import LitellmProvider, classify, litellm_module
from lab.models.provider import CallParams, Completion, Messages, ModelCallError
from lab.models.registry import provider_type
from lab.models.spec import ModelSpec

CHAT_ENDPOINT = "/v1/chat/completions"
WINDOW = "24h"
# A batch in one of these states has nothing more to give.
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchUnsupportedError(ValueError):
    """The model cannot be called through a batch API; the message says what to do."""


@dataclass(frozen=True)
class BatchRequest:
    """One chat request of a batch; `custom_id` finds its reply in the output file."""

    custom_id: str
    messages: Messages
    params: CallParams


@dataclass(frozen=True)
class BatchState:
    id: str
    status: str  # validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
    output_file_id: str | None
    error_file_id: str | None
    input_file_id: str | None = None
    errors: str = ""

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass(frozen=True)
class BatchReply:
    """The reply to one request of a batch: a completion, or the error the provider gave for it."""

    custom_id: str
    completion: Completion | None
    error: str | None = None


def batch_unsupported(spec: ModelSpec) -> str | None:
    """Why this model cannot go through a batch API, or None when it can (an OpenAI-compatible
    `api_base`, or OpenAI itself)."""
    if provider_type(spec.name) is not LitellmProvider:
        return f"{spec.name} answers here, without a server: leave out --batch (it needs no batch)"
    if spec.api_base or spec.name.startswith("openai/"):
        return None
    return (
        f"{spec.name}: batch mode sends OpenAI-format batches, to OpenAI (openai/...) or to an "
        "OpenAI-compatible --api-base; run this model without --batch"
    )


def served_name(spec: ModelSpec) -> str:
    """The model name the server is sent, as litellm sends it on a normal call (`openai/` dropped)."""
    if "/" not in spec.name:
        return spec.name
    try:
        name, *_ = litellm_module().get_llm_provider(model=spec.name, api_base=spec.api_base)
    except Exception:  # a name litellm does not know goes as it is, like a normal call's
        return spec.name
    return str(name)


def jsonl(spec: ModelSpec, requests: Sequence[BatchRequest]) -> bytes:
    """The batch input file: one line a request, no credentials."""
    model = served_name(spec)
    lines = [
        json.dumps(
            {
                "custom_id": request.custom_id,
                "method": "POST",
                "url": CHAT_ENDPOINT,
                "body": {
                    "model": model,
                    "messages": request.messages,
                    "temperature": request.params.temperature,
                    "max_tokens": request.params.max_tokens,
                    "seed": request.params.seed,
                },
            },
            sort_keys=True,
        )
        for request in requests
    ]
    return ("\n".join(lines) + "\n").encode()


class BatchClient:
    """The batch API of one model's server (its first `api_base`; replicas do not share batches)."""

    def __init__(self, spec: ModelSpec):
        reason = batch_unsupported(spec)
        if reason:
            raise BatchUnsupportedError(reason)
        self.spec = spec
        arguments = LitellmProvider(spec).call_arguments()
        self._arguments = {
            "custom_llm_provider": "openai",
            **{name: arguments[name] for name in ("api_base", "api_key") if name in arguments},
        }

    def _call(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return function(**kwargs, **self._arguments)
        except Exception as exc:
            raise classify(exc) from None

    def upload(self, requests: Sequence[BatchRequest], name: str) -> str:
        """Upload the requests as a JSONL file; its id."""
        data = jsonl(self.spec, requests)
        uploaded = self._call(litellm_module().create_file, file=(name, data), purpose="batch")
        return str(uploaded.id)

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> str:
        """Start a batch over an uploaded file; its id."""
        batch = self._call(
            litellm_module().create_batch,
            completion_window=WINDOW,
            endpoint=CHAT_ENDPOINT,
            input_file_id=input_file_id,
            metadata=dict(metadata),
        )
        return str(batch.id)

    def find(self, input_file_id: str) -> str | None:
        """The batch already made from this file, if any: a process killed between creating a batch and
        storing its id finds it here instead of sending its requests twice."""
        after = None
        while True:  # newest first, a page at a time
            listed = self._call(litellm_module().list_batches, limit=100, after=after)
            page = getattr(listed, "data", None) or []
            for batch in page:
                if getattr(batch, "input_file_id", None) == input_file_id:
                    return str(batch.id)
            if not page or not getattr(listed, "has_more", False):
                return None
            after = str(page[-1].id)

    def state(self, batch_id: str) -> BatchState:
        batch = self._call(litellm_module().retrieve_batch, batch_id=batch_id)
        errors = getattr(getattr(batch, "errors", None), "data", None) or []
        return BatchState(
            id=str(batch.id),
            status=str(batch.status),
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
            input_file_id=batch.input_file_id,
            errors="; ".join(str(getattr(e, "message", e)) for e in errors),
        )

    def replies(self, state: BatchState) -> list[BatchReply]:
        """Every reply of an ended batch, from its output and error files."""
        out: list[BatchReply] = []
        for file_id in (state.output_file_id, state.error_file_id):
            if file_id:
                content = self._call(litellm_module().file_content, file_id=file_id)
                out += [
                    batch_reply(json.loads(line), self.spec) for line in content.content.splitlines() if line
                ]
        return out


def batch_reply(line: Mapping[str, Any], spec: ModelSpec) -> BatchReply:
    """One line of an output or error file."""
    custom_id = str(line.get("custom_id"))
    response = line.get("response") or {}
    error = line.get("error")
    if error or response.get("status_code") != 200:
        message = (error or {}).get("message") or (response.get("body") or {}).get("error", {}).get("message")
        return BatchReply(
            custom_id, None, f"batch: {message or 'status ' + str(response.get('status_code'))}"
        )
    try:
        return BatchReply(custom_id, _completion(response["body"], spec))
    except ModelCallError as exc:
        return BatchReply(custom_id, None, f"{exc.category}: {exc}")


def _completion(body: Mapping[str, Any], spec: ModelSpec) -> Completion:
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ModelCallError("malformed", "the batch reply had no message content", False) from None
    if not isinstance(text, str):
        raise ModelCallError("malformed", "the batch reply had no text content", False)
    usage = body.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    return Completion(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=batch_price(spec.name, prompt_tokens, completion_tokens) or 0.0,
        latency=0.0,
        finish_reason=choice.get("finish_reason"),
    )


def batch_price(name: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD at the model's batch prices in litellm's price map; None when it lists none (a self-hosted
    model: counted as free, as on the normal path)."""
    prices = litellm_module().model_cost
    entry = prices.get(name) or prices.get(name.removeprefix("openai/")) or {}
    rates = [entry.get(f"{side}_cost_per_token_batches") for side in ("input", "output")]
    if None in rates:
        return None
    return float(rates[0]) * prompt_tokens + float(rates[1]) * completion_tokens
