"""Several servers of one model behind litellm's Router: each call goes to a replica the Router picks
(simple shuffle over the replicas not cooling down); a replica whose call failed in a way another
server may not (connection, timeout, server error, rate limit) cools down, and the retry goes elsewhere.

litellm's Router does not cool a deployment down on a refused connection, the way a crashed replica
fails, so the provider reports every retryable failure here itself.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        cooldown: float = DEFAULT_COOLDOWN,
    ):
        """`arguments`: the `litellm.completion` arguments shared by every replica, but `api_base`."""
        self.cooldown = cooldown
        self._urls = {f"replica-{i}": url for i, url in enumerate(api_bases)}
        self._router = litellm.Router(
            model_list=[
                {
                    "model_name": GROUP,
                    "litellm_params": {**arguments, "api_base": url},
                    "model_info": {"id": replica_id},
                }
                for replica_id, url in self._urls.items()
            ],
            routing_strategy="simple-shuffle",
            num_retries=0,
            cooldown_time=cooldown,
        )

    def pick(self, messages: list[dict[str, str]]) -> Replica:
        """A replica not cooling down; a retryable `ModelCallError` when every one is."""
        try:
            deployment = self._router.get_available_deployment(model=GROUP, messages=messages)
        except Exception as exc:  # litellm's RouterRateLimitError: every replica is cooling down
            raise ModelCallError(
                "connection",
                f"every replica ({', '.join(self._urls.values())}) failed within the last "
                f"{self.cooldown:g} s and is cooling down: {exc}",
                True,
            ) from None
        replica_id = deployment["model_info"]["id"]
        return Replica(replica_id, {**deployment["litellm_params"], "api_base": self._urls[replica_id]})

    def cool_down(self, replica: Replica, error: ModelCallError) -> None:
        """Keep calls off a replica that failed, for its Retry-After or the router's cooldown."""
        seconds = error.retry_after if error.retry_after is not None else self.cooldown
        self._router.cooldown_cache.add_deployment_to_cooldown(
            model_id=replica.id, original_exception=error, exception_status=503, cooldown_time=seconds
        )
