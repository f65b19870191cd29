"""Least-busy routing over replicas: a replica holding calls gets fewer new ones, and runs in one process
share one router per set of replicas (litellm keeps each router's in-flight logger forever)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from lab.models import CallParams, RetryPolicy, model_spec, provider_for
from lab.models.calls import litellm_module
from tests.scripted_server import ScriptedServer

RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)


def _calls(urls: str, count: int, threads: int) -> None:
    provider = provider_for(model_spec("openai/scripted", urls))
    with ThreadPoolExecutor(threads) as pool:
        list(
            pool.map(
                lambda i: provider.complete(
                    [{"role": "user", "content": f"question {i}"}], CallParams(0.0, 8, 0), retry=RETRY
                ),
                range(count),
            )
        )


def test_a_replica_busy_with_slow_calls_gets_fewer_new_ones() -> None:
    # The slow replica is listed first, so a random or first-listed choice would give it half or more.
    with ScriptedServer(delay=1.0) as slow, ScriptedServer() as fast:
        _calls(f"{slow.base_url},{fast.base_url}", count=40, threads=4)
        assert slow.chat_requests + fast.chat_requests == 40
        assert 1 <= slow.chat_requests <= 13, (slow.chat_requests, fast.chat_requests)


def test_runs_in_one_process_share_the_router_of_a_set_of_replicas() -> None:
    litellm = litellm_module()
    with ScriptedServer() as first, ScriptedServer() as second:
        urls = f"{first.base_url},{second.base_url}"
        _calls(urls, count=4, threads=2)
        loggers = len(litellm.callbacks)
        for _ in range(3):
            _calls(urls, count=4, threads=2)  # a provider a run, as each run makes its own
        assert len(litellm.callbacks) == loggers
        assert first.chat_requests >= 1 and second.chat_requests >= 1
