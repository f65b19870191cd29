"""The line-JSON protocol between the parent and a worker, and its defensive parsing.

Parent -> worker, one line per job:
    {"source": str, "inputs": [str, ...], "max_output_chars": int}
Worker -> parent, one JSON object per line:
    {"k": "ready", "pid": int}                        once, after start-up
    {"k": "fatal", "detail": str}                     a required layer is missing; the worker exits
    {"k": "start", "error": str|null, "detail": ...}  the source compiled and defines `solver`, or why not
    {"k": "cases", "i": int, "r": [[output, error, detail], ...]}   results from case i on
    {"k": "end", "cpu": float, "rss_mb": float, "vm_mb": float}
                                                      the job's child is gone; the template's own
                                                      CPU seconds, peak RSS and address space
    {"k": "flushed"}                                  answer to SIGUSR1: buffered results were sent

"start" and "cases" come from the job's forked child, the other messages from the template.
The worker sends results in batches (every few milliseconds), not per case, and writes the index
of the case it is running into a shared 8-byte memory cell instead, so the parent knows which case
is stuck. Before killing a worker for a deadline the parent sends SIGUSR1, and the worker hands
over the results it has finished.
Everything the parent reads is treated as untrusted: size-capped, type-checked, and any
deviation is a protocol error that ends the worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .results import CASE_CATEGORIES, ERROR_CATEGORIES

DETAIL_CHARS = 500
# Largest line the parent accepts: the worker flushes after ~64K characters of output; one
# output of max_output_chars characters may take 12 bytes per character once escaped.
BASE_LINE_BYTES = 1 << 21


class ProtocolError(Exception):
    """The worker sent something that is not a valid message."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def clip(text: str, limit: int = DETAIL_CHARS) -> str:
    """A detail string that is short and encodes as UTF-8 whatever the solver put in it."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "replace").decode("utf-8")


def max_line_bytes(max_output_chars: int) -> int:
    return BASE_LINE_BYTES + 12 * max_output_chars


def parse_line(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"unreadable worker message: {type(exc).__name__}") from None
    if type(message) is not dict or type(message.get("k")) is not str:
        raise ProtocolError("worker message is not an object with a kind")
    return message


def _detail(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > DETAIL_CHARS:
        raise ProtocolError("bad detail in worker message")
    return value


@dataclass(frozen=True)
class Start:
    error: str | None
    detail: str | None


@dataclass(frozen=True)
class End:
    cpu_seconds: float
    rss_mb: float
    vm_mb: float


# (output, error, detail) for one case; a plain tuple, as thousands are made per call
CaseReply = tuple[str | None, str | None, str | None]


def read_start(message: dict[str, Any]) -> Start:
    if set(message) != {"k", "error", "detail"}:
        raise ProtocolError("bad start message")
    error = message["error"]
    if error is not None and error not in ERROR_CATEGORIES:
        raise ProtocolError("unknown verdict in start message")
    return Start(error, _detail(message["detail"]))


def read_end(message: dict[str, Any]) -> End:
    if set(message) != {"k", "cpu", "rss_mb", "vm_mb"}:
        raise ProtocolError("bad end message")
    numbers = message["cpu"], message["rss_mb"], message["vm_mb"]
    if any(type(number) not in (int, float) for number in numbers):
        raise ProtocolError("bad numbers in end message")
    return End(*(float(number) for number in numbers))


def read_cases(
    message: dict[str, Any], expected_index: int, remaining: int, max_output_chars: int
) -> list[CaseReply]:
    if (
        set(message) != {"k", "i", "r"}
        or type(message["i"]) is not int
        or message["i"] != expected_index
        or type(message["r"]) is not list
    ):
        raise ProtocolError("bad cases message")
    rows = message["r"]
    if not 0 < len(rows) <= remaining:
        raise ProtocolError("wrong number of results in cases message")
    replies = []
    for row in rows:
        if type(row) is not list or len(row) != 3:
            raise ProtocolError("bad result row")
        output, error, detail = row
        if error is None:
            if type(output) is not str or len(output) > max_output_chars or detail is not None:
                raise ProtocolError("bad output in result row")
            try:
                output.encode("utf-8")
            except UnicodeEncodeError:
                raise ProtocolError("output in result row is not valid Unicode") from None
        elif error not in CASE_CATEGORIES or output is not None:
            raise ProtocolError("bad error in result row")
        replies.append((output, error, _detail(detail)))
    return replies
