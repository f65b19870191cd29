"""The five reasoning modes: what each states, shows and asks for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    states_rule: bool
    shows_examples: bool
    returns_code: bool
    description: str
    checks_comprehension: bool = False

    @property
    def inductive(self) -> bool:
        return not self.states_rule


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("deductive", True, False, False, "rule stated, no examples; the model answers"),
        Mode("io_rule", True, True, False, "rule stated with k examples; the model answers"),
        Mode("io", False, True, False, "rule unknown, k examples; the model answers"),
        Mode(
            "solverlearner",
            False,
            True,
            True,
            "rule unknown, k examples; the model writes solver(), we run it",
        ),
        Mode(
            "deductive_code",
            True,
            False,
            True,
            "rule stated, no examples; the model writes solver(), we run it",
        ),
        Mode(
            "ccc",
            True,
            False,
            False,
            "comprehension check: rule stated, a question about the rule itself (Wu et al.)",
            checks_comprehension=True,
        ),
    )
}
MODE_ORDER: tuple[str, ...] = tuple(MODES)

# Inductive minus deductive comparisons reported by the statistics.
GAP_PAIRS: tuple[tuple[str, str], ...] = (("solverlearner", "deductive"), ("io", "io_rule"))


class ModeError(ValueError):
    pass


def parse_modes(text: str | list[str]) -> list[str]:
    names = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in MODES:
            raise ModeError(f"no mode {raw!r}; valid: {', '.join(MODE_ORDER)}")
        if name not in out:
            out.append(name)
    if not out:
        raise ModeError(f"no mode given; valid: {', '.join(MODE_ORDER)}")
    return out
