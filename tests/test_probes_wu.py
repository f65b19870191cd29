"""Wu et al.'s recorded spatial and syntax-check replies, asked with our prompts and scored by our modes,
reproduce the figures their own scorers give (../shared/anchors/README.md)."""

from __future__ import annotations

import pytest

from lab.models.transcripts import read_wu_tsv
from lab.tasks.modes import MODES, Reply
from lab.tasks.prompts import build_messages
from probes import Case, get_family
from tests.conftest import ANCHORS

WU = ANCHORS / "counterfactual-evaluation"
pytestmark = pytest.mark.skipif(not WU.is_dir(), reason="../shared/anchors is not beside the checkout")

SPATIAL_WORLDS = ("default", "hflip", "vflip", "r90", "r180", "r270", "random")
SPATIAL_FULL_LAYOUT = {  # model, chain of thought -> accuracy per world
    ("gpt4", False): (0.790, 0.290, 0.570, 0.340, 0.060, 0.220, 0.340),
    ("gpt3.5", False): (0.870, 0.320, 0.560, 0.270, 0.120, 0.170, 0.150),
    ("claude", False): (0.860, 0.720, 0.510, 0.350, 0.450, 0.150, 0.510),
    ("palm2", False): (0.900, 0.860, 0.880, 0.500, 0.930, 0.390, 0.640),
    ("gpt4", True): (0.980, 0.230, 0.710, 0.240, 0.090, 0.130, 0.130),
    ("gpt3.5", True): (0.820, 0.360, 0.660, 0.270, 0.290, 0.220, 0.220),
    ("claude", True): (0.850, 0.710, 0.500, 0.300, 0.490, 0.110, 0.390),
    ("palm2", True): (0.840, 0.800, 0.950, 0.380, 0.910, 0.380, 0.540),
}
SYNTAX_ORDERS = ("sov", "vso", "vos", "ovs", "osv")
SYNTAX_CHECK = {
    ("openai-gpt-4", False): (1.000, 0.920, 0.980, 1.000, 0.940),
    ("openai-gpt-3.5-turbo-0301", False): (0.880, 0.720, 0.250, 0.610, 0.640),
    ("anthropic-claude-v1.3", False): (0.890, 0.600, 0.970, 0.990, 0.980),
    ("models-text-bison-001", False): (0.070, 0.080, 0.960, 1.000, 0.620),
    ("openai-gpt-4", True): (0.950, 0.950, 0.990, 0.960, 1.000),
    ("openai-gpt-3.5-turbo-0301", True): (0.680, 0.400, 0.370, 0.050, 0.310),
    ("anthropic-claude-v1.3", True): (0.790, 0.910, 0.800, 0.080, 0.870),
    ("models-text-bison-001", True): (0.280, 0.290, 0.910, 0.940, 0.700),
}


@pytest.mark.parametrize(("model", "cot"), sorted(SPATIAL_FULL_LAYOUT))
def test_spatial_full_layout_accuracy(model: str, cot: bool) -> None:
    family = get_family("spatial")
    rooms = [line.strip() for line in (WU / "spatial" / "3obj.txt").read_text(encoding="utf-8").splitlines()]
    folder = WU / "spatial" / "model_interactions" / ("with_0cot" if cot else "without_0cot")
    for world, published in zip(SPATIAL_WORLDS, SPATIAL_FULL_LAYOUT[(model, cot)], strict=True):
        setting = family.setting(world=world)
        records = read_wu_tsv(folder / f"{model}_{world}.tsv")
        assert len(records) == 100
        correct = 0
        for room, record in zip(rooms, records, strict=True):
            assert build_messages(setting, "deductive", query=room, cot=cot)[0]["content"] == record.prompt
            case = Case(room, family.solve(setting, room))
            correct += MODES["deductive"].score(Reply(family, setting, case, record.response)).correct
        assert abs(correct / 100 - published) <= 0.01, (world, correct)


@pytest.mark.parametrize(("model", "cot"), sorted(SYNTAX_CHECK))
def test_syntax_comprehension_check_accuracy(model: str, cot: bool) -> None:
    family = get_family("syntax")
    folder = WU / "syntax" / "model_interactions"
    prefix = "" if model == "models-text-bison-001" else "control-"
    for order, published in zip(SYNTAX_ORDERS, SYNTAX_CHECK[(model, cot)], strict=True):
        setting = family.setting(order=order)
        records = read_wu_tsv(folder / f"{prefix}{order}-reconstruct_{'cot' if cot else 'std'}-{model}.tsv")
        data = (
            (WU / "syntax" / "synthetic_data" / order / "test.csv").read_text(encoding="utf-8").splitlines()
        )
        sentences = [line.rsplit(",", 1)[1] for line in data[1:101]]
        correct = 0
        for sentence, record in zip(sentences, records, strict=True):
            assert build_messages(setting, "ccc", query=sentence, cot=cot)[0]["content"] == record.prompt
            case = Case(sentence, family.comprehension.solve(setting, sentence))
            correct += MODES["ccc"].score(Reply(family, setting, case, record.response)).correct
        assert abs(correct / 100 - published) <= 0.01, (order, correct)
