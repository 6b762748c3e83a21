"""The suite's own decisions, each by a named test that fails when the decision is broken:
a divergence's ``when:``, stale divergences, the ``agree`` relations.

Each of these bugs was planted once in the suite and no other own test noticed it (issue 14);
the end-to-end halves are in test_suite_runs.py (stale divergences fail the run) and
test_adapter_loading.py (no eager torch import).  Every test here runs in process, so
mutation testing (README) runs them against each mutant.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tensor_conformance import divergences, engine
from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.engine import CellRun, ConformanceFailure
from tensor_conformance.spec import Case, Spec, load_all
from tests.conftest import CUMSUM


class CumsumPlusOne(NumpyAdapter):
    """NumPy with cumsum off by one: every value of ``A.cumsum(axis=axis)`` is wrong."""

    name = "numpy-cumsum-plus-one"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return super().cumsum(x, axis) + 1


#: the cumsum case with a deliberately false relation (a cumulative sum is not its input)
FALSE_AGREE = """
title: a relation that is false on every backend
claims: [T20]
cases:
  - id: false_agree
    given:
      A: {array: {dtype: float64, shape: [3]}}
    code: |
      A.cumsum(axis=0)
      A
    agree:
      - ["A.cumsum(axis=0)", "A"]
"""


def _specs(specs_dir: Path, name: str, text: str) -> list[Spec]:
    (specs_dir / "tensors").mkdir(exist_ok=True)
    (specs_dir / "tensors" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_all(specs_dir)[0]


def _registry(specs_dir: Path, specs: list[Spec], entries: str) -> divergences.Registry:
    path = specs_dir.parent / "divergences.yaml"  # not under specs/: it is no spec
    path.write_text(textwrap.dedent(entries), encoding="utf-8")
    return divergences.load(path, specs)


def _case(spec: Spec, case_id: str) -> Case:
    return next(c for c in spec.cases if c.id == case_id)


def _run(spec: Spec, case_id: str, adapter: Any, variables: dict[str, Any],
         registry: divergences.Registry | None = None) -> CellRun:
    run = CellRun()
    entries = registry.for_cell(spec.id, case_id, adapter.name) if registry else []
    engine.run_case_example(spec, _case(spec, case_id), adapter, variables, 0, entries, run)
    return run


# -- a registry entry's when: ------------------------------------------------------------------
WHEN_FLOAT64 = """
- id: cumsum-plus-one-float64
  backend: numpy-cumsum-plus-one
  spec: tensors/cumsum
  cases: [any_axis]
  when: {dtype: [float64]}
  outputs: ["A.cumsum(axis=axis)"]
  reason: excuses the planted fault for float64 inputs only
"""


def test_a_divergence_whose_when_does_not_match_does_not_excuse_a_failure(specs_dir: Path) -> None:
    specs = _specs(specs_dir, "cumsum", CUMSUM)
    registry = _registry(specs_dir, specs, WHEN_FLOAT64)
    float32 = {"dtype": "float32", "A": np.array([1.0, 2.0], dtype=np.float32), "axis": 0}
    with pytest.raises(ConformanceFailure, match=r"A.cumsum\(axis=axis\): value differs"):
        _run(specs[0], "any_axis", CumsumPlusOne(), float32, registry)
    # control: where its when: matches, the same entry explains the same fault
    float64 = {"dtype": "float64", "A": np.array([1.0, 2.0]), "axis": 0}
    run = _run(specs[0], "any_axis", CumsumPlusOne(), float64, registry)
    assert run.observed == {"cumsum-plus-one-float64": 1}
    assert run.conformed == {}


def test_a_divergence_selects_by_each_drawn_value_and_by_dtype(specs_dir: Path) -> None:
    specs = _specs(specs_dir, "cumsum", CUMSUM)
    entry = _registry(specs_dir, specs, WHEN_FLOAT64 + "  compiled: true\n").entries[0]
    assert entry.when == {"dtype": ("float64",)}
    assert entry.selects({"dtype": "float64"}, compiled=True)
    assert not entry.selects({"dtype": "float32"}, compiled=True)
    assert not entry.selects({"dtype": "float64"}, compiled=False)  # compiled-only entry
    assert not entry.selects({}, compiled=True)  # the variable was not drawn at all
    by_dtype = divergences.Divergence("d", "b", "s", None, {"A": ("bool",)}, None, None, "r", None)
    assert by_dtype.selects({"A": np.array([True])})
    assert not by_dtype.selects({"A": np.array([1], dtype=np.int8)})


# -- a registry entry that no longer reproduces is stale ----------------------------------------
def test_an_entry_whose_conditions_met_but_never_diverged_is_counted_as_conformed(
    specs_dir: Path,
) -> None:
    specs = _specs(specs_dir, "cumsum", CUMSUM)
    registry = _registry(specs_dir, specs, WHEN_FLOAT64.replace("numpy-cumsum-plus-one", "numpy"))
    float64 = {"dtype": "float64", "A": np.array([1.0, 2.0]), "axis": 0}
    run = _run(specs[0], "any_axis", NumpyAdapter(), float64, registry)
    assert run.conformed == {"cumsum-plus-one-float64": 1}
    assert run.observed == {}


# -- the claim's agree relations -----------------------------------------------------------------
@pytest.mark.parametrize("adapter", [ReferenceAdapter(), NumpyAdapter()], ids=["reference", "numpy"])
def test_a_false_agree_relation_fails_on_every_backend(specs_dir: Path, adapter: Any) -> None:
    specs = _specs(specs_dir, "false_agree", FALSE_AGREE)
    variables = {"A": np.array([1.0, 2.0, 3.0])}
    with pytest.raises(ConformanceFailure) as failure:
        _run(specs[0], "false_agree", adapter, variables)
    (output,) = failure.value.details["outputs"]
    assert output["name"] == "A.cumsum(axis=0)  ==  A"
    assert output["problem"] == "relation"


def test_a_true_agree_relation_passes(specs_dir: Path) -> None:
    specs = _specs(specs_dir, "true_agree", FALSE_AGREE.replace('"A.cumsum(axis=0)", "A"',
                                                                '"A.cumsum(axis=0)", "A.cumsum(0)"')
                   .replace("      A\n", "      A.cumsum(0)\n"))
    run = _run(specs[0], "false_agree", NumpyAdapter(), {"A": np.array([1.0, 2.0, 3.0])})
    assert run.examples == 1
