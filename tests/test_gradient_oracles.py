"""The gradient oracles (conformance/gradients.py): the reference's own gradients
against finite differences in float64, and wrong gradients caught by both oracles."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from tensor_conformance import gradients
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.adapters.reference.tensor import Indeterminate
from tensor_conformance.observed import Observed, observe
from tensor_conformance.program import Interpreter, Program
from tensor_conformance.spec import Case, load_all
from tensor_conformance.strategies import draw_all
from tests.conftest import SPECS

SPECS_LOADED, _ = load_all(SPECS)
#: cases whose gradients the oracles check (a case whose claim is that backward() raises has none)
DIFFERENTIATED = [pytest.param(case, id=f"{spec.id}/{case.id}")
                  for spec in SPECS_LOADED for case in spec.cases
                  if gradients.gradient_program(case.program) is not None and not case.compiled
                  and not case.raises]
#: of each case's 50 examples, at least this many must be conclusive for finite differences:
#: a case drawn only at kinks (or whose leaves are not drawn values) would check nothing
MIN_CONCLUSIVE = 3


def run_reference(program: Program, variables: dict[str, object]) -> dict[str, Observed]:
    ref = ReferenceAdapter(DOCUMENTED_POLICY)
    inputs = {k: ref.from_host(v) if isinstance(v, np.ndarray) else v for k, v in variables.items()}
    return Interpreter(ref, inputs).run(program, lambda v: observe(ref, v))


def scaled(outputs: dict[str, Observed], name: str, factor: float) -> dict[str, Observed]:
    obs = outputs[name]
    return {**outputs, name: dataclasses.replace(obs, value=np.asarray(obs.value) * factor)}


def test_the_oracles_apply_to_the_calculus_and_backward_specs() -> None:
    ids = {p.id for p in DIFFERENTIATED}
    assert {"autograd/backward_dot/any_vector", "calculus/chain_rule/squared_norm_of_a_residual",
            "calculus/scalar_by_vector/sum_and_product_rules"} <= ids


@pytest.mark.parametrize("program", [
    "x.requires_grad_(True)\ny = (x * x).sum()\ny.backward()\ny.backward()\nx.grad\n",
    "x.requires_grad_(True)\nu = (x * x).detach()\ny = (u * x).sum()\ny.backward()\nx.grad\n",
    "x.requires_grad_(True)\ny = x.sum()\ny.backward()\nx.grad.zero_()\n",
    "y = x.sum()\ny\n",
], ids=["accumulates", "detach", "zero_", "no-backward"])
def test_programs_that_are_not_a_function_of_their_leaves_are_left_alone(program: str) -> None:
    assert gradients.gradient_program(Program.parse(program)) is None


@pytest.mark.parametrize("case", DIFFERENTIATED)
def test_reference_gradients_agree_with_finite_differences(case: Case) -> None:
    gp = gradients.gradient_program(case.program)
    assert gp is not None
    checked: Counter[str] = Counter()

    @settings(max_examples=50, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(data=st.data())
    def agrees(data: st.DataObject) -> None:
        variables = draw_all(data, case.given)
        try:
            outputs = run_reference(case.program, variables)
        except Indeterminate:
            reject()  # as the suite does: the semantics do not fix the answer at this precision
        found = gradients.check(gp, ReferenceAdapter(DOCUMENTED_POLICY), variables, outputs, outputs)
        assert found.mismatches == []
        checked.update(found.checked)

    agrees()
    assert checked["finite_differences"] >= MIN_CONCLUSIVE, checked


def test_a_gradient_off_by_a_thousandth_is_caught_by_finite_differences() -> None:
    program = Program.parse("x.requires_grad_(True)\ny = 2 * torch.dot(x, x)\ny.backward()\nx.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([0.5, -1.25, 3.0], dtype=np.float32)}
    ref = run_reference(program, variables)
    adapter = ReferenceAdapter(DOCUMENTED_POLICY)
    assert gradients.check(gp, adapter, variables, ref, ref).mismatches == []
    found = gradients.check(gp, adapter, variables, scaled(ref, "x.grad", 1.001), ref)
    assert found.checked["finite_differences"] == 1
    assert [m.output for m in found.mismatches] == ["x.grad"]
    assert "finite differences" in found.mismatches[0].expected


def test_at_a_kink_finite_differences_are_inconclusive_not_wrong() -> None:
    program = Program.parse("x.requires_grad_(True)\ny = torch.abs(x).sum()\ny.backward()\nx.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([1e-30, 2.0])}  # |x| bends within any usable step of 1e-30
    ref = run_reference(program, variables)
    found = gradients.check(gp, ReferenceAdapter(DOCUMENTED_POLICY), variables, ref, ref)
    assert found.checked["finite_differences"] == 0
    assert found.mismatches == []


@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
def test_at_an_infinite_or_nan_point_finite_differences_are_inconclusive(special: float) -> None:
    """A sum of special values (tensors/sum_all/special_values, differentiated) has no
    derivative to estimate: inconclusive, never an error of the suite."""
    program = Program.parse("x.requires_grad_(True)\ny = x.sum()\ny.backward()\nx.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([special, 2.0])}
    ref = run_reference(program, variables)
    found = gradients.check(gp, ReferenceAdapter(DOCUMENTED_POLICY), variables, ref, ref)
    assert found.checked["finite_differences"] == 0
    assert found.mismatches == []


def test_forward_mode_catches_a_reverse_mode_that_disagrees() -> None:
    torch_backend = pytest.importorskip("tensor_conformance.adapters.torch_backend")
    torch = torch_backend.TorchAdapter()
    program = Program.parse("x.requires_grad_(True)\ny = (x * x * x).sum()\ny.backward()\nx.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([0.5, -2.0, 1.5], dtype=np.float64)}
    ref = run_reference(program, variables)
    inputs = {"x": torch.from_host(variables["x"])}
    found = gradients.check(gp, torch, variables, scaled(ref, "x.grad", 0.999), ref, inputs)
    assert found.checked == {"finite_differences": 1, "forward_mode": 1}
    fd, forward = sorted(found.mismatches, key=lambda m: "jvp" in m.describe())
    assert fd.expected.split(" by ")[1] == "finite differences (float64, reference)"
    # neither side of forward mode is the reference: both are the backend's own modes
    assert forward.sides == ("torch backward() gives", "forward mode (jvp) gives")
    assert "sum of <x.grad, v>" in forward.expected
    assert forward.got.endswith("by torch forward mode (jvp)")
    assert "expected" not in forward.describe()


def test_forward_mode_and_backward_that_both_give_nan_agree() -> None:
    """d(x*x)/dx at x = nan is nan in both modes: the same answer, no mismatch."""
    torch_backend = pytest.importorskip("tensor_conformance.adapters.torch_backend")
    torch = torch_backend.TorchAdapter()
    program = Program.parse("x.requires_grad_(True)\ny = (x * x).sum()\ny.backward()\nx.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([np.nan, 1.0], dtype=np.float64)}
    got = Interpreter(torch, {"x": torch.from_host(variables["x"])}).run(
        program, lambda v: observe(torch, v))
    inputs = {"x": torch.from_host(variables["x"])}
    found = gradients.check(gp, torch, variables, got, got, inputs)
    assert found.checked["forward_mode"] == 1
    assert found.mismatches == []


def test_forward_mode_allows_tangent_intermediates_flushed_to_zero() -> None:
    """z = (<x, w> - y)^2 at x = the smallest normal float32, w = 0, y = 2 (issue 9, found by
    an explore run): forward mode forms x * v, below the smallest normal, which XLA on CPU
    flushes to zero, so the jvp is 0 while reverse mode gives 2 (<x, w> - y) x v.  The
    bound carries that flushed intermediate, scaled by the adjoint of the dot (-4)."""
    torch_backend = pytest.importorskip("tensor_conformance.adapters.torch_backend")
    import torch as torch_lib

    torch = torch_backend.TorchAdapter()
    program = Program.parse("w.requires_grad_(True)\nz = (torch.dot(x, w) - y) ** 2\n"
                            "z.backward()\nw.grad\n")
    gp = gradients.gradient_program(program)
    assert gp is not None
    variables = {"x": np.array([2.0**-126], dtype=np.float32), "w": np.array([0.0], dtype=np.float32),
                 "y": np.array(2.0, dtype=np.float32)}
    ref = run_reference(program, variables)
    inputs = {k: torch.from_host(v) for k, v in variables.items()}
    if not torch_lib.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals to zero")
    try:
        found = gradients.check(gp, torch, variables, ref, ref, inputs)
    finally:
        torch_lib.set_flush_denormal(False)
    assert found.checked["forward_mode"] == 1
    assert found.mismatches == []
