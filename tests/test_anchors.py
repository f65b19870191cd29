"""Scoring Wu et al.'s recorded zero-shot replies reproduces their published per-base accuracies."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.models.transcripts import read_wu_tsv
from lab.tasks.prompts import build_messages
from lab.tasks.scoring import score_direct
from probes import get_family
from tests.conftest import ANCHORS

ARITHMETIC = ANCHORS / "counterfactual-evaluation" / "arithmetic"
BASES = (10, 8, 9, 11, 16)
PUBLISHED = {  # ../shared/anchors/README.md, zero-shot without chain of thought
    "gpt4": (1.000, 0.823, 0.234, 0.384, 0.630),
    "gpt3.5": (1.000, 0.083, 0.066, 0.038, 0.177),
}

pytestmark = pytest.mark.skipif(
    not ARITHMETIC.is_dir(), reason="../shared/anchors is not beside the checkout"
)


def transcript(model: str, base: int, variant: str = "without_0cot") -> Path:
    return ARITHMETIC / "model_interactions" / "0shot" / variant / f"{model}_base{base}.tsv"


@pytest.mark.parametrize("model", sorted(PUBLISHED))
def test_recorded_replies_reproduce_published_accuracy(model: str) -> None:
    family = get_family("arithmetic")
    for base, published in zip(BASES, PUBLISHED[model], strict=True):
        setting = family.setting(base=base)
        records = read_wu_tsv(transcript(model, base))
        assert len(records) == 1000
        correct = 0
        for record in records:
            query = record.prompt.split("what is ", 1)[1].split("?", 1)[0]
            correct += score_direct(family, record.response, family.solve(setting, query)).correct
        assert abs(correct / len(records) - published) <= 0.01, (model, base, correct)


@pytest.mark.parametrize("cot", [False, True])
def test_our_deductive_prompt_is_wu_et_al_s_exact_wording(cot: bool) -> None:
    family = get_family("arithmetic")
    for base in BASES:
        records = read_wu_tsv(transcript("gpt4", base, "with_0cot" if cot else "without_0cot"))
        setting = family.setting(base=base)
        for record in records[:50]:
            query = record.prompt.split("what is ", 1)[1].split("?", 1)[0]
            messages = build_messages(setting, "deductive", query=query, cot=cot)
            assert messages == [{"role": "user", "content": record.prompt}]


def test_transcript_fields_decode_python_escapes_as_wu_et_al_wrote_them() -> None:
    from lab.models.transcripts import unescape

    assert unescape(r"7 \xd7 8 \u2192 56\nend\\n\t") == "7 \u00d7 8 \u2192 56\nend\\n\t"
    assert unescape(r"smile \U0001f600") == "smile \U0001f600"
    # A backslash that starts no escape is kept as written, including one at the very end.
    assert unescape(r"\boxed{16} \x4 \q" + "\\") == r"\boxed{16} \x4 \q" + "\\"


def test_recorded_replies_show_the_characters_the_models_wrote() -> None:
    """No recorded reply keeps an escaped multiplication sign or arrow after reading."""
    records = read_wu_tsv(transcript("gpt4", 9, "with_0cot"))
    replies = " ".join(record.response for record in records)
    assert "\\xd7" not in replies and "\\u2192" not in replies
    assert "\u00d7" in replies or "\u2192" in replies or "\u00f7" in replies
