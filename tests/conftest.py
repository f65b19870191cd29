from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ANCHORS = ROOT.parent / "shared" / "anchors"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "solverlab.db"
