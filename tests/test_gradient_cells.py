"""Gradient cells (conformance/differentiation.py): every generated case, differentiated.

A wrong backward planted in the torch library itself (forward values unchanged) must
fail a gradient cell naming the claim it breaks, while the case's forward cells pass;
the same run on unpatched torch under the same backend name must pass.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensor_conformance import differentiation, engine
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY
from tensor_conformance.adapters.reference import autograd
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.faults import catalogue
from tensor_conformance.program import Interpreter, Program
from tensor_conformance.spec import load_all
from tensor_conformance.strategies import draw_all
from tests.conftest import ROOT, SPECS
from tests.test_faulty_backends import NEEDS

needs_torch = NEEDS["torch"]

SPECS_LOADED, _ = load_all(SPECS)
CASES = {f"{spec.id}/{case.id}": case for spec in SPECS_LOADED for case in spec.cases}


def check_of(case_id: str) -> differentiation.GradientCheck:
    check = differentiation.gradient_check(CASES[case_id])
    assert check is not None, case_id
    return check


def test_every_case_with_a_float_input_has_a_gradient_cell() -> None:
    for case_id, case in CASES.items():
        floats = any("array" in e and differentiation._may_be_float(e, case.given_spec)
                     for e in case.given_spec.values())
        own = case.compiled or bool(case.program.needs & {"autograd", "random"})
        assert (differentiation.gradient_check(case) is not None) == (floats and not own), case_id


@pytest.mark.parametrize(("case_id", "leaves", "claims"), [
    ("tensors/cumsum/any_axis", ("A",), ("D02", "D04")),
    ("tensors/exp/float32", ("X",), ("D02", "D04")),
    ("tensors/cat/any_axis", ("X", "Y"), ("D02", "D04", "D06")),
    ("tensors/memory_identity/iadd", ("X", "Y"), ("A06",)),
    ("tensors/memory_identity/zeros_like_write", ("X", "Y"), ("D02", "D04", "A06")),
])
def test_a_gradient_cell_names_its_leaves_and_claims(case_id: str, leaves: tuple[str, ...],
                                                     claims: tuple[str, ...]) -> None:
    check = check_of(case_id)
    assert check.candidates == leaves
    assert check.claims == claims
    assert check.id == case_id.rsplit("/", maxsplit=1)[-1] + "/gradient"
    assert "autograd" in check.needs


def test_dtype_draws_are_narrowed_to_floating_point() -> None:
    check = check_of("tensors/cumsum/any_axis")
    assert CASES["tensors/cumsum/any_axis"].given_spec["dtype"]["dtypes"] != ["float32", "float64"]
    plan_dtypes = set()

    @settings(max_examples=30, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        plan_dtypes.add(draw_all(data, check.given)["dtype"])

    draw()
    assert plan_dtypes == {"float32", "float64"}


def plan(case_id: str, **variables: object) -> differentiation._Plan | None:
    return differentiation._plan(check_of(case_id), variables, ReferenceAdapter(DOCUMENTED_POLICY))


def test_the_differentiated_program_sums_each_float_output_times_its_cotangent() -> None:
    A = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    p = plan("tensors/cumsum/running_sum_axis0", dtype="float32", A=A)
    assert p is not None and not p.writes_into_leaf
    source = p.program.source
    assert source.startswith("A.requires_grad_(True)\n")
    assert "_loss.backward()" in source and source.rstrip().endswith("A.grad")
    # the two sides of the agree relation are the outputs; C = A.cumsum(0) is kept
    assert [name for name, _, _ in p.cotangents] == ["_v1", "_v2"]
    assert all(shape == (2, 2) and dtype == "float32" for _, shape, dtype in p.cotangents)


def test_a_write_into_a_leaf_is_checked_to_raise() -> None:
    X = np.ones((2, 3), dtype=np.float64)
    p = plan("tensors/memory_identity/iadd", dtype="float64", shapes=((2, 3), (3,)), X=X,
             Y=np.ones(3))
    assert p is not None and p.writes_into_leaf and p.cotangents == ()
    assert p.program.outputs[-2:] == ("X", "Y")  # never reached: PyTorch raises at X += Y


def test_nothing_to_differentiate_is_inconclusive() -> None:
    Y = np.ones((2,), dtype=np.float32)
    # zeros_like(Y) is a constant: no output is computed from the leaf
    assert plan("tensors/memory_identity/zeros_like", dtype="float32", Y=Y) is None


def test_the_reference_refuses_an_in_place_write_into_a_leaf() -> None:
    ref = ReferenceAdapter(DOCUMENTED_POLICY)
    x = ref.from_host(np.ones(3, dtype=np.float32))
    out = Interpreter(ref, {"x": x}).run(Program.parse("x.requires_grad_(True)\nx += 1\nx\n"))
    assert "leaf Variable that requires grad" in str(out["x += 1"].error)


def test_a_tracked_value_written_into_a_tensor_gets_its_region_of_the_gradient() -> None:
    ref = ReferenceAdapter(DOCUMENTED_POLICY)
    x = ref.from_host(np.array([1.0, 2.0], dtype=np.float32))
    code = ("x.requires_grad_(True)\nZ = torch.zeros(3)\nW = Z * 5\nZ[1:] = x * 2\n"
            "y = (Z * torch.tensor([1.0, 10.0, 100.0])).sum() + W.sum()\ny.backward()\nx.grad\n")
    out = Interpreter(ref, {"x": x}).run(Program.parse(code))
    assert ref.to_host(out["x.grad"]).tolist() == [20.0, 200.0]


def test_kinks_are_unchecked_only_inside_gradient_cells() -> None:
    ref = ReferenceAdapter(DOCUMENTED_POLICY)
    code = Program.parse("x.requires_grad_(True)\ny = torch.abs(x).sum()\ny.backward()\nx.grad\n")
    for unchecked in (False, True):
        x = ref.from_host(np.array([0.0, -2.0], dtype=np.float32))
        with autograd.kinks_unchecked() if unchecked else _nothing():
            grad = Interpreter(ref, {"x": x}).run(code)["x.grad"]
        assert grad.values == [0.0, -1.0]  # PyTorch's choice: sign(0) = 0
        assert (grad.bounds is not None and grad.bounds[0] == float("inf")) == unchecked
        assert grad.bound(1) != float("inf")


def _nothing():  # type: ignore[no-untyped-def]
    import contextlib
    return contextlib.nullcontext()


# -- wrong backward passes planted in the torch library -------------------------------------
WRONG_BACKWARDS = [
    # (fault in conformance/fault_catalogue.py, -k selection, a cell that must fail, its claim)
    ("torch-cumsum-backward-forwards", "tensors/cumsum", "tensors/cumsum/any_axis/gradient",
     "D04"),
    ("torch-exp-backward-uses-input", "tensors/exp", "tensors/exp/float64/gradient", "D02"),
    ("torch-scalar-mul-backward-drops-scalar", "python_number",
     "tensors/broadcasting/python_number/gradient", "D02"),
]


def run_suite(pytester: pytest.Pytester, backend: str, select: str) -> tuple[int, list[dict], str]:
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"), "--specs", str(SPECS), "--backend", backend, "-k", select,
        "--report-dir", str(reports), "-p", "no:cacheprovider", "--rootdir", str(ROOT),
        "--hypothesis-profile=quick")
    cells = json.loads((reports / "results.json").read_text())["cells"]
    return result.ret, cells, result.stdout.str()


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.chdir(ROOT)
    return pytester


@needs_torch
@pytest.mark.parametrize(("fault", "select", "cell", "claim"), WRONG_BACKWARDS,
                         ids=[f[0] for f in WRONG_BACKWARDS])
def test_a_wrong_backward_in_torch_fails_its_gradient_cell(
        pytester: pytest.Pytester, fault: str, select: str, cell: str, claim: str) -> None:
    ret, cells, out = run_suite(pytester, f"tensor_conformance.faults:{fault}", select)
    assert ret == 1, out
    failing = {f"{c['spec']}/{c['case']}": c for c in cells if c["outcome"] == "fail"}
    assert cell in failing, out
    assert claim in failing[cell]["claims"], failing[cell]
    assert failing[cell]["kind"] == "gradient"
    assert catalogue()[fault].catches(failing[cell]), failing[cell]["failure"]
    assert f"test_gradient[{cell}-torch]" in out
    # forward values are the library's own: only gradient cells fail
    assert {c["kind"] for c in failing.values()} == {"gradient"}, sorted(failing)
    # the report shows the three oracles' values and a reproducer
    failure = failing[cell]["failure"]
    assert "reference tape" in failure["oracles"] and failure["reproducer"]
    assert any(k.startswith("finite differences") for k in failure["oracles"])

    # control: the same backend name (torch) and registry, the library unpatched
    ret, cells, out = run_suite(pytester, "torch", select)
    assert ret == 0, out
    gradient = [c for c in cells if c["kind"] == "gradient" and c["outcome"] == "pass"]
    assert gradient and all(c["gradient_oracles"].get("reference_tape") for c in gradient)


@needs_torch
def test_a_loss_that_overflows_still_checks_the_gradient() -> None:
    """exp(709.) times -2, summed three times, is -inf in float64; the gradient of each
    element is -2 exp(709.), finite.  The reference used to raise while forming the loss
    (math.fsum's intermediate overflow), so torch and jax-x64 failed the gradient cell
    of exp in float64 with "the reference raised earlier" (explore seed 31)."""
    from tensor_conformance.adapters.torch_backend import TorchAdapter

    case_id = "tensors/exp/float64"
    spec = next(s for s in SPECS_LOADED if s.id == "tensors/exp")
    X = np.full(3, 709.0)
    for adapter in (ReferenceAdapter(DOCUMENTED_POLICY), TorchAdapter()):
        run = engine.CellRun()
        differentiation.run_example(spec, check_of(case_id), adapter,
                                    lambda name, shape, dtype: np.full(shape, -2.0, dtype),
                                    {"dtype": "float64", "shp": (3,), "X": X}, [], run)
        assert run.examples == 1 and run.checked == 1, adapter.name


def test_forward_mode_is_checked_where_the_tangent_along_v_would_overflow() -> None:
    """exp(704.) * 1 + exp(704.) * -1: the gradient is 0, and the forward-mode oracle's
    direction is scaled to X (512), so a jvp along v itself forms e^704 * 512, past
    float64's range, and answered inf - inf = nan on torch, jax and jax-x64 alike
    (explore seed 5).  The oracle hands the jvp v scaled into [-1, 1] instead."""
    from tensor_conformance.adapters.torch_backend import TorchAdapter

    spec = next(s for s in SPECS_LOADED if s.id == "tensors/exp")
    run = engine.CellRun()
    differentiation.run_example(spec, check_of("tensors/exp/float64"), TorchAdapter(),
                                lambda name, shape, dtype: np.full(shape, 1.0 if name == "_v0"
                                                                   else -1.0, dtype),
                                {"dtype": "float64", "shp": (), "X": np.array(704.0)}, [], run)
    assert run.examples == 1 and run.checked == 1
    assert run.oracles["forward_mode"] == 1, run.oracles
