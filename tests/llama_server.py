"""llama.cpp's own OpenAI-compatible HTTP server (through xllamacpp) on 127.0.0.1, for `--api-base` tests.

`python -m tests.llama_server --port N` serves the embedded GGUF at http://127.0.0.1:N/v1 until killed. The
key it accepts is read from the variable LLAMA_SERVER_KEY (none: any request is served). Only the test
suite starts it; nothing of the product imports it.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

import xllamacpp

from lab.models.embedded import ensure_model_file

KEY_ENV = "LLAMA_SERVER_KEY"


def serve(port: int, threads: int, slots: int) -> None:
    params = xllamacpp.CommonParams()
    params.model.path = str(ensure_model_file())
    params.n_parallel = slots
    params.n_ctx = slots * 2048
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_gpu_layers = 0
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.ui = False
    if os.environ.get(KEY_ENV):
        params.api_keys = [os.environ[KEY_ENV]]
    server = xllamacpp.Server(params)
    print(f"listening on {server.listening_address}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    serve(args.port, args.threads, args.slots)


if __name__ == "__main__":
    main()
