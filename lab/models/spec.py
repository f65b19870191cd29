"""What to call: a model string; for an OpenAI-compatible server, its URL and the variable holding its key."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"


@dataclass(frozen=True)
class ModelSpec:
    """What to call. `key_env` names the environment variable holding the key for an `api_base`.

    The spec is stored with the run, so it never holds a secret; its provider (`lab.models.provider_for`)
    decides what the name means and which of the other fields it takes.
    """

    name: str
    api_base: str | None = None
    key_env: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a model needs a name, e.g. openai/gpt-4o-mini")
        if self.api_base:
            parts = urlsplit(self.api_base)
            if parts.username or parts.password or "key=" in parts.query.lower():
                raise ValueError(
                    "the api_base URL must not carry credentials: put the key in an environment "
                    "variable and name it (--api-key-env on the command line, the key field in the app)"
                )
        from lab.models.registry import provider_type  # the registry's providers refer back to this class

        provider_type(self.name).validate(self)

    @property
    def label(self) -> str:
        """The model as items and calls store it: unique per name and server."""
        return self.name if not self.api_base else f"{self.name} @ {self.api_base}"

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "api_base": self.api_base, "key_env": self.key_env}
