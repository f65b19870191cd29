"""The embedded default model as a provider: litellm calls it through the custom handler of
`lab.models.embedded`, which is loaded (with xllamacpp) only when this model is called."""

from __future__ import annotations

import os
from collections.abc import Mapping

from lab.models.calls import LitellmProvider
from lab.models.spec import DEFAULT_MODEL


class EmbeddedProvider(LitellmProvider):
    @classmethod
    def accepts(cls, name: str) -> bool:
        return name == DEFAULT_MODEL

    def call_arguments(self) -> dict[str, object]:
        from lab.models import embedded  # imports litellm and, on the first call, xllamacpp

        embedded.register()
        return {"model": self.spec.name}

    def describe(self, environ: Mapping[str, str] = os.environ) -> str:
        return "embedded model, runs on this machine's CPU; no key, no network"
