"""What to call: a model string; for an OpenAI-compatible server, its URLs and the key's variable."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"
# Options a model string may carry after its last `@`: `openai/gpt-4o-mini@concurrency=4,rpm=60`.
LIMIT_OPTIONS = ("concurrency", "rpm")


@dataclass(frozen=True)
class ModelSpec:
    """What to call. `key_env` names the environment variable holding the key for an `api_base`.

    `replicas` are more URLs serving the same model as `api_base`: requests are spread over all of
    them, and the model's identity (its label, the response cache, resume) is that of `api_base`.
    `concurrency` caps this model's calls in flight (None: the run's concurrency) and `rpm` its
    calls started per minute (None: no cap). The spec is stored with the run, so it never holds a
    secret; its provider (`lab.models.provider_for`) decides what the name means and which of the
    other fields it takes.
    """

    name: str
    api_base: str | None = None
    key_env: str | None = None
    replicas: tuple[str, ...] = ()
    concurrency: int | None = None
    rpm: float | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a model needs a name, e.g. openai/gpt-4o-mini")
        object.__setattr__(self, "replicas", tuple(self.replicas))  # a stored plan gives a list
        if self.replicas and not self.api_base:
            raise ValueError(f"{self.name}: replicas {list(self.replicas)} need an api_base first")
        for url in self.api_bases:
            if "," in url:
                raise ValueError(
                    f"{url!r} is several URLs: give replicas one a field (`replicas`), or build the spec "
                    "with lab.models.model_spec, which splits a comma list"
                )
            parts = urlsplit(url)
            if parts.username or parts.password or "key=" in parts.query.lower():
                raise ValueError(
                    "the api_base URL must not carry credentials: put the key in an environment "
                    "variable and name it (--api-key-env on the command line, the key field in the app)"
                )
        if len(set(self.api_bases)) < len(self.api_bases):
            raise ValueError(f"{self.name}: an api_base is listed twice in {list(self.api_bases)}")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"{self.name}: concurrency must be at least 1, got {self.concurrency}")
        if self.rpm is not None and not self.rpm > 0:
            raise ValueError(f"{self.name}: rpm (requests per minute) must be above 0, got {self.rpm}")
        from lab.models.registry import provider_type  # the registry's providers refer back to this class

        provider_type(self.name).validate(self)

    @property
    def api_bases(self) -> tuple[str, ...]:
        """Every URL serving the model, `api_base` first."""
        return (self.api_base, *self.replicas) if self.api_base else ()

    @property
    def label(self) -> str:
        """The model as items and calls store it: unique per name and server."""
        return self.name if not self.api_base else f"{self.name} @ {self.api_base}"

    def identity(self) -> dict[str, str | None]:
        """What decides the model's replies; replicas and limits may change between resumes."""
        return {"name": self.name, "api_base": self.api_base, "key_env": self.key_env}

    def as_dict(self) -> dict[str, object]:
        """The stored form; fields at their defaults are left out, so older plans read the same."""
        data: dict[str, object] = dict(self.identity())
        if self.replicas:
            data["replicas"] = list(self.replicas)
        if self.concurrency is not None:
            data["concurrency"] = self.concurrency
        if self.rpm is not None:
            data["rpm"] = self.rpm
        return data


@dataclass(frozen=True)
class ModelOption:
    """A model string as typed: the name, then limits after its last `@`."""

    name: str
    concurrency: int | None = None
    rpm: float | None = None


def parse_model_option(text: str) -> ModelOption:
    """`NAME` or `NAME@concurrency=4,rpm=60`; an `@` not followed by key=value pairs is part of the name
    (as in `vertex_ai/claude-3-5-sonnet@20240620`)."""
    name, at, options = text.rpartition("@")
    if not at or "=" not in options:
        return ModelOption(text)
    values: dict[str, str] = {}
    for pair in options.split(","):
        key, _, value = (part.strip() for part in pair.partition("="))
        if key not in LIMIT_OPTIONS or not value:
            raise ValueError(
                f"{text!r}: {pair!r} is not a model option; write NAME@concurrency=N,rpm=R "
                f"(options: {', '.join(LIMIT_OPTIONS)})"
            )
        values[key] = value
    try:
        concurrency = int(values["concurrency"]) if "concurrency" in values else None
        rpm = float(values["rpm"]) if "rpm" in values else None
    except ValueError:
        raise ValueError(f"{text!r}: concurrency takes a whole number and rpm a number") from None
    return ModelOption(name, concurrency, rpm)


def split_api_bases(api_base: str | None) -> tuple[str, ...]:
    """`--api-base` as given: one URL, or several separated by commas (replicas of one model)."""
    return tuple(url.strip() for url in (api_base or "").split(",") if url.strip())
