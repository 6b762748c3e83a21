"""Shared helpers for the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

pytest_plugins = ["pytester"]

#: a small valid spec: the notes' cumsum example and one generated case
CUMSUM = """
title: cumsum accumulates along an axis and keeps the shape
claims: [T20]
examples:
  - id: notes
    doctest: |
      >>> A = torch.arange(6, dtype=torch.float32).reshape(3, 2)
      >>> A.cumsum(axis=0)
      tensor([[0., 1.],
              [2., 4.],
              [6., 9.]])
cases:
  - id: any_axis
    given:
      dtype: {dtypes: [float32, float64, int32, int64]}
      A: {array: {dtype: dtype, min_dims: 1}}
      axis: {axis_of: A}
    code: |
      A.cumsum(axis=axis)
    holds:
      - "A.cumsum(axis=axis).shape == A.shape"
"""



@pytest.fixture
def specs_dir(tmp_path: Path) -> Path:
    """An empty specs folder with the real claim inventory."""
    d = tmp_path / "specs"
    d.mkdir()
    shutil.copy(SPECS / "claims.yaml", d / "claims.yaml")
    return d
