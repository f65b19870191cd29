"""The app's pages (ui/) and the command line reach the lab through its facade, lab.api, and nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"app", "ui", "lab", "probes", "executor", "tests", "bench"}


def project_imports(path: Path) -> set[str]:
    """The project's modules a file imports (`from lab import api` counts as `lab` and `lab.api`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.split(".")[0] in PROJECT}


def test_ui_and_the_command_line_reach_the_lab_through_its_facade_only() -> None:
    files = [*sorted((ROOT / "ui").glob("*.py")), ROOT / "lab" / "cli.py", ROOT / "lab" / "cli_parser.py"]
    assert len(files) > 5
    for path in files:
        outside = {
            name
            for name in project_imports(path)
            if name.split(".")[0] != "ui"
            and name not in {"lab", "lab.api", "lab.cli_parser"}
            and not (path.name == "cli.py" and name.startswith("lab.cli_parser."))
        }
        assert outside == set(), f"{path.relative_to(ROOT)} imports {sorted(outside)}; go through lab.api"
