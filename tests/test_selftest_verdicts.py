"""How the self-test judges one fault's run (conformance/selftest.py), without running
the suite: ``run_suite`` is replaced by canned results.json cells."""

from __future__ import annotations

from typing import Any

import pytest

from tensor_conformance import faults, selftest
from tensor_conformance.selftest import Run, run_fault

FAULT = faults.catalogue()["jax-matmul-square-transposed"]  # claims L07, L08; breaks mv|mm


def _cell(case: str, claims: list[str], output: str) -> dict[str, Any]:
    return {"spec": "linear_algebra/mm", "case": case, "outcome": "fail", "claims": claims,
            "failure": {"outputs": [{"name": output, "problem": "values differ"}],
                        "message": ""}}


GRADIENT = _cell("columns/gradient", ["D02", "D04"], "A.grad")
FORWARD = _cell("entries", ["L08"], "torch.mm(A, B)")


def _runs(monkeypatch: pytest.MonkeyPatch, first: list[dict[str, Any]],
          full: list[dict[str, Any]]) -> list[bool]:
    calls: list[bool] = []

    def run_suite(backend: str, spec_ids: list[str], *, profile: str, stop_at_first: bool,
                  extra: tuple[str, ...] = ()) -> Run:
        calls.append(stop_at_first)
        cells = first if stop_at_first else full
        return Run(1 if cells else 0, cells, 10, 1.0)

    monkeypatch.setattr(selftest, "run_suite", run_suite)
    return calls


def test_a_fault_first_failing_a_cell_of_other_claims_is_killed_by_a_later_cell(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a wrong matmul fails mm's gradient cell (calculus claims) before mm's own cells
    calls = _runs(monkeypatch, first=[GRADIENT], full=[GRADIENT, FORWARD])
    verdict = run_fault(FAULT)
    assert verdict.status == "killed"
    assert verdict.cell == "linear_algebra/mm/entries" and verdict.outputs == ["torch.mm(A, B)"]
    assert calls == [True, False]


def test_a_fault_no_cell_names_is_a_wrong_catch_after_the_full_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _runs(monkeypatch, first=[GRADIENT], full=[GRADIENT])
    verdict = run_fault(FAULT)
    assert verdict.status == "WRONG CATCH"
    assert verdict.cell == "linear_algebra/mm/columns/gradient"
    assert calls == [True, False]


@pytest.mark.parametrize("first, status", [([FORWARD], "killed"), ([], "SURVIVED")])
def test_a_first_run_that_kills_or_passes_is_not_run_again(
        monkeypatch: pytest.MonkeyPatch, first: list[dict[str, Any]], status: str) -> None:
    calls = _runs(monkeypatch, first=first, full=[FORWARD])
    assert run_fault(FAULT).status == status
    assert calls == [True]
