"""Model backends, in the order they are asked: the first whose `accepts` claims a model string serves it.

`provider_for` is the only place a model string is interpreted. A new backend: one file with a
`Provider` subclass, and one line here (before `LitellmProvider`, which takes every other string).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.models.calls import LitellmProvider
from lab.models.embedded_provider import EmbeddedProvider
from lab.models.provider import Provider
from lab.models.replay import ReplayProvider

if TYPE_CHECKING:
    from lab.models.spec import ModelSpec

PROVIDERS: tuple[type[Provider], ...] = (
    ReplayProvider,
    EmbeddedProvider,
    LitellmProvider,
)


def provider_type(name: str) -> type[Provider]:
    return next(kind for kind in PROVIDERS if kind.accepts(name))


def provider_for(spec: ModelSpec) -> Provider:
    return provider_type(spec.name)(spec)
