"""Shared helpers for the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

pytest_plugins = ["pytester"]


@pytest.fixture
def specs_dir(tmp_path: Path) -> Path:
    """An empty specs folder with the real claim inventory."""
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(SPECS / "claims.yaml", d / "claims.yaml")
    return d
