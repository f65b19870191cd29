"""The house rules that keep the layout livable: layers, complexity, file sizes, a thin app.py."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("app.py", "ui", "lab", "probes", "executor")
MAX_LINES = 600
MAX_APP_LINES = 150


def product_files() -> list[Path]:
    files: list[Path] = []
    for name in PRODUCT:
        path = ROOT / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install --require-hashes -r requirements-dev.txt")
    return found


def test_import_layers_hold() -> None:
    """ui -> lab -> probes, executor; probes and executor import nothing of the project (pyproject.toml)."""
    result = subprocess.run([tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_product_is_ruff_clean_with_complexity_at_most_15() -> None:
    result = subprocess.run(
        [tool("ruff"), "check", "--no-cache", *PRODUCT, "bench", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_product_file_reaches_600_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in product_files()
        if (n := len(p.read_text().splitlines())) >= MAX_LINES
    }
    assert long == {}


def test_app_py_is_navigation_only() -> None:
    source = (ROOT / "app.py").read_text()
    assert len(source.splitlines()) < MAX_APP_LINES
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "streamlit", "ui", "os", "sys", "pathlib"}, imported


def test_test_fixtures_do_not_ship_in_the_product() -> None:
    shipped = [str(p.relative_to(ROOT)) for p in product_files() if "scripted" in p.name]
    assert shipped == []
