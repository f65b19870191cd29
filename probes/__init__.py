"""Probe families: hidden mappings in a familiar world and in counterfactual ones.

Adding a family: write one module that builds a `ProbeFamily` named `FAMILY`,
then add it to `REGISTRY` below.
"""

from __future__ import annotations

from probes import arithmetic, cipher, listfn, spatial, strings, syntax
from probes.base import (
    Case,
    ComprehensionCheck,
    PaperFraming,
    Parameter,
    ProbeError,
    ProbeFamily,
    Setting,
    generic_paper_framing,
)
from probes.words import WORDS

REGISTRY: dict[str, ProbeFamily] = {
    arithmetic.FAMILY.name: arithmetic.FAMILY,
    syntax.FAMILY.name: syntax.FAMILY,
    cipher.FAMILY.name: cipher.FAMILY,
    spatial.FAMILY.name: spatial.FAMILY,
    listfn.FAMILY.name: listfn.FAMILY,
    strings.FAMILY.name: strings.FAMILY,
}
# The families shipped with SolverLab; `register` adds others at run time (custom probes).
BUILT_IN: frozenset[str] = frozenset(REGISTRY)

__all__ = [
    "BUILT_IN",
    "REGISTRY",
    "WORDS",
    "Case",
    "ComprehensionCheck",
    "PaperFraming",
    "Parameter",
    "ProbeError",
    "ProbeFamily",
    "Setting",
    "generic_paper_framing",
    "get_family",
    "parse_spec",
    "register",
    "unregister",
]


def register(family: ProbeFamily) -> None:
    """Add (or replace) a family defined at run time; a built-in family is never replaced."""
    if family.name in BUILT_IN:
        raise ProbeError(f"{family.name!r} is a built-in probe family; choose another name")
    REGISTRY[family.name] = family


def unregister(name: str) -> None:
    """Remove a family added with `register`; unknown names are ignored."""
    if name in BUILT_IN:
        raise ProbeError(f"{name!r} is a built-in probe family and cannot be removed")
    REGISTRY.pop(name, None)


def get_family(name: str) -> ProbeFamily:
    try:
        return REGISTRY[name.strip().lower()]
    except KeyError:
        raise ProbeError(f"no probe family {name!r}; valid: {', '.join(sorted(REGISTRY))}") from None


def parse_spec(spec: str) -> list[Setting]:
    """`family` -> its standard settings; `family:key=value,key=value` -> that one setting."""
    name, _, rest = spec.partition(":")
    family = get_family(name)
    if not rest.strip():
        return family.standard_settings()
    raw: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ProbeError(
                f"cannot read {part!r} in {spec!r}: write key=value, e.g. {family.default_setting().spec}"
            )
        raw[key.strip().lower()] = value.strip()
    return [family.setting(**raw)]
