"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced_after(marker: str) -> list[str]:
    match = re.search(rf"<!-- {marker} -->\n```\n(.*?)\n```", README, re.DOTALL)
    assert match, marker
    return match.group(1).splitlines()


def test_the_readme_has_one_app_command_and_one_test_command() -> None:
    (app,) = fenced_after("app-command")
    (tests,) = fenced_after("test-command")
    assert "pip install --require-hashes -r requirements.txt" in app and "streamlit run app.py" in app
    assert (
        "apt-packages.txt" in tests and "requirements-dev.txt" in tests and tests.endswith("python -m pytest")
    )
    assert README.count("<!-- app-command -->") == README.count("<!-- test-command -->") == 1


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    extract = re.search(r"test_command=\$\((.*)\)\n", script)
    assert extract
    result = subprocess.run(
        ["bash", "-c", extract.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == fenced_after("test-command")[0]


def test_the_readme_names_the_python_versions_pyproject_allows() -> None:
    allowed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    stated = re.search(
        r"Supported Python versions: ([0-9., and]+) \(`requires-python = \"([^\"]+)\"`\)", README
    )
    assert stated, "the README states the supported Python versions next to requires-python"
    assert stated.group(2) == allowed
    bounds = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", allowed)
    assert bounds, allowed
    named = [int(v) for v in re.findall(r"3\.(\d+)", stated.group(1))]
    assert named == list(range(int(bounds.group(1)), int(bounds.group(2))))
