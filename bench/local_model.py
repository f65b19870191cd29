"""The embedded model: first-call cost, memory, and 8 concurrent requests against 8 sequential ones.

    python -m bench.local_model [--rounds 2] [--max-tokens 128]

(1) From an empty cache directory: joining and verifying the model file, loading it, the first reply.
(2) Resident memory (VmRSS, and the peak VmHWM) from /proc/self/status.
(3) The same 8 code-writing requests (temperature 0) sent through ``litellm.completion`` one after the
other and from 8 threads at once, alternating, `--rounds` times; completion tokens per second of each
side, their ratio, the mean number of slots busy per decode step (engine counters), and the CPU time
the process got per wall second (200 % = both of 2 cores; less means other processes took the rest).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

from lab.models import embedded as local_model

TASKS = (
    "returns the sum of the digits of an integer",
    "reverses the order of the words in a sentence",
    "converts a non-negative integer to its base-9 representation",
    "applies the atbash cipher to a lowercase string",
    "returns the n-th Fibonacci number",
    "checks whether a string is a palindrome, ignoring case",
    "adds two numbers written in base 16 and returns the base-16 sum",
    "moves the verb of a subject-verb-object sentence to the end",
)


@dataclass(frozen=True)
class Phase:
    seconds: float
    cpu_seconds: float
    completion_tokens: int
    mean_busy_slots: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds


def memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ask(content: str, max_tokens: int) -> litellm.ModelResponse:
    return litellm.completion(
        model=local_model.MODEL_NAME,
        messages=[{"role": "user", "content": content}],
        temperature=0,
        max_tokens=max_tokens,
    )


def prompts(tag: str) -> list[str]:
    # The tag comes first so that no phase reuses a prompt another phase left in a slot's cache.
    return [f"[{tag}-{i}] Write a Python function that {task}." for i, task in enumerate(TASKS)]


def run_phase(
    engine: local_model.LocalEngine, contents: list[str], max_tokens: int, concurrent: bool
) -> Phase:
    before = engine.decode_stats()
    start, cpu_start = time.perf_counter(), cpu_seconds()
    if concurrent:
        with ThreadPoolExecutor(len(contents)) as pool:
            replies = list(pool.map(lambda content: ask(content, max_tokens), contents))
    else:
        replies = [ask(content, max_tokens) for content in contents]
    seconds = time.perf_counter() - start
    tokens = sum(reply.usage.completion_tokens for reply in replies)
    busy = engine.decode_stats().mean_busy_slots_since(before)
    return Phase(seconds, cpu_seconds() - cpu_start, tokens, busy)


def first_call(cache: Path) -> local_model.LocalEngine:
    os.environ[local_model.CACHE_DIR_ENV] = str(cache)
    rss_before = memory_kib("VmRSS")
    join = timed(local_model.ensure_model_file)
    verify = timed(local_model.ensure_model_file)
    verify_and_load = timed(local_model.get_engine)
    reply = timed(lambda: ask("Reply with just the number: 2+3=", 8))
    load = verify_and_load - verify
    print(f"first call from an empty cache: {join + load + reply:6.2f} s")
    print(f"  join 22 parts + verify sha256 {join:6.2f} s")
    print(f"  load the engine               {load:6.2f} s   (verify alone, warm cache: {verify:.2f} s)")
    print(f"  first reply                   {reply:6.2f} s")
    print(f"first call with the file cached:{verify_and_load + reply:6.2f} s")
    print(
        f"resident memory: {rss_before / 2**20:.2f} GiB before loading, "
        f"{memory_kib('VmRSS') / 2**20:.2f} GiB after the first reply"
    )
    return local_model.get_engine()


def throughput(engine: local_model.LocalEngine, rounds: int, max_tokens: int) -> None:
    ask("Reply with just the number: 1+1=", 8)
    totals: dict[bool, list[Phase]] = {False: [], True: []}
    print(f"\n8 requests, max_tokens={max_tokens}, temperature 0; sequential and concurrent alternate")
    header = ("round", "mode", "wall s", "tokens", "tokens/s", "busy slots", "cpu %")
    print("{:>5} {:<11} {:>8} {:>7} {:>9} {:>11} {:>6}".format(*header))
    for round_index in range(1, rounds + 1):
        for concurrent in (False, True):
            mode = "concurrent" if concurrent else "sequential"
            phase = run_phase(engine, prompts(f"r{round_index}{mode[0]}"), max_tokens, concurrent)
            totals[concurrent].append(phase)
            print(
                f"{round_index:>5} {mode:<11} {phase.seconds:8.1f} {phase.completion_tokens:7d} "
                f"{phase.tokens_per_second:9.2f} {phase.mean_busy_slots:11.2f} "
                f"{100 * phase.cpu_seconds / phase.seconds:6.0f}"
            )
    sequential, concurrent = (pooled(totals[side]) for side in (False, True))
    print(
        f"\nall rounds: sequential {sequential:.2f} tokens/s, concurrent {concurrent:.2f} tokens/s, "
        f"ratio {concurrent / sequential:.2f}"
    )


def pooled(phases: list[Phase]) -> float:
    return sum(phase.completion_tokens for phase in phases) / sum(phase.seconds for phase in phases)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    settings = local_model.EngineSettings()
    print(
        f"embedded model benchmark: {local_model.MODEL_NAME}, {os.cpu_count()} CPUs, "
        f"n_parallel={settings.n_parallel}, ctx/slot={settings.ctx_per_slot}, threads={settings.threads}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    local_model.register()
    with tempfile.TemporaryDirectory(prefix="solverlab-bench-") as cache:
        engine = first_call(Path(cache))
        throughput(engine, args.rounds, args.max_tokens)
    print(
        f"resident memory at the end: {memory_kib('VmRSS') / 2**20:.2f} GiB "
        f"(peak {memory_kib('VmHWM') / 2**20:.2f} GiB); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
