"""Model backends, in the order they are asked: the first whose `accepts` claims a model string serves it.

`provider_for` is the only place a model string is interpreted. A new backend: one file with a
`Provider` subclass, and one line here (before `LitellmProvider`, which takes every other string).
"""

from __future__ import annotations

from lab.models.calls import LitellmProvider
from lab.models.embedded_provider import EmbeddedProvider
from lab.models.provider import Provider
from lab.models.replay import ReplayProvider
from lab.models.spec import ModelSpec, parse_model_option, split_api_bases

PROVIDERS: tuple[type[Provider], ...] = (
    ReplayProvider,
    EmbeddedProvider,
    LitellmProvider,
)


def provider_type(name: str) -> type[Provider]:
    return next(kind for kind in PROVIDERS if kind.accepts(name))


def provider_for(spec: ModelSpec) -> Provider:
    return provider_type(spec.name)(spec)


def model_spec(name: str, api_base: str | None = None, key_env: str | None = None) -> ModelSpec:
    """A spec for a model string as typed (`NAME@concurrency=4,rpm=60` sets its limits), keeping a
    server and key only for backends that call one (so one --api-base can serve a study that also
    replays recordings). `api_base` may list replicas separated by commas."""
    option = parse_model_option(name)
    limits = {"concurrency": option.concurrency, "rpm": option.rpm}
    if not provider_type(option.name).takes_server:
        return ModelSpec(option.name, **limits)
    first, *replicas = split_api_bases(api_base) or (None,)
    return ModelSpec(option.name, first, key_env, tuple(replicas), **limits)
