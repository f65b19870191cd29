"""The embedded default model as a provider: litellm calls it through the custom handler of
`lab.models.embedded`, which is loaded (with xllamacpp) only when this model is called."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from lab.models.calls import LitellmProvider
from lab.models.provider import DEFAULT_RETRY, CallParams, Completion, Messages, RetryPolicy
from lab.models.spec import DEFAULT_MODEL


class EmbeddedProvider(LitellmProvider):
    # The shared engine runs with the default `EngineSettings`, which are deterministic.
    deterministic = True

    @classmethod
    def accepts(cls, name: str) -> bool:
        return name == DEFAULT_MODEL

    def call_arguments(self) -> dict[str, object]:
        from lab.models import embedded  # imports litellm and, on the first call, xllamacpp

        embedded.register()
        return {"model": self.spec.name}

    async def acomplete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """As litellm's, and a stop also cancels the generation in the engine (within a token): the
        engine reads the stop check from the call's context."""
        from lab.models import embedded

        token = embedded.STOP_CHECK.set(should_stop)
        try:
            return await super().acomplete(messages, params, retry=retry, should_stop=should_stop)
        finally:
            embedded.STOP_CHECK.reset(token)

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Free: it runs on this machine (litellm's price map does not list it, so would say unknown)."""
        return 0.0

    def describe(self, environ: Mapping[str, str] = os.environ) -> str:
        return "embedded model, runs on this machine's CPU; no key, no network"
