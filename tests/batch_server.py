"""A local OpenAI-compatible batch endpoint on 127.0.0.1, for tests: file upload (/v1/files), batches
(/v1/batches: create, retrieve, list), file content (/v1/files/{id}/content), and chat completions for a
model check. Every request a batch carries is answered by a responder and counted, by its body, with the
chat requests, so a test can tell that each was received once.

A batch stays `in_progress` while the server is held (`hold()`), as a provider's batch does for hours;
`release()` lets every batch complete on its next retrieval.
"""

from __future__ import annotations

import email.parser
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


def boxed_echo(body: dict[str, Any]) -> str:
    """Answers the model check with OK, everything else with a parseable box."""
    last = body["messages"][-1]["content"]
    return "\\boxed{OK}" if "Reply with OK" in last else "Let me see. \\boxed{0}"


def request_key(body: dict[str, Any]) -> str:
    """What makes two chat requests the same request: the messages and the sampling parameters."""
    fields = {name: body.get(name) for name in ("messages", "seed", "temperature", "max_tokens")}
    return json.dumps(fields, sort_keys=True)


def completion(body: dict[str, Any], text: str, number: int) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "batch"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
        },
    }


class BatchServer:
    def __init__(self, responder: Responder = boxed_echo):
        self.responder = responder
        self.received: Counter[str] = Counter()  # request_key -> times received (batch lines and chat)
        self.uploads: list[bytes] = []  # every uploaded file as received
        self.auth: list[str] = []  # the Authorization header of every request
        self.batches: dict[str, dict[str, Any]] = {}
        self.chat_requests = 0
        self._files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._held = False
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> BatchServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def hold(self) -> None:
        with self._lock:
            self._held = True

    def release(self) -> None:
        with self._lock:
            self._held = False

    def batch_lines(self) -> list[dict[str, Any]]:
        """Every request line of every batch created, in order."""
        with self._lock:
            files = [self._files[b["input_file_id"]] for b in self.batches.values()]
        return [json.loads(line) for data in files for line in data.splitlines() if line.strip()]

    # ------------------------------------------------------------ the endpoint's behaviour

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _upload(self, content_type: str, body: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        parts = {part.get_param("name", header="content-disposition"): part for part in message.get_payload()}
        data = parts["file"].get_payload(decode=True)
        with self._lock:
            file_id = self._new_id("file")
            self._files[file_id] = data
            self.uploads.append(data)
        return self._file_object(file_id, parts["file"].get_filename() or "batch.jsonl")

    def _file_object(self, file_id: str, filename: str = "batch.jsonl") -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self._files[file_id]),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": "batch",
            "status": "processed",
        }

    def _create_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            batch_id = self._new_id("batch")
            lines = self._files[request["input_file_id"]].splitlines()
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": request["endpoint"],
                "input_file_id": request["input_file_id"],
                "completion_window": request["completion_window"],
                "status": "in_progress",
                "created_at": int(time.time()),
                "metadata": request.get("metadata"),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            }
            self.batches[batch_id] = batch
            return dict(batch)

    def _retrieve(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self.batches[batch_id]
            if batch["status"] == "in_progress" and not self._held:
                self._complete(batch)
            return dict(batch)

    def _complete(self, batch: dict[str, Any]) -> None:
        """Answer every line of the batch (under the lock): the output file, one line per request."""
        out = []
        for line in self._files[batch["input_file_id"]].splitlines():
            request = json.loads(line)
            body = request["body"]
            self.received[request_key(body)] += 1
            number = next(self._ids)
            response = {"status_code": 200, "request_id": f"req-{number}", "body": None}
            response["body"] = completion(body, self.responder(body), number)
            out.append(
                json.dumps(
                    {"id": f"batch_req-{number}", "custom_id": request["custom_id"], "response": response}
                )
            )
        output_id = self._new_id("file")
        self._files[output_id] = "\n".join(out).encode() + b"\n"
        batch.update(
            status="completed",
            output_file_id=output_id,
            completed_at=int(time.time()),
            request_counts={"total": len(out), "completed": len(out), "failed": 0},
        )

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.received[request_key(body)] += 1
            self.chat_requests += 1
            number = next(self._ids)
        return completion(body, self.responder(body), number)

    def answer(self, method: str, parts: list[str], headers: Any, body: bytes) -> tuple[int, bytes, str]:
        """(status, body, content type) for one request; `parts`: the path after /v1, split at `/`."""
        kind = "application/json"
        if method == "GET" and parts[0] == "files" and parts[-1] == "content":
            with self._lock:
                return 200, self._files[parts[1]], "application/octet-stream"
        if method == "POST" and parts == ["files"]:
            value = self._upload(headers["Content-Type"], body)
        elif method == "GET" and parts[0] == "files":
            with self._lock:
                value = self._file_object(parts[1])
        elif method == "POST" and parts == ["batches"]:
            value = self._create_batch(json.loads(body))
        elif method == "GET" and parts == ["batches"]:
            with self._lock:
                listed = [dict(b) for b in reversed(self.batches.values())]
            value = {"object": "list", "data": listed, "has_more": False}
        elif method == "GET" and parts[0] == "batches":
            value = self._retrieve(parts[1])
        elif method == "POST" and parts == ["chat", "completions"]:
            value = self._chat(json.loads(body))
        else:
            error = {"message": f"no route {method} /{'/'.join(parts)}", "type": "not_found"}
            return 404, json.dumps({"error": error}).encode(), kind
        return 200, json.dumps(value).encode(), kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, value: dict[str, Any], status: int = 200) -> None:
                self._reply(status, json.dumps(value).encode())

            def _route(self, method: str) -> None:
                with server._lock:
                    server.auth.append(self.headers.get("Authorization", ""))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0].removeprefix("/v1")
                try:
                    self._dispatch(method, path, body)
                except KeyError as exc:
                    self._json({"error": {"message": f"no such object: {exc}", "type": "not_found"}}, 404)

            def _dispatch(self, method: str, path: str, body: bytes) -> None:
                status, data, kind = server.answer(method, path.strip("/").split("/"), self.headers, body)
                self._reply(status, data, kind)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler
