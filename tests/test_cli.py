"""The command line: cases, prompt, and clear errors naming the valid choices."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.cli import build_parser, main
from lab.run.plan import ModelSpec, RunPlan
from lab.run.store import Store
from tests.planted import plant_run, planted_plan

ROOT = Path(__file__).resolve().parent.parent


def test_cases_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cases", "--probe", "arithmetic:base=8", "--n", "50", "--seed", "7"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 50 and len({r["input"] for r in lines}) == 50
    for record in lines:
        a, b = record["input"].split("+")
        assert int(record["output"], 8) == int(a, 8) + int(b, 8)
    assert main(["cases", "--probe", "arithmetic:base=8", "--n", "50", "--seed", "7"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == lines


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("geometry", "arithmetic"),
        ("arithmetic:radix=8", "base"),
        ("arithmetic:base=99", "2..36"),
        ("syntax:order=xyz", "osv"),
    ],
)
def test_bad_probe_specs_exit_non_zero_naming_the_choices(spec: str, names: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab", "cases", "--probe", spec],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert names in result.stderr and "Traceback" not in result.stderr


def test_prompt_prints_the_exact_messages(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prompt", "--probe", "arithmetic:base=8", "--mode", "io", "--seed", "0", "--framing", "blind"]
    assert main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    content = shown["messages"][0]["content"]
    assert shown["setting"] == "arithmetic:base=8,digits=2"
    assert content.count("Output:") == 8 and "base" not in content and content.endswith('"\\boxed{result}".')
    assert main(["prompt", "--probe", "arithmetic:base=8", "--mode", "deductive"]) == 0
    wu = json.loads(capsys.readouterr().out)["messages"][0]["content"]
    assert wu.startswith(
        'You are a mathematician. Assuming that all numbers are in base-8 where the digits are "01234567"'
    )


def test_a_case_or_run_that_does_not_exist_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["prompt", "--probe", "arithmetic:base=8", "--n", "5", "--case", "5"]) == 2
    assert "case 5 is not a held-out case of this plan: choose one from 0 to 4" in capsys.readouterr().err
    db = str(tmp_path / "solverlab.db")
    result = subprocess.run(  # its own process: `run` takes over SIGINT and SIGTERM
        [sys.executable, "-m", "lab", "run", "--resume", "nosuch", "--db", db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and f"no run 'nosuch' in {db}" in result.stderr


def test_errors_print_control_characters_escaped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Text a user's code wrote (here a mapping's exception) cannot rewrite the terminal when printed."""
    probe = {
        "solverlab_custom_probe": 1,
        "name": "evil",
        "description": "Each input is one lower-case word.",
        "rule": "Reverse it.",
        "world": "counterfactual",
        "mapping": "def mapping(x: str) -> str:\n    raise ValueError('\\x1b[2J\\x1b[32mall cases passed')\n",
        "generator": {"kind": "words", "min_words": 1, "max_words": 1, "separator": " "},
    }
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(probe))
    assert main(["probes", "import", str(path), "--db", str(tmp_path / "solverlab.db")]) == 2
    err = capsys.readouterr().err
    assert "all cases passed" in err and "\x1b" not in err and "\\x1b[2J" in err


def subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command parser, named as typed (e.g. `probes import`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from subcommands(sub, f"{prefix}{name} ")


def test_every_option_of_every_command_has_help_and_an_example() -> None:
    commands = dict(subcommands(build_parser()))
    assert {"cases", "prompt", "run", "list", "show", "delete", "export", "report", "probes list"} <= set(
        commands
    )
    for name, parser in commands.items():
        examples = [line for line in (parser.epilog or "").splitlines() if f"python -m lab {name}" in line]
        assert examples, f"`{name} --help` shows no example"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help and len(action.help) > 10, f"{name} {action.dest} has no help text"
            if action.option_strings:
                option = action.option_strings[0]
                assert any(f"{option} " in line or line.endswith(option) for line in examples), (
                    f"no example of `{name}` uses {option}"
                )
    run_help = commands["run"].format_help()
    for option, words in (
        ("--probe SPEC", "family:key=value"),
        ("--mode MODES", "comma-separated modes"),
        ("--n N", "held-out cases"),
        ("--shots K", "examples per prompt"),
    ):
        assert option in run_help and words in " ".join(run_help.split()), option


def test_a_refused_run_stores_no_run(tmp_path: Path) -> None:
    db = tmp_path / "solverlab.db"
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    for args, says in (
        (["--probe", "geometry"], "no probe family 'geometry'"),
        (["--probe", "arithmetic:base=8", "--mode", "deductive,inductive"], "no mode 'inductive'"),
        (["--probe", "arithmetic:base=8", "--model", "openai/x", "--api-base", closed], "cannot be reached"),
        (
            ["--probe", "arithmetic:base=8", "--model", "openai/x", "--api-key-env", "SOLVERLAB_NO_SUCH_KEY"],
            "not set",
        ),
    ):
        result = subprocess.run(  # its own process: `run` takes over SIGINT and SIGTERM
            [sys.executable, "-m", "lab", "run", *args, "--n", "2", "--instances", "1", "--db", str(db)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 2 and says in result.stderr, result.stderr[-500:]
        assert "Traceback" not in result.stderr
        assert not db.exists() or Store(db).list_runs() == [], f"{args} stored a run"


def test_list_lines_fit_120_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "solverlab.db")
    probes = ("arithmetic:base=8", "arithmetic:base=9", "arithmetic:base=10", "arithmetic:base=11", "syntax")
    long = RunPlan(
        models=(
            ModelSpec("openai/a-model-with-a-rather-long-name-2026-11-01"),
            ModelSpec("anthropic/another-long-one"),
        ),
        probes=probes,
        modes=("deductive", "io_rule", "io", "solverlearner", "deductive_code", "ccc"),
        n=2,
        instances=1,
    )
    plant_run(store, "run-long", long, lambda *key: key[4] == 0)
    store.set_status("run-long", "failed", reason="a reason far too long for one line " * 5)
    plant_run(
        store,
        "run-short",
        planted_plan("openai/b", probes=probes[:1], modes=("io",), n=2, instances=1),
        lambda *k: True,
    )
    assert main(["list", "--db", str(store.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(len(line) <= 120 for line in lines), [len(line) for line in lines]
    assert lines[0].split() == [
        "run_id",
        "label",
        "status",
        "created",
        "items",
        "accuracy",
        "probes",
        "modes",
    ]
    long_line = next(line for line in lines if line.startswith("run-long"))
    assert (
        " failed " in long_line
        and " 50.0% " in long_line
        and "openai/a-model" in long_line
        and "…" in long_line
    )
    short_line = next(line for line in lines if line.startswith("run-short"))
    assert "100.0%" in short_line and short_line.endswith("io")
