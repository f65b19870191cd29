"""The command line: cases, prompt, and clear errors naming the valid choices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main

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
