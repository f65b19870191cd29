"""Whether a run's replies would come out the same on a repeat: each provider says whether it promises
identical replies to identical calls at temperature 0, and the run records it in its versions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from lab.models.registry import provider_type
from lab.run.plan import RunPlan

VERSIONS_KEY = "deterministic_replies"


@dataclass(frozen=True)
class Determinism:
    """`recorded`: False for runs stored before this was recorded (nothing is known then).
    `unpromised`: the labels of the models whose replies may differ on a repeat of the run."""

    recorded: bool
    temperature: float | None = None
    unpromised: tuple[str, ...] = ()

    @property
    def promised(self) -> bool:
        return self.recorded and not self.unpromised


def determinism_versions(plan: RunPlan) -> dict[str, str]:
    """The entry a new run adds to its versions."""
    promised = plan.temperature == 0
    unpromised = [m.label for m in plan.models if not (promised and provider_type(m.name).deterministic)]
    return {VERSIONS_KEY: json.dumps({"temperature": plan.temperature, "unpromised": unpromised})}


def recorded_determinism(versions: Mapping[str, str]) -> Determinism:
    """What a run recorded (its `versions`); an old run recorded nothing."""
    entry = versions.get(VERSIONS_KEY)
    if entry is None:
        return Determinism(recorded=False)
    data = json.loads(entry)
    return Determinism(True, float(data["temperature"]), tuple(data["unpromised"]))


def determinism_note(determinism: Determinism) -> str | None:
    """One sentence for Results when a repeat of the run may give other replies; None when it would not."""
    if determinism.promised:
        return None
    if not determinism.recorded:
        return "This run was stored before runs recorded whether their replies are reproducible."
    models = ", ".join(determinism.unpromised)
    if determinism.temperature:
        return (
            f"Sampled at temperature {determinism.temperature:g}: a repeat of this run gives other replies "
            f"({models}), so compare runs by their intervals, not item by item."
        )
    return (
        f"{models}: the provider does not promise identical replies to identical calls, even at "
        "temperature 0, so a repeat of this run may differ item by item."
    )
