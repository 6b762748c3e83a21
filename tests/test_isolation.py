"""A crash or a hang costs one cell, never the run (conformance/isolation.py).

A backend that dies of SIGSEGV on one cell and sleeps forever on another runs next to
the reference and torch, with and without ``-n 2``: those two cells end as ``crash``
and ``timeout`` with the example they were running, every other cell of every backend
has its usual outcome, the run exits 1 and the page and results.json say so.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import ROOT
from tests.test_suite_runs import run_suite

CRASHER = f"{ROOT / 'tests' / 'crashing_adapters.py'}:SegfaultsOnCumsumHangsOnSum"
EXITER = f"{ROOT / 'tests' / 'crashing_adapters.py'}:ExitsOnCumsum"

SPECS = {
    "cumsum": """
title: cumsum keeps the shape
claims: [T20]
cases:
  - id: any_axis
    given:
      dtype: {dtypes: [float32, float64]}
      A: {array: {dtype: dtype, min_dims: 1}}
      axis: {axis_of: A}
    code: |
      A.cumsum(axis=axis)
    holds: ["A.cumsum(axis=axis).shape == A.shape"]
""",
    "sum_axis": """
title: sum along an axis removes it
claims: [T15]
cases:
  - id: any_axis
    given:
      dtype: {dtypes: [float32, float64]}
      A: {array: {dtype: dtype, min_dims: 1}}
      axis: {axis_of: A}
    code: |
      A.sum(axis=axis)
    holds: ["len(A.sum(axis=axis).shape) == len(A.shape) - 1"]
""",
    "add": """
title: + acts elementwise
claims: [T10]
cases:
  - id: same_shape
    given:
      dtype: {dtypes: [float32, float64]}
      X: {array: {dtype: dtype}}
    code: |
      X + X
    holds: ["(X + X).shape == X.shape"]
""",
}


@pytest.fixture
def three_specs(specs_dir: Path) -> Path:
    (specs_dir / "tensors").mkdir()
    for name, text in SPECS.items():
        (specs_dir / "tensors" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return specs_dir


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["no-xdist-option", "n2"])
def test_a_crash_and_a_hang_cost_one_cell_each(
    pytester: pytest.Pytester, three_specs: Path, workers: list[str]
) -> None:
    junit = pytester.path / "junit.xml"
    result, reports = run_suite(pytester, three_specs, "--backend", f"reference,torch,{CRASHER}",
                                "--cell-timeout", "8", f"--junitxml={junit}", *workers)
    out = result.stdout.str()
    assert result.ret == 1, out
    data = json.loads((reports / "results.json").read_text())
    outcomes = {(c["spec"], c["kind"], c["backend"]): c["outcome"] for c in data["cells"]}
    assert outcomes == {
        **{(f"tensors/{s}", k, b): "pass" for s in SPECS for k in ("generated", "gradient")
           for b in ("reference", "torch")},
        ("tensors/add", "generated", "numpy-segv-hang"): "pass",
        ("tensors/cumsum", "generated", "numpy-segv-hang"): "crash",
        ("tensors/sum_axis", "generated", "numpy-segv-hang"): "timeout",
        # numpy has no autograd: its gradient cells run nothing, so neither crash nor hang
        **{(f"tensors/{s}", "gradient", "numpy-segv-hang"): "not_applicable" for s in SPECS},
    }, out
    assert data["run"]["complete"] is True
    cells = {c["spec"]: c for c in data["cells"]
             if c["backend"] == "numpy-segv-hang" and c["kind"] == "generated"}
    crash, timeout = cells["tensors/cumsum"], cells["tensors/sum_axis"]
    assert "SIGSEGV" in crash["reason"] and "in cumsum" in crash["reason"]
    assert "--cell-timeout 8 s" in timeout["reason"] and "in sum" in timeout["reason"]
    for cell in (crash, timeout):
        failure = cell["failure"]
        assert set(failure["example"]) == {"dtype", "A", "axis"}  # the example being run
        assert failure["example"]["A"].startswith("tensor(")
        assert "import numpy as np" in failure["reproducer"]
        assert "A = np.asarray(" in failure["reproducer"]
    assert "numpy-segv-hang crash: tensors/cumsum / any_axis" in out
    assert "numpy-segv-hang timeout: tensors/sum_axis / any_axis" in out
    page = (reports / "index.html").read_text()
    assert "Every cell passed" not in page and "Partial run" not in page
    assert page.count('class="detail o-border-crash"') == 1
    assert page.count('class="detail o-border-timeout"') == 1
    # JUnit: both cells are failures with the one-line message
    failures = {case.get("name"): case.find("failure") for case in ElementTree.parse(junit).iter("testcase")}
    bad = {name: f for name, f in failures.items() if f is not None}
    assert set(bad) == {"test_case[tensors/cumsum/any_axis-numpy-segv-hang]",
                        "test_case[tensors/sum_axis/any_axis-numpy-segv-hang]"}, failures


def test_a_worker_that_exits_is_a_crash_and_the_run_goes_on(
    pytester: pytest.Pytester, three_specs: Path
) -> None:
    result, reports = run_suite(pytester, three_specs, "--backend", f"reference,{EXITER}")
    assert result.ret == 1, result.stdout.str()
    cells = json.loads((reports / "results.json").read_text())["cells"]
    outcomes = {(c["spec"], c["kind"], c["backend"]): c["outcome"] for c in cells}
    assert outcomes[("tensors/cumsum", "generated", "numpy-exits")] == "crash"
    # the reference's 3 generated and 3 gradient cells, numpy-exits' add and sum_axis
    # (its gradient cells are not_applicable: numpy has no autograd)
    assert sum(o == "pass" for o in outcomes.values()) == 8
    assert [o for o in outcomes.values() if o not in ("pass", "not_applicable")] == ["crash"]
    crash = next(c for c in cells if c["outcome"] == "crash")
    assert "without a Python error" in crash["reason"]
