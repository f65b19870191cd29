"""Several servers of one model behind litellm's Router: each call goes to the replica with the fewest
calls in flight (litellm's least-busy strategy) among those not cooling down; a replica whose call
failed in a way another server may not (connection, timeout, server error, rate limit) cools down, and
the retry goes elsewhere.

litellm's Router does not cool a deployment down on a refused connection, the way a crashed replica
fails, so the provider reports every retryable failure here itself. Its least-busy strategy reads the
calls in flight from the Router's cache, where a logger the Router adds to litellm's global callbacks
counts them from each call's metadata; that logger counts `litellm.acompletion` calls late or not at all
(its decrement is queued behind litellm's logging worker), so the calls carry no routing metadata and
`ReplicaRouter.holding` keeps the counts itself, for as long as the call is in flight. As the logger is
never removed, a process keeps one router per set of replicas (`shared_router`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lab.models.provider import ModelCallError

GROUP = "solverlab-replicas"
DEFAULT_COOLDOWN = 30.0


@dataclass(frozen=True)
class Replica:
    """One server chosen for one call: its id in the Router, and the arguments for `litellm.completion`."""

    id: str
    arguments: dict[str, object]


class ReplicaRouter:
    def __init__(
        self,
        litellm: Any,
        api_bases: tuple[str, ...],
        arguments: Mapping[str, object],
        *,
        group: str = GROUP,
        cooldown: float = DEFAULT_COOLDOWN,
    ):
        """`arguments`: the `litellm.completion` arguments shared by every replica, but `api_base`;
        `group`: the Router's model group, unique in the process (the in-flight counts are keyed by it)."""
        self.cooldown = cooldown
        self.group = group
        self._counting = threading.Lock()
        self._urls = {f"replica-{i}": url for i, url in enumerate(api_bases)}
        self._router = litellm.Router(
            model_list=[
                {
                    "model_name": group,
                    "litellm_params": {**arguments, "api_base": url},
                    "model_info": {"id": replica_id},
                }
                for replica_id, url in self._urls.items()
            ],
            routing_strategy="least-busy",
            num_retries=0,
            cooldown_time=cooldown,
        )

    def pick(self, messages: list[dict[str, str]]) -> Replica:
        """A replica not cooling down; a retryable `ModelCallError` when every one is."""
        try:
            deployment = self._router.get_available_deployment(model=self.group, messages=messages)
        except Exception as exc:  # litellm's RouterRateLimitError: every replica is cooling down
            raise ModelCallError(
                "connection",
                f"every replica ({', '.join(self._urls.values())}) failed within the last "
                f"{self.cooldown:g} s and is cooling down: {exc}",
                True,
            ) from None
        replica_id = deployment["model_info"]["id"]
        return Replica(replica_id, {**deployment["litellm_params"], "api_base": self._urls[replica_id]})

    @contextmanager
    def holding(self, replica: Replica) -> Iterator[None]:
        """Count a call in flight on `replica` for the least-busy choice, until it ends."""
        # The key litellm's least-busy strategy reads a deployment's in-flight count under.
        key = f"{self.group}_request_count:{replica.id}"
        with self._counting:
            self._router.cache.increment_cache(key, 1, local_only=True)
        try:
            yield
        finally:
            with self._counting:
                self._router.cache.increment_cache(key, -1, local_only=True)

    def cool_down(self, replica: Replica, error: ModelCallError) -> None:
        """Keep calls off a replica that failed, for its Retry-After or the router's cooldown."""
        seconds = error.retry_after if error.retry_after is not None else self.cooldown
        self._router.cooldown_cache.add_deployment_to_cooldown(
            model_id=replica.id, original_exception=error, exception_status=503, cooldown_time=seconds
        )


_ROUTERS: dict[tuple[object, ...], ReplicaRouter] = {}
_ROUTERS_LOCK = threading.Lock()


def shared_router(litellm: Any, api_bases: tuple[str, ...], arguments: Mapping[str, object]) -> ReplicaRouter:
    """The process's router for these replicas: every run and thread calling them counts its calls in
    flight, and sees their cooldowns, in one place, and litellm's global callbacks grow by one logger
    per set of replicas, not per run."""
    key = (api_bases, tuple(sorted((name, repr(value)) for name, value in arguments.items())))
    with _ROUTERS_LOCK:
        if key not in _ROUTERS:
            _ROUTERS[key] = ReplicaRouter(litellm, api_bases, arguments, group=f"{GROUP}-{len(_ROUTERS)}")
        return _ROUTERS[key]
