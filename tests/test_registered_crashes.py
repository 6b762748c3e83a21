"""A crash the divergence registry states (``problems: [crash]``) is a known divergence.

A library that kills its process on some inputs (tinygrad: SIGFPE on an integer floor
division by zero) is a library bug the suite can only see from outside
(conformance/isolation.py).  Registered with a reason, the cell is a known divergence
that still shows the signal and the example; an unregistered crash stays ``crash``; an
entry whose inputs no longer crash the library is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_suite_runs import run_suite

ADAPTERS = ROOT / "tests" / "crashing_adapters.py"
CRASHES = f"{ADAPTERS}:FloatingPointExceptionOnIntegerCumsum"
FIXED = f"{ADAPTERS}:FixedIntegerCumsum"

CUMSUM = """
title: cumsum keeps the shape
claims: [T20]
cases:
  - id: any_axis
    given:
      dtype: {dtypes: [float32, int32]}
      A: {array: {dtype: dtype, min_dims: 1}}
      axis: {axis_of: A}
    code: |
      A.cumsum(axis=axis)
    holds: ["A.cumsum(axis=axis).shape == A.shape"]
"""


def _registry(backend: str) -> str:
    return f"""
- id: integer-cumsum-sigfpe
  backend: {backend}
  spec: tensors/cumsum
  when: {{A: [int32]}}
  problems: [crash]
  reason: Library bug. cumsum of an integer array kills the process with SIGFPE.
  link: https://example.org/issues/1
"""


@pytest.fixture
def cumsum_specs(specs_dir: Path) -> Path:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    return specs_dir


def _cells(reports: Path, backend: str) -> dict[str, dict]:
    cells = json.loads((reports / "results.json").read_text())["cells"]
    return {c["kind"]: c for c in cells if c["backend"] == backend}


def test_a_registered_crash_is_a_known_divergence_that_shows_the_signal(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    registry = pytester.path / "crashes.yaml"
    registry.write_text(_registry("numpy-fpe"), encoding="utf-8")
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{CRASHES}",
                                "--divergences", str(registry))
    out = result.stdout.str()
    assert result.ret == 0, out
    cell = _cells(reports, "numpy-fpe")["generated"]
    assert cell["outcome"] == "divergence", cell
    assert cell["reason"].startswith("Library bug. cumsum of an integer array")
    assert cell["link"] == "https://example.org/issues/1"
    assert cell["divergence"]["id"] == "integer-cumsum-sigfpe"
    assert "SIGFPE" in cell["failure"]["message"]  # still shown: the signal and the example
    drawn = cell["failure"]["example"]["A"]
    assert drawn.startswith("tensor(") and "int32" in drawn
    assert "import numpy as np" in cell["failure"]["reproducer"]


def test_an_unregistered_crash_stays_a_crash(pytester: pytest.Pytester, cumsum_specs: Path) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{CRASHES}")
    assert result.ret == 1, result.stdout.str()
    assert _cells(reports, "numpy-fpe")["generated"]["outcome"] == "crash"


def test_a_registered_crash_that_no_longer_happens_is_stale(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    registry = pytester.path / "crashes.yaml"
    registry.write_text(_registry("numpy-fpe-fixed"), encoding="utf-8")
    # ci: a deterministic profile, where a stale entry fails the run
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{FIXED}",
                                "--divergences", str(registry), "--hypothesis-profile=ci")
    assert result.ret == 1, result.stdout.str()
    cell = _cells(reports, "numpy-fpe-fixed")["generated"]
    assert cell["outcome"] == "stale", cell
    assert "integer-cumsum-sigfpe did not reproduce" in cell["reason"]
