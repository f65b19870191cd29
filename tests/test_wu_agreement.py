"""Our scorer against Wu et al.'s own, item by item, on all 44,000 recorded arithmetic replies.

Every model (gpt-4, gpt-3.5, claude, palm2), zero-shot with and without chain of thought (1,000
items per base), plus the comprehension checks (200 per base): ours (`lab.tasks.scoring`, on the
replies as the replay model reads them) and theirs (`tests/wu_scorer.py`, their `eval.py` and
`eval_ccc.py` on the replies as their scripts read them) must agree on every item's correctness,
except the items listed in `DISAGREEMENTS`, each with the reason ours is right (at most 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from lab.models.transcripts import read_wu_tsv
from lab.tasks.scoring import AMBIGUOUS, DirectScore, score_check, score_direct
from probes import get_family
from tests.conftest import ANCHORS
from tests.wu_scorer import (
    check_input,
    deductive_input,
    read_recorded,
    wu_check_answer,
    wu_deductive_answer,
    wu_label,
)

INTERACTIONS = ANCHORS / "counterfactual-evaluation" / "arithmetic" / "model_interactions"
MODELS = ("gpt4", "gpt3.5", "claude", "palm2")
BASES = (10, 8, 9, 11, 16)
VARIANTS = ("without_0cot", "with_0cot", "ccc")
PUBLISHED = {  # ../shared/anchors/README.md, bases 10, 8, 9, 11, 16
    ("gpt4", "without_0cot"): (1.000, 0.823, 0.234, 0.384, 0.630),
    ("gpt3.5", "without_0cot"): (1.000, 0.083, 0.066, 0.038, 0.177),
    ("claude", "without_0cot"): (0.998, 0.223, 0.002, 0.066, 0.324),
    ("palm2", "without_0cot"): (0.987, 0.064, 0.022, 0.034, 0.234),
    ("gpt4", "with_0cot"): (0.982, 0.602, 0.386, 0.565, 0.740),
    ("gpt3.5", "with_0cot"): (0.990, 0.126, 0.098, 0.027, 0.177),
    ("claude", "with_0cot"): (0.987, 0.014, 0.009, 0.040, 0.065),
    ("palm2", "with_0cot"): (0.822, 0.011, 0.006, 0.005, 0.012),
    ("gpt4", "ccc"): (1.00, 0.98, 0.90, 0.91, 1.00),
    ("gpt3.5", "ccc"): (1.00, 0.965, 0.77, 0.56, 0.955),
}
# Where the README's figure is not what Wu et al.'s scorer gives on these files: their original
# `eval.py`, run on this file, counts 66 correct (as `tests/wu_scorer.py` does, item for item),
# one more than the README's 0.065.
README_OFFSET = {("claude", "with_0cot", 16): 1}

# (file under model_interactions, line index) -> why our verdict is right and theirs is not.
DISAGREEMENTS: dict[tuple[str, int], str] = {}

pytestmark = pytest.mark.skipif(
    not INTERACTIONS.is_dir(), reason="../shared/anchors is not beside the checkout"
)


@dataclass(frozen=True)
class Verdicts:
    file: str
    index: int
    expected: str
    ours: DirectScore
    wu_answer: str
    wu_correct: bool
    response: str


def transcript(model: str, variant: str, base: int) -> Path:
    if variant == "ccc":
        return INTERACTIONS / "ccc" / f"{model}_base{base}.tsv"
    return INTERACTIONS / "0shot" / variant / f"{model}_base{base}.tsv"


@cache
def verdicts(model: str, variant: str, base: int) -> tuple[Verdicts, ...]:
    family = get_family("arithmetic")
    setting = family.setting(base=base)
    path = transcript(model, variant, base)
    replayed = read_wu_tsv(path)
    out = []
    for index, (theirs, ours) in enumerate(zip(read_recorded(path), replayed, strict=True)):
        if variant == "ccc":
            expected = family.comprehension.solve(setting, theirs.query)
            assert expected == wu_label(f"{theirs.query}+1", base)
            score = score_check(family, setting, ours.response, expected)
            wu_answer = wu_check_answer(check_input(theirs.response))
        else:
            expected = family.solve(setting, theirs.query)
            assert expected == wu_label(theirs.query, base)
            score = score_direct(family, ours.response, expected)
            wu_answer = wu_deductive_answer(deductive_input(theirs.response)).upper()
        out.append(
            Verdicts(
                str(path.relative_to(INTERACTIONS)),
                index,
                expected,
                score,
                wu_answer,
                wu_answer == expected,
                theirs.response,
            )
        )
    return tuple(out)


def every_item() -> list[Verdicts]:
    return [
        item
        for model in MODELS
        for variant in VARIANTS
        for base in BASES
        for item in verdicts(model, variant, base)
    ]


def test_all_44000_recorded_replies_are_scored_by_both() -> None:
    items = every_item()
    assert len(items) == 4 * 5 * (1000 + 1000 + 200) == 44_000
    assert len({(item.file, item.index) for item in items}) == 44_000


@pytest.mark.parametrize(("model", "variant"), sorted(PUBLISHED))
def test_the_reference_scorer_gives_the_published_figures(model: str, variant: str) -> None:
    """The re-expressed scorer is Wu et al.'s: it reproduces their figures to the item."""
    for base, published in zip(BASES, PUBLISHED[(model, variant)], strict=True):
        items = verdicts(model, variant, base)
        correct = sum(item.wu_correct for item in items)
        expected = round(published * len(items)) + README_OFFSET.get((model, variant, base), 0)
        assert correct == expected, (model, variant, base, correct)


def test_ours_agrees_with_wu_et_al_on_every_item_but_the_listed_ones() -> None:
    disagreements = {
        (item.file, item.index): item for item in every_item() if item.ours.correct != item.wu_correct
    }
    report = "\n".join(
        f"{key}: expected {item.expected}, ours {item.ours.predicted!r} ({item.ours.error}), "
        f"theirs {item.wu_answer!r}; reply ends {item.response[-160:]!r}"
        for key, item in sorted(disagreements.items())
    )
    assert set(disagreements) == set(DISAGREEMENTS), report
    assert len(DISAGREEMENTS) <= 3


def test_the_hedges_among_the_recorded_replies_are_caught() -> None:
    ambiguous = [item for item in every_item() if item.ours.error == AMBIGUOUS]
    assert ambiguous, "the recorded replies hold replies boxing many different numbers; none was caught"
    assert all(" | " in item.ours.predicted for item in ambiguous)
