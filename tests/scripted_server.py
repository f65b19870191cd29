"""A small OpenAI-compatible chat server with scripted replies, for tests, benchmarks and demos.

It listens on 127.0.0.1 only. Replies come from a function of the messages; failures (HTTP 429,
500, ..., optionally with a Retry-After header) and delays can be injected, every request is counted,
and `kill` drops the server with its open connections, as a crashed replica would. A responder
returns the reply's text, or a `ScriptedReply` to give another finish reason (`length`: cut at the token cap).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScriptedReply:
    text: str
    finish_reason: str = "stop"


Responder = Callable[[list[dict[str, str]]], "str | ScriptedReply"]
# Sees the whole request body (messages, seed, temperature...), e.g. to answer each sample differently.
RequestResponder = Callable[[dict[str, Any]], "str | ScriptedReply"]


def echo_responder(messages: list[dict[str, str]]) -> str:
    return "\\boxed{OK}" if "Reply with OK" in messages[-1]["content"] else "I cannot tell. \\boxed{?}"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops connections under 32 concurrent clients
    daemon_threads = True


class ScriptedServer:
    def __init__(
        self,
        responder: Responder = echo_responder,
        delay: float = 0.0,
        request_responder: RequestResponder | None = None,
    ):
        self.responder = responder
        self.request_responder = request_responder
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, names in lower case
        self._failures: deque[tuple[int, float | None]] = deque()
        self._connections: set[socket.socket] = set()
        self._killed = False
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self) -> None:
        """Stop as a crashed server does: no new connections, and open keep-alive ones are cut."""
        with self._lock:
            self._killed = True
            connections = list(self._connections)
        self.stop()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def fail_next(self, status: int, count: int = 1, *, retry_after: float | None = None) -> None:
        """The next `count` chat requests get this HTTP status (and Retry-After) instead of a reply."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    @property
    def chat_requests(self) -> int:
        with self._lock:
            return len(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                super().finish()

            def _send(self, status: int, body: dict[str, Any], retry_after: float | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", f"{retry_after:g}")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
                    return
                with server._lock:
                    if server._killed:
                        self.close_connection = True
                        return
                    server.requests.append(body)
                    server.headers.append({name.lower(): value for name, value in self.headers.items()})
                    failure = server._failures.popleft() if server._failures else None
                if server.delay:
                    time.sleep(server.delay)
                if failure is not None:
                    status, retry_after = failure
                    error = {"message": f"injected {status}", "type": "server_error", "code": status}
                    self._send(status, {"error": error}, retry_after)
                    return
                messages = body.get("messages") or []
                try:
                    if server.request_responder is not None:
                        answer = server.request_responder(body)
                    else:
                        answer = server.responder(messages)
                except Exception as exc:  # a responder bug must show up as a server error, not a hang
                    self._send(
                        500, {"error": {"message": f"responder failed: {exc}", "type": "server_error"}}
                    )
                    return
                reply = answer if isinstance(answer, ScriptedReply) else ScriptedReply(answer)
                text = reply.text
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
                completion_tokens = len(text.split())
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": reply.finish_reason,
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                        },
                    },
                )

        return Handler


CANNED_REPLY = json.dumps(
    {
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "created": 0,
        "model": "canned",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "\\boxed{1}"}}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
).encode()


async def _canned_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Keep-alive HTTP/1.1: every request, whatever it asks, gets the same chat completion at once."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    try:
        while True:
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(head % len(CANNED_REPLY) + CANNED_REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve_canned() -> None:
    """A server that answers at once and costs next to nothing a request (for client benchmarks)."""
    server = await asyncio.start_server(_canned_connection, "127.0.0.1", 0, backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}/v1", flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible server on 127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--canned", action="store_true", help="one fixed reply at once, on asyncio")
    args = parser.parse_args()
    if args.canned:
        asyncio.run(serve_canned())
        return
    server = ScriptedServer(delay=args.delay).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
