"""Model access: what to call (`ModelSpec`) and one `Provider` per backend, found by `provider_for`."""

from lab.models.provider import (
    CUT_AT_TOKEN_CAP,
    DEFAULT_RETRY,
    CallParams,
    Completion,
    ModelCallError,
    ModelUnavailableError,
    NoReplyError,
    Provider,
    RetryPolicy,
)
from lab.models.registry import model_spec, provider_for
from lab.models.spec import DEFAULT_MODEL, ModelSpec

__all__ = [
    "CUT_AT_TOKEN_CAP",
    "DEFAULT_MODEL",
    "DEFAULT_RETRY",
    "CallParams",
    "Completion",
    "ModelCallError",
    "ModelSpec",
    "ModelUnavailableError",
    "NoReplyError",
    "Provider",
    "RetryPolicy",
    "model_spec",
    "provider_for",
]
