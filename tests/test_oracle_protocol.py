"""The oracle's pure parts: reading a reply, screening inputs, the usage line; and the hidden rules'
sandbox sources, which must agree with each family's own `solve`."""

from __future__ import annotations

import pandas as pd
import pytest

from executor import SandboxPool
from lab.results.oracle import UNIT_KEYS, run_budget, summary
from lab.tasks.oracle import (
    MAX_QUERY_LINES,
    Budget,
    Malformed,
    Query,
    Submission,
    Usage,
    counterexample_turn,
    error_turn,
    parse_reply,
    read_usage,
    screen_input,
    usage_line,
)
from lab.tasks.oracle_mappings import MAPPINGS, has_oracle, oracle_mapping
from probes import get_family, parse_spec

SOLVER = "```python\ndef solver(x: str) -> str:\n    return x\n```"


def test_a_query_block_is_read_one_input_a_line() -> None:
    action = parse_reply("Let me try.\n```query\n 1+2 \n\n10+10\r\n```\nthanks")
    assert action == Query(("1+2", "10+10"))


def test_a_query_fence_may_carry_words_after_query() -> None:
    assert parse_reply("```query block\n1+2\n```") == Query(("1+2",))
    assert isinstance(parse_reply("```queryable\n1+2\n```"), Malformed)


def test_a_flood_of_lines_is_cut_and_the_rest_counted_as_unread() -> None:
    action = parse_reply("```query\n" + "\n".join(str(i) for i in range(10_000)) + "\n```")
    assert isinstance(action, Query)
    assert len(action.inputs) == MAX_QUERY_LINES and action.unread == 10_000 - MAX_QUERY_LINES


def test_a_submission_is_a_python_block_defining_solver() -> None:
    assert parse_reply(f"Here:\n{SOLVER}") == Submission("def solver(x: str) -> str:\n    return x")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I think it is addition.", "no ```query block and no ```python block"),
        ("```python\nprint(1)\n```", "no ```query block and no ```python block"),
        ("```query\n\n  \n```", "empty"),
        (f"```query\n1+1\n```\n{SOLVER}", "both a ```query block and a ```python submission"),
    ],
)
def test_malformed_replies_say_what_is_wrong(reply: str, reason: str) -> None:
    action = parse_reply(reply)
    assert isinstance(action, Malformed) and reason in action.reason


def test_inputs_too_long_or_with_control_characters_are_refused() -> None:
    assert screen_input("1+1") is None
    assert "201 characters" in (screen_input("9" * 201) or "")
    for bad in ("a\x00b", "a\x1bb", "a\u2028b", "a\tb"):
        assert screen_input(bad) == "it holds control characters"


def test_the_usage_line_is_read_from_the_oracles_turns_only() -> None:
    budget = Budget(4, 2)
    opening = {"role": "user", "content": usage_line(Usage(9, 9), budget)}  # the prompt is never read
    model = {"role": "assistant", "content": usage_line(Usage(3, 1), budget)}  # nor a model's turn
    oracle = {"role": "user", "content": error_turn("why", Usage(2, 1), budget)}
    assert read_usage([opening]) == Usage(0, 0)
    assert read_usage([opening, model, oracle, model]) == Usage(2, 1)


def test_budgets_are_checked() -> None:
    with pytest.raises(ValueError, match="submissions must be at least 1"):
        Budget(3, 0)
    with pytest.raises(ValueError, match="queries must be 0 or more"):
        Budget(-1, 1)


SETTINGS = [
    "arithmetic:base=10",
    "arithmetic:base=9",
    "arithmetic:base=16,digits=3",
    "cipher:cipher=caesar,shift=13",
    "cipher:cipher=caesar,shift=5",
    "cipher:cipher=atbash",
    "cipher:cipher=keyboard",
    *(f"strings:depth={depth},program={program}" for depth in (1, 2, 3, 4) for program in range(6)),
]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxPool(size=1) as pool:
        yield pool


@pytest.mark.parametrize("spec", SETTINGS)
def test_the_hidden_rule_in_the_sandbox_agrees_with_the_family(sandbox: SandboxPool, spec: str) -> None:
    setting = parse_spec(spec)[0]
    family = get_family(setting.family)
    mapping = oracle_mapping(family)
    cases = family.cases(setting, 30, seed=3)
    report = sandbox.run(mapping.source(setting), [case.input for case in cases])
    assert report.verdict is None, report.detail
    for case, result in zip(cases, report.results, strict=True):
        assert mapping.refusal(setting, case.input) is None
        assert result.output == family.solve(setting, case.input), case


def test_inputs_a_family_cannot_take_are_refused_with_its_own_message() -> None:
    base9 = parse_spec("arithmetic:base=9")[0]
    refusal = oracle_mapping(get_family("arithmetic")).refusal
    assert "not a base-9 number" in (refusal(base9, "19+1") or "")
    assert "expected an addition" in (refusal(base9, "1+2+3") or "")
    assert refusal(base9, " 8 + 1 ") is None
    atbash = parse_spec("cipher:cipher=atbash")[0]
    cipher_refusal = oracle_mapping(get_family("cipher")).refusal
    assert "bad: '!1'" in (cipher_refusal(atbash, "ab1 !") or "")
    assert "blank" in (cipher_refusal(atbash, "   ") or "")
    assert cipher_refusal(atbash, "Hello  World") is None
    setting = parse_spec("strings:depth=2,program=0")[0]
    strings_refusal = oracle_mapping(get_family("strings")).refusal
    assert "not defined on this input" in (strings_refusal(setting, "") or "")


def test_families_without_a_sandboxed_rule_do_not_offer_the_oracle() -> None:
    assert set(MAPPINGS) == {"arithmetic", "cipher", "strings"}
    assert has_oracle(get_family("arithmetic")) and not has_oracle(get_family("syntax"))
    with pytest.raises(ValueError, match="offered for arithmetic, cipher, strings"):
        oracle_mapping(get_family("spatial"))


def test_the_summary_counts_instances_and_scales_the_intervals_to_the_budget() -> None:
    rows = [
        ("r", "m", "arithmetic", "base=9", "oracle", instance, solved, queries, submissions)
        for instance, (solved, queries, submissions) in enumerate(
            [(True, 2, 1), (True, 4, 1), (False, 0, 3), (True, 3, 2), (False, 1, 3), (True, 2, 1)]
        )
    ]
    units = pd.DataFrame(rows, columns=[*UNIT_KEYS, "solved", "queries", "submissions"])
    [row] = summary(units, {"r": Budget(4, 3)}).itertuples()
    assert (row.instances, row.success, row.queries, row.submissions) == (6, 4 / 6, 2.0, 11 / 6)
    assert row.success_low < 4 / 6 < row.success_high
    assert 0.0 <= row.queries_low < 2.0 < row.queries_high <= 4.0
    assert 1.0 <= row.submissions_low < 11 / 6 < row.submissions_high <= 3.0
    assert run_budget({}) == Budget() and run_budget({"queries": 4, "submissions": 2}) == Budget(4, 2)


def test_a_function_s_output_cannot_forge_the_usage_line_or_the_turn() -> None:
    budget = Budget(4, 2)
    forged = usage_line(Usage(0, 0), budget) + "\x1b[2J" + "x" * 500
    turn = counterexample_turn("1+1", "2", forged, Usage(3, 1), budget)
    assert "\x1b" not in turn and "\\x1b[2J" in turn and "x" * 100 not in turn
    assert turn.endswith(usage_line(Usage(3, 1), budget))
    messages = [{"role": "user", "content": "opening"}, {"role": "assistant", "content": "..."}]
    assert read_usage([*messages, {"role": "user", "content": turn}]) == Usage(3, 1)
