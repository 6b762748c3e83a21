"""One draw for every backend (conformance/corpus.py): a generated case's examples are
drawn once and replayed on every backend; a failure is searched and shrunk on the
backend that failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tensor_conformance import engine
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.corpus import CorpusExample, PolicyReads, references_under
from tensor_conformance.input_coverage import draws
from tensor_conformance.spec import load_all
from tests.conftest import CUMSUM, ROOT
from tests.test_suite_runs import run_suite


@pytest.fixture
def cumsum_specs(specs_dir: Path) -> Path:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    return specs_dir


def generated(reports: Path, kind: str = "generated") -> dict[str, dict]:
    data = json.loads((reports / "results.json").read_text())
    return {c["backend"]: c for c in data["cells"] if c["kind"] == kind}


def test_every_backend_replays_the_examples_drawn_once(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy,torch")
    assert result.ret == 0, result.stdout.str()
    assert json.loads((reports / "results.json").read_text())["run"]["draws"] == "once per case"
    cells = generated(reports)
    assert set(cells) == {"reference", "numpy", "torch"}
    for cell in cells.values():
        assert cell["outcome"] == "pass"
        # the quick profile's 10 examples, every one replayed, none drawn by the cell
        assert cell["examples"] == cell["replayed_examples"] == 10
    # one worker runs the three cells: the first draws the corpus, the others reuse it
    drew = [b for b, c in cells.items() if c["corpus_draw_s"] > 0]
    assert len(drew) == 1, cells
    # gradient cells (numpy has no autograd) replay a corpus of their own, drawn once
    gradient = generated(reports, "gradient")
    assert gradient["numpy"]["outcome"] == "not_applicable"
    for backend in ("reference", "torch"):
        assert gradient[backend]["outcome"] == "pass"
        # the quick profile's share: 5 examples
        assert gradient[backend]["replayed_examples"] == 5 >= gradient[backend]["examples"] > 0
    assert [b for b, c in gradient.items() if c["corpus_draw_s"] > 0] == ["reference"]


def test_draw_per_cell_and_a_database_profile_draw_in_every_cell(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy",
                                "--draw-per-cell")
    assert result.ret == 0, result.stdout.str()
    assert json.loads((reports / "results.json").read_text())["run"]["draws"] == "per cell"
    for cell in generated(reports).values():
        assert cell["examples"] == 10 and cell["replayed_examples"] == 0
        assert cell["corpus_draw_s"] == 0


def test_a_failure_is_searched_and_shrunk_on_the_backend_that_failed(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{backend}")
    assert result.ret == 1
    out = result.stdout.str()
    # hypothesis's own report of the shrunk example (its search ran on this backend)
    assert "Falsifying example" in out or "Failing test case" in out
    cells = generated(reports)
    assert cells["reference"]["outcome"] == "pass"
    failed = cells["numpy-cumsum-off-by-one"]
    assert failed["outcome"] == "fail"
    # the simplest float input there is: one element
    assert failed["failure"]["example"]["A"] in ("tensor([0.0], dtype=float32)",
                                                 "tensor([0.0], dtype=float64)")
    assert "shrunk" not in failed["failure"]
    assert failed["examples"] > failed["replayed_examples"] >= 1


def test_a_failure_the_search_cannot_meet_again_is_shown_unshrunk(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumWrongOnce"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backend, "-k", "test_case")
    assert result.ret == 1, result.stdout.str()
    failed = generated(reports)["numpy-cumsum-wrong-once"]
    assert failed["outcome"] == "fail"
    assert failed["failure"]["shrunk"] is False
    assert "shown as drawn, not shrunk" in failed["failure"]["message"]
    assert "value differs" in failed["failure"]["message"]
    assert failed["failure"]["reproducer"]


def test_two_bugs_found_at_once_are_the_backends_disagreement_not_the_suites(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    """Hypothesis's search meets a wrong value and a raised error: it reports both as
    one ExceptionGroup, whose disagreement is the cell's failure record (with its
    example and outputs), not "an error of the suite" (where ConformanceFailure is raised)."""
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumWrongOrRaising"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backend, "-k", "test_case",
                                "--draw-per-cell")
    assert result.ret == 1, result.stdout.str()
    failed = generated(reports)["numpy-cumsum-wrong-or-raising"]
    assert failed["outcome"] == "fail"
    failure = failed["failure"]
    assert failure.get("kind") != "suite_error", failure["message"]
    assert "error of the suite" not in failure["message"]
    assert "value differs" in failure["message"]
    assert failure["outputs"] and failure["reproducer"]
    assert "ExceptionGroup" in result.stdout.str() or "distinct failures" in result.stdout.str()


def test_each_cell_gets_its_own_copy_of_the_inputs() -> None:
    drawn = np.array([1.0, 2.0])
    example = CorpusExample({"A": drawn, "axis": 0}, 0, {})
    first = example.inputs()
    first["A"] += 1  # a backend that writes into what it was given
    assert example.inputs()["A"].tolist() == [1.0, 2.0]
    assert first["axis"] == 0 and first["A"] is not drawn


def test_finite_differences_are_computed_once_per_program_and_inputs(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every backend's gradient cell replays the same examples: the reference's finite
    differences, which do not depend on the backend, are not recomputed."""
    from tensor_conformance import gradients
    from tensor_conformance.program import Program

    calls = []
    monkeypatch.setattr(gradients, "_estimate", lambda gp, variables, v: calls.append(1) or (1.0, 0.0))
    gp = gradients.gradient_program(Program.parse(
        "x.requires_grad_(True)\ny = (x * x).sum()\ny.backward()\nx.grad\n"))
    assert gp is not None
    x = np.array([0.5, -2.0])
    v = gradients.direction({"x": x}, gp.leaves)
    assert gradients._finite_difference(gp, {"x": x}, v) == (1.0, 0.0)
    assert gradients._finite_difference(gp, {"x": x.copy()}, v) == (1.0, 0.0)
    assert len(calls) == 1
    gradients._finite_difference(gp, {"x": np.array([0.5, -2.5])}, v)
    assert len(calls) == 2


POLICIES = (DOCUMENTED_POLICY,
            DtypePolicy(default_float="float64", int_float_promotion="widest"),  # NumPy's
            DtypePolicy(default_int="int32", max_bits=32),  # JAX's without x64
            DtypePolicy(default_float="float64"))  # JAX's with x64


def _observed(ref: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(k, o.kind, o.dtype, o.shape, repr(o.value), repr(o.bounds), repr(o.unsure))
            for k, o in sorted(ref.items())]


@pytest.mark.parametrize("path", ["tensors/sum_axis/keepdims", "tensors/elementwise/float_with_int",
                                  "tensors/tensor_literal/mixed_int_float",
                                  "linear_algebra/norms/lp", "tensors/zeros_ones/drawn_shape"])
def test_the_reference_runs_once_per_group_of_policies_it_cannot_tell_apart(
        path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy reaches the reference only through its fields: a run is shared with every
    policy that has the same values for the fields it read, and its outputs are those
    of a run of its own."""
    spec_id, _, case_id = path.rpartition("/")
    case = next(c for s in load_all(ROOT / "specs")[0] if s.id == spec_id for c in s.cases
                if c.id == case_id)
    runs: list[DtypePolicy] = []
    run_alone = engine.reference_outputs

    def counted(case: Any, policy: Any, variables: Any, seed: int) -> Any:
        runs.append(policy)
        return run_alone(case, policy, variables, seed)

    monkeypatch.setattr(engine, "reference_outputs", counted)
    shared_somewhere = False
    for variables in draws(case)[:20]:
        runs.clear()
        together = references_under(case, POLICIES, variables, 0)
        alone = {p: run_alone(case, p, variables, 0) for p in POLICIES}
        if together is None:
            assert any(r is None for r in alone.values())
            continue
        for policy in POLICIES:
            assert _observed(together[policy]) == _observed(alone[policy])  # type: ignore[arg-type]
        assert 1 <= len(runs) <= len(POLICIES)
        shared_somewhere |= len(runs) < len(POLICIES)
    assert shared_somewhere


def test_policy_reads_record_the_fields_a_run_read() -> None:
    reads = PolicyReads(DOCUMENTED_POLICY)
    assert reads.max_bits == 64 and reads.default_float == "float32"
    assert reads.read == {"max_bits", "default_float"}
    assert reads.agrees(DtypePolicy(default_int="int32"))  # default_int was not read
    assert not reads.agrees(DtypePolicy(default_float="float64"))
    assert not reads.agrees(DtypePolicy(max_bits=32))
