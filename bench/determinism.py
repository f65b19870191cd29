"""What determinism costs the embedded model: the deterministic default engine against the fast settings.

    python -m bench.determinism [--rounds 2] [--max-tokens 96] [--requests 8]

Two engines are loaded side by side in one process: the default `EngineSettings()` (one decoding slot, no
prompt-cache reuse: identical requests at temperature 0 get identical replies) and the fast settings
(`n_parallel=4`, prompt cache on). Each round sends the same requests (temperature 0, one shared prompt
prefix as in a study) from as many threads at once to each engine in turn, alternating which goes first.
Printed per round and engine: wall seconds, completion tokens per second; at the end the pooled
throughput of each, their ratio, and how many replies differed from the same engine's first round.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.models import embedded as local_model

PREFIX = (
    "You are a mathematician. Assuming that all numbers are in base 9 where the digits are "
    '012345678, what is {a}+{b}? End the response with the result in "\\boxed{{result}}".'
)
PAIRS = ((17, 25), (36, 47), (55, 66), (71, 12), (24, 63), (45, 35), (82, 16), (63, 58))
FAST = local_model.EngineSettings(n_parallel=4, prompt_cache=True)


@dataclass(frozen=True)
class Round:
    seconds: float
    tokens: int
    replies: tuple[str, ...]


def requests(count: int, max_tokens: int) -> list[dict[str, object]]:
    return [
        {
            "messages": [{"role": "user", "content": PREFIX.format(a=a, b=b)}],
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        for a, b in (PAIRS * (count // len(PAIRS) + 1))[:count]
    ]


def run_round(engine: local_model.LocalEngine, batch: list[dict[str, object]]) -> Round:
    start = time.perf_counter()
    with ThreadPoolExecutor(len(batch)) as pool:
        results = list(pool.map(engine.chat, batch))
    seconds = time.perf_counter() - start
    tokens = sum(int(result["usage"]["completion_tokens"]) for result in results)
    return Round(seconds, tokens, tuple(r["choices"][0]["message"]["content"] for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    path = local_model.ensure_model_file()
    engines = {
        "deterministic": local_model.LocalEngine(path, local_model.EngineSettings()),
        "fast": local_model.LocalEngine(path, FAST),
    }
    print(
        f"determinism benchmark: {len(engines)} engines, {os.cpu_count()} CPUs, {args.requests} concurrent "
        f"requests of up to {args.max_tokens} tokens, load average {os.getloadavg()[0]:.1f}"
    )
    for name, engine in engines.items():
        engine.chat({"messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 4})
        print(f"  {name}: {engine.settings}")
    batch = requests(args.requests, args.max_tokens)
    rounds: dict[str, list[Round]] = {name: [] for name in engines}
    print(f"{'round':>5} {'engine':<14} {'wall s':>8} {'tokens':>7} {'tokens/s':>9}")
    for index in range(1, args.rounds + 1):
        order = list(engines) if index % 2 else list(reversed(engines))
        for name in order:
            done = run_round(engines[name], batch)
            rounds[name].append(done)
            speed = done.tokens / done.seconds
            print(f"{index:>5} {name:<14} {done.seconds:8.1f} {done.tokens:7d} {speed:9.2f}")
    pooled = {
        name: sum(r.tokens for r in done) / sum(r.seconds for r in done) for name, done in rounds.items()
    }
    print(
        f"\npooled: deterministic {pooled['deterministic']:.2f} tokens/s, "
        f"fast {pooled['fast']:.2f} tokens/s, "
        f"fast / deterministic {pooled['fast'] / pooled['deterministic']:.2f}"
    )
    for name, done in rounds.items():
        first = done[0].replies
        differing = sum(a != b for later in done[1:] for a, b in zip(first, later.replies, strict=True))
        compared = len(first) * (len(done) - 1)
        print(f"{name}: {differing} of {compared} replies differ from the engine's first round")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
