"""``python -m executor SOLVER.py``: JSON strings in, one JSON object per line out, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "executor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def write_solver(tmp_path: Path, source: str) -> str:
    path = tmp_path / "solver.py"
    path.write_text(source, encoding="utf-8")
    return str(path)


def test_one_json_object_per_input(tmp_path: Path) -> None:
    solver = write_solver(
        tmp_path, "def solver(x):\n    if x == 'boom':\n        raise ValueError(x)\n    return x[::-1]\n"
    )
    stdin = "\n".join(json.dumps(s) for s in ["abc", "two\nlines", "boom", "é"]) + "\n"
    completed = run_cli(solver, stdin=stdin)
    assert completed.returncode == 0, completed.stderr
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    assert rows == [
        {"input": "abc", "output": "cba", "error": None, "detail": None},
        {"input": "two\nlines", "output": "senil\nowt", "error": None, "detail": None},
        {"input": "boom", "output": None, "error": "runtime_error", "detail": "ValueError: boom (line 3)"},
        {"input": "é", "output": "é", "error": None, "detail": None},
    ]


def test_verdict_still_gives_a_row_per_input_and_exit_zero(tmp_path: Path) -> None:
    completed = run_cli(write_solver(tmp_path, "import os\n"), stdin='"a"\n"b"\n')
    assert completed.returncode == 0
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [row["error"] for row in rows] == ["restricted", "restricted"]
    assert "verdict: restricted" in completed.stderr


def test_limit_options(tmp_path: Path) -> None:
    solver = write_solver(
        tmp_path, "def solver(x):\n    while x == 'hang':\n        pass\n    return x * 3\n"
    )
    completed = run_cli(
        solver, "--case-seconds", "0.5", "--max-output-chars", "5", stdin='"hang"\n"ab"\n"x"\n'
    )
    assert completed.returncode == 0, completed.stderr
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [(row["output"], row["error"]) for row in rows] == [
        (None, "timeout"),
        (None, "bad_output"),
        ("xxx", None),
    ]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), "", "SOLVER.py is required"),
        (("/nonexistent/solver.py",), '"a"\n', "cannot read"),
        (("SOLVER", "--case-seconds", "0"), '"a"\n', "case_seconds must be positive"),
        (("SOLVER",), '"a"\nnot json\n', "line 2 is not JSON"),
        (("SOLVER",), '"a"\n["a list"]\n', "line 2 must be a JSON string"),
        (("SOLVER", "--memory-mb", "lots"), '"a"\n', "invalid int value"),
    ],
)
def test_bad_usage_exits_non_zero_with_a_message(
    tmp_path: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    solver = write_solver(tmp_path, "def solver(x):\n    return x\n")
    completed = run_cli(*[solver if a == "SOLVER" else a for a in args], stdin=stdin)
    assert completed.returncode != 0
    assert message in completed.stderr
    assert completed.stdout == ""


def test_isolation_report() -> None:
    completed = run_cli("--isolation")
    assert completed.returncode == 0
    info = json.loads(completed.stdout)
    assert isinstance(info["network_namespace"], bool) and info["summary"].startswith("network: ")


def test_solver_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """A fake 'all passed' drawn with escape sequences in an error message stays inert text."""
    fake = "\\x1b[2K\\r\\x1b[1A\\x9b32mall cases passed\\u202e\\x07"
    solver = write_solver(tmp_path, f"raise ValueError('{fake}')\ndef solver(x):\n    return x\n")
    completed = run_cli(solver, stdin='"a"\n')
    assert completed.returncode == 0
    assert "verdict: runtime_error" in completed.stderr
    shown = completed.stdout + completed.stderr
    assert not [c for c in shown if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c == "\u202e"]
    assert "\\x1b[2K\\x0d\\x1b[1A\\x9b32mall cases passed\\u202e\\x07" in completed.stderr


def test_escape_controls_keeps_ordinary_text() -> None:
    from executor import escape_controls

    assert escape_controls("héllo wörld 你好 ok") == "héllo wörld 你好 ok"
    assert escape_controls("a\nb\tc\x1b\u2028\U000e0001") == "a\\x0ab\\x09c\\x1b\\u2028\\U000e0001"
