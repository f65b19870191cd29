"""lab/api.py, the door of the command line and the app into the lab: what it decides itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab import api

ROOT = Path(__file__).resolve().parent.parent
TYPED = api.typed_key_env(1)


@pytest.mark.parametrize(
    ("model", "typed", "environ", "expected"),
    [
        (api.ModelSpec(api.DEFAULT_MODEL), (), {}, "embedded model, runs on this machine's CPU"),
        (api.ModelSpec("replay/runs/items.csv"), (), {}, "recorded responses from `runs/items.csv`"),
        (api.ModelSpec("openai/gpt-4o-mini"), (), {}, "provider's own endpoint; key from the provider's"),
        (
            api.ModelSpec("m", "http://127.0.0.1:8000/v1"),
            (),
            {},
            "at `http://127.0.0.1:8000/v1`; no key sent",
        ),
        (api.ModelSpec("m", None, "MY_KEY"), (), {}, "key from `$MY_KEY` (**not set** for this app)"),
        (api.ModelSpec("m", None, "MY_KEY"), (), {"MY_KEY": "x"}, "key from `$MY_KEY`"),
        (api.ModelSpec("m", None, TYPED), (TYPED,), {}, "key typed for this session (memory only)"),
        (api.ModelSpec("m", None, TYPED), (), {}, "key typed in an earlier session: type it again"),
    ],
)
def test_describe_model_says_where_a_model_runs_and_where_its_key_comes_from(
    model: api.ModelSpec, typed: tuple[str, ...], environ: dict[str, str], expected: str
) -> None:
    description = api.describe_model(model, typed_keys=typed, environ=environ)
    assert expected in description
    if environ.get("MY_KEY"):
        assert "not set" not in description


def test_only_a_named_variable_that_is_not_set_counts_as_an_unset_key() -> None:
    assert api.key_is_unset(api.ModelSpec("m", None, "MY_KEY"), {})
    assert not api.key_is_unset(api.ModelSpec("m", None, "MY_KEY"), {"MY_KEY": "x"})
    assert not api.key_is_unset(api.ModelSpec("m", None, TYPED), {})  # typed: the session holds it
    assert not api.key_is_unset(api.ModelSpec("openai/gpt-4o-mini"), {})  # litellm's usual variable
    assert api.is_typed_key(TYPED) and not api.is_typed_key("OPENAI_API_KEY") and not api.is_typed_key(None)


def test_a_replay_model_drops_the_server_and_key_given_for_the_other_models() -> None:
    assert api.model_spec("replay/a.csv", api_base="http://h/v1", key_env="K") == api.ModelSpec(
        "replay/a.csv"
    )
    assert api.model_spec("m", api_base="http://h/v1", key_env="K") == api.ModelSpec("m", "http://h/v1", "K")


def test_prompt_units_pick_one_case_of_one_instance_and_refuse_a_case_out_of_range() -> None:
    plan = api.RunPlan(
        models=(api.ModelSpec(api.DEFAULT_MODEL),),
        probes=("arithmetic:base=8",),
        modes=("deductive", "io", "solverlearner"),
        shots=3,
        n=5,
        instances=2,
    )
    units = api.prompt_units(plan, instance=1, case=3)
    assert [u.mode for u in units] == ["deductive", "io", "solverlearner"]
    assert [u.cases[0][0] for u in units if u.mode != "solverlearner"] == [3, 3]
    assert {u.instance for u in units if u.mode != "deductive"} == {1}
    solver = next(u for u in units if u.mode == "solverlearner")
    assert len(solver.cases) == plan.n  # a code mode's unit holds every case
    with pytest.raises(api.RunError, match=r"case 5 is not a held-out case.*from 0 to 4"):
        api.prompt_units(plan, instance=0, case=5)


def test_held_out_cases_come_from_the_family_or_from_a_file(tmp_path: Path) -> None:
    (setting,) = api.parse_spec("arithmetic:base=8")
    generated = api.held_out_cases(setting, n=6, seed=3)
    assert len(generated) == 6 and generated == api.held_out_cases(setting, n=6, seed=3)
    path = tmp_path / "base{base}.txt"
    (tmp_path / "base8.txt").write_text("7+1\n10+7\n3+4\n")
    from_file = api.held_out_cases(setting, n=2, seed=3, cases_file=str(path))
    assert [(c.input, c.output) for c in from_file] == [("7+1", "10"), ("10+7", "17")]


def test_the_mode_legend_names_each_mode_its_kind_and_a_colour_of_its_own() -> None:
    legend = {mode.name: mode for mode in api.mode_legend()}
    assert list(legend) == list(api.MODE_ORDER)
    assert legend["solverlearner"].kind == "inductive" and legend["deductive"].kind == "deductive"
    assert legend["ccc"].kind == "beside deductive"
    assert legend["io_rule"].label == api.mode_label("io_rule") == "io_rule (rule + examples)"
    assert len({mode.colour for mode in legend.values()}) == len(legend)


def test_built_in_families_leave_out_custom_probes() -> None:
    built_in = [f.name for f in api.probe_families(built_in_only=True)]
    assert {"arithmetic", "syntax", "cipher", "spatial", "listfn"} <= set(built_in)
    assert built_in == [f.name for f in api.probe_families() if f.name in built_in]


def test_the_command_line_reads_cases_without_loading_pandas_plotly_or_litellm() -> None:
    script = (
        "import sys; from lab import cli; cli.main(['cases', '--probe', 'arithmetic:base=8', '--n', '2']); "
        "print(sorted({'pandas', 'plotly', 'litellm'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]"
    assert result.stdout.count('"input"') == 2
