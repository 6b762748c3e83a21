"""The gradient oracles' finer rules (conformance/gradients.py), on small inputs.

The finite-difference estimate on an ``F`` the test sets (``gradients._F`` replaced by a
function of the step ``t`` that returns F's value and the reference's bound on it): the
step, when F counts as smooth, and the error it reports; the estimates kept by program and
inputs; what ``check`` reports along v and how much the backend's two modes may differ.
tests/test_gradient_oracle_rules.py has the rules on whole programs.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tensor_conformance import gradients
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY
from tensor_conformance.observed import Observed
from tests.test_gradient_oracle_rules import SQUARES, JvpReference, along, gp_of, run_reference

U64 = 2.0**-53
#: the step for leaves within [-1, 1]: the power of two nearest u64^(1/3) = 2^-17.67
H = 2.0**-18


@pytest.fixture(autouse=True)
def _fresh_estimates() -> None:
    gradients._ESTIMATES.clear()


def estimate(monkeypatch: pytest.MonkeyPatch, f: Callable[[float], tuple[float, float]],
             x: float = 0.5) -> tuple[float, float] | None:
    """``_estimate`` of an F given as ``t -> (F(x + t v), the reference's bound on it)``."""
    monkeypatch.setattr(gradients, "_F", lambda gp, base, v, t: f(t))
    variables = {"x": np.array([x])}
    return gradients._estimate(gp_of(SQUARES), variables, gradients.direction(variables, ("x",)))


def at(values: dict[float, float], bound: float = 0.0) -> Callable[[float], tuple[float, float]]:
    """F that is 0 except at the steps given, with the same bound everywhere."""
    return lambda t: (values.get(t, 0.0), bound)


# -- which calls are a method of a variable -------------------------------------------------

@pytest.mark.parametrize(("expression", "method"), [
    ("y.backward()", ("y", "backward")), ("x.requires_grad_(True)", ("x", "requires_grad_")),
    ("f(x)", None), ("x.grad", None), ("(x * 1).requires_grad_(True)", None),
    ("a.b.backward()", None),
])
def test_a_method_call_is_a_call_of_an_attribute_of_a_variable(
        expression: str, method: tuple[str, str] | None) -> None:
    node = ast.parse(expression).body[0]
    assert isinstance(node, ast.Expr)
    assert gradients._method_call(node.value) == method


def test_a_statement_that_is_no_expression_is_no_method_call() -> None:
    assert gradients._method_call(None) is None


# -- the step -------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [[0.5, -0.25], [0.0], [1.0], [-4.0], [3.0, -1e6]])
def test_the_step_is_the_power_of_two_nearest_cbrt_u64_whatever_the_leaves(
        monkeypatch: pytest.MonkeyPatch, x: list[float]) -> None:
    """The direction carries each element's scale (``direction``), so one step, 2^-18,
    moves every element by about 2^-18 of itself, at 4 as at 1e6."""
    steps: list[float] = []
    monkeypatch.setattr(gradients, "_F", lambda gp, base, v, t: steps.append(t) or (2 * t, 0.0))
    variables = {"x": np.array(x)}
    gradients._estimate(gp_of(SQUARES), variables, gradients.direction(variables, ("x",)))
    assert H == 2.0**-18 and sorted(steps) == [-H, -H / 2, 0.0, H / 2, H]


def test_a_leaf_without_elements_leaves_the_step_to_the_others() -> None:
    source = ("x.requires_grad_(True)\nw.requires_grad_(True)\ny = (w * w).sum() + x.sum()\n"
              "y.backward()\nx.grad\nw.grad\n")
    variables = {"x": np.zeros(0), "w": np.array([0.5, -2.0])}
    v = gradients.direction(variables, ("x", "w"))
    found = gradients._estimate(gp_of(source), variables, v)
    assert found is not None
    assert found[0] == pytest.approx(float(np.sum(2 * variables["w"] * v["w"])), rel=1e-12, abs=0)


def test_float32_inputs_are_read_in_float64_before_f_runs() -> None:
    """a * a in float32 is off by ~1e-8 relative: F runs on a's float64 values."""
    source = "x.requires_grad_(True)\ny = (x * (a * a)).sum()\ny.backward()\nx.grad\n"
    variables = {"x": np.array([0.5, -1.0], dtype=np.float32),
                 "a": np.array([1.1, 3.3], dtype=np.float32)}
    v = gradients.direction(variables, ("x",))
    found = gradients._estimate(gp_of(source), variables, v)
    assert found is not None
    a = variables["a"].astype(np.float64)
    exact = float(np.sum(a * a * v["x"]))
    assert abs(found[0] - exact) <= found[1] <= 1e-8


# -- when F is conclusive, and the error of the estimate ------------------------------------

def test_f_not_finite_or_not_bounded_at_any_step_is_inconclusive(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert estimate(monkeypatch, lambda t: (2 * t, math.inf if t == H else 0.0)) is None
    assert estimate(monkeypatch, lambda t: (math.nan if t == -H else 2 * t, 0.0)) is None
    assert estimate(monkeypatch, lambda t: (math.inf if t == 0 else 2 * t, 1.0)) is None
    assert estimate(monkeypatch, lambda t: (2 * t, 0.0))[0] == 2.0  # type: ignore[index]


def test_a_constant_zero_f_has_derivative_zero_with_no_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert estimate(monkeypatch, lambda t: (0.0, 0.0)) == (0.0, 0.0)


def test_the_error_is_f_s_own_rounding_over_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two values of F at the step h/2 apart, each off by the reference's bound on it but
    never by less than 4 u64 |F| (the largest |F| seen): 2 off / h."""
    line = lambda bound: lambda t: (1 + 2 * t, bound)  # noqa: E731
    assert estimate(monkeypatch, line(0.0)) == (2.0, 2 * 4 * U64 * (1 + 2 * H) / H)
    assert estimate(monkeypatch, line(1e-12)) == (2.0, 2 * 1e-12 / H)


def test_the_two_steps_may_differ_by_twice_their_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    """F 0 but e at h/2: the central differences are 0 and e/h.  With F's bound e each is
    within 2 e/h of the derivative, so they agree; with a bound e/4.5 a difference of e/h is
    more than F's rounding explains (2 x 2 (e/4.5) / h): F is not smooth there."""
    e = 1e-9
    found = estimate(monkeypatch, at({H / 2: e}, bound=e))
    assert found is not None and found[0] == pytest.approx(e / H, rel=1e-12)
    assert estimate(monkeypatch, at({H / 2: e}, bound=e / 4.5)) is None


def test_the_two_steps_agree_relative_to_f(monkeypatch: pytest.MonkeyPatch) -> None:
    """F = C + t^3 at x = 4: the central differences are h^2 and h^2 / 4.  That is within
    1e-4 (|d| + |F|) for C = 7.6e3 h^2, not for C = 7.4e3 h^2 (the direction carries
    the leaves' scale, so F's size is compared as it is)."""
    for c, smooth in [(7.6e3 * H**2, True), (7.4e3 * H**2, False)]:
        found = estimate(monkeypatch, lambda t, c=c: (c + t**3, 0.0), x=4.0)
        assert (found is not None) is smooth


def test_second_differences_may_differ_by_their_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    """F 0 but e at +-h/2: the central differences agree (0), the curvatures are 0 at h and
    8 e / h^2 at h/2.  The second differences' own error, four values off over (h/2)^2,
    explains that difference for F's bound 0.4 e and more, not for 0.35 e."""
    e = 1e-9
    assert estimate(monkeypatch, at({H / 2: e, -H / 2: e}, bound=0.45 * e)) is not None
    assert estimate(monkeypatch, at({H / 2: e, -H / 2: e}, bound=0.35 * e)) is None
    # e at h/2 alone, bound e: the curvature 4 e / h^2 is within 0.2 of it plus 16 e / h^2
    assert estimate(monkeypatch, at({H / 2: e}, bound=e)) is not None


def test_a_curvature_that_shrinks_a_little_at_the_smaller_step_is_smooth(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """F = t^2 - t^4: the second differences are 2 - 2 h^2 and 2 - h^2 / 2 (within 20%)."""
    found = estimate(monkeypatch, lambda t: (t**2 - t**4, 0.0))
    assert found is not None and found[0] == 0.0


# -- F itself ---------------------------------------------------------------------------------

def test_f_is_the_programs_one_element_output_at_x_plus_t_v() -> None:
    gp = gp_of("x.requires_grad_(True)\ny = x * x\ny.backward()\nx.grad\n")
    value, bound = gradients._F(gp, {"x": np.array([3.0])}, {"x": np.array([0.5])}, 2.0)  # type: ignore[misc]
    assert value == 16.0 and 0 <= bound < 1e-12
    assert gradients._F(gp, {"x": np.array([3.0, 1.0])}, {"x": np.array([0.5, 0.5])}, 2.0) is None


# -- estimates kept by program and inputs ---------------------------------------------------

def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def fake(gp: Any, variables: Any, v: Any) -> tuple[float, float]:
        calls.append((gp, variables, v))
        return float(len(calls)), 0.0

    monkeypatch.setattr(gradients, "_estimate", fake)
    return calls


def test_an_estimate_is_kept_by_program_and_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    gp = gp_of(SQUARES)
    v = {"x": np.array([0.5])}
    assert gradients._finite_difference(gp, {"x": np.array([1.0]), "k": 2}, v) == (1.0, 0.0)
    assert gradients._finite_difference(gp, {"x": np.array([1.0]), "k": 2}, v) == (1.0, 0.0)
    assert gradients._finite_difference(gp, {"x": np.array([2.0]), "k": 2}, v) == (2.0, 0.0)
    assert gradients._finite_difference(gp, {"x": np.array([1.0]), "k": 3}, v) == (3.0, 0.0)
    assert len(calls) == 3


def test_inputs_that_cannot_be_a_key_are_estimated_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    gp = gp_of(SQUARES)
    variables = {"x": np.array([1.0]), "shape": [1, 2]}
    v = {"x": np.array([0.5])}
    assert gradients._finite_difference(gp, variables, v) == (1.0, 0.0)
    assert gradients._finite_difference(gp, variables, v) == (2.0, 0.0)
    assert all(call[0] is gp and call[1] is variables and call[2] is v for call in calls)
    assert not gradients._ESTIMATES


def test_the_oldest_estimates_are_dropped_beyond_the_kept_number(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    monkeypatch.setattr(gradients, "_ESTIMATES_KEPT", 2)
    gp = gp_of(SQUARES)
    v = {"x": np.array([0.5])}
    for x in (1.0, 2.0, 3.0):
        gradients._finite_difference(gp, {"x": np.array([x])}, v)
    assert len(gradients._ESTIMATES) == 2
    assert gradients._finite_difference(gp, {"x": np.array([3.0])}, v) == (3.0, 0.0)  # kept
    assert gradients._finite_difference(gp, {"x": np.array([1.0])}, v) == (4.0, 0.0)  # dropped
    assert len(calls) == 4


# -- check: what it reports and compares ------------------------------------------------------

def with_grad(outputs: dict[str, Observed], **changes: Any) -> dict[str, Observed]:
    return {**outputs, "x.grad": dataclasses.replace(outputs["x.grad"], **changes)}


def test_check_reports_each_oracles_derivative_along_v() -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    adapter = JvpReference(12.5)
    found = gradients.check(gp_of(SQUARES), adapter, variables, ref, ref,
                            {"x": adapter.from_host(variables["x"])})
    fd = gradients._finite_difference(gp_of(SQUARES), variables,
                                      gradients.direction(variables, ("x",)))
    assert fd is not None
    along_v = along(ref["x.grad"].value, variables)
    assert found.along == {"jvp-reference reverse mode (x.grad)": along_v,
                           "reference tape": along_v,
                           "finite differences (float64)": fd[0],
                           "forward mode (jvp-reference jvp)": 12.5}


@pytest.mark.parametrize("ref_grad", ["missing", "error"])
def test_without_the_references_gradient_there_is_no_reference_tape(ref_grad: str) -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    mine = dict(ref)
    if ref_grad == "missing":
        del mine["x.grad"]
    else:
        mine["x.grad"] = Observed("error", error="RuntimeError: no grad")
    found = gradients.check(gp_of(SQUARES), JvpReference(0.0), variables, ref, mine)
    assert "reference tape" not in found.along
    assert found.checked["finite_differences"] == 1 and found.mismatches == []


def test_leaves_without_elements_have_nothing_to_compare() -> None:
    variables = {"x": np.zeros(0)}
    ref = run_reference(SQUARES, variables)
    adapter = JvpReference(0.0)
    found = gradients.check(gp_of(SQUARES), adapter, variables, ref, ref,
                            {"x": adapter.from_host(variables["x"])})
    assert found.along == {} and not found.checked and adapter.calls == []


def test_forward_mode_reads_a_one_element_output_of_any_shape() -> None:
    source = "x.requires_grad_(True)\ny = x * x\ny.backward()\nx.grad\n"
    variables = {"x": np.array([3.0])}
    ref = run_reference(source, variables)
    tangent = along(ref["x.grad"].value, variables)
    adapter = JvpReference(tangent)
    found = gradients.check(gp_of(source), adapter, variables, ref, ref,
                            {"x": adapter.from_host(variables["x"])})
    assert found.along["forward mode (jvp-reference jvp)"] == tangent
    assert dict(found.checked) == {"finite_differences": 1, "forward_mode": 1}
    assert found.mismatches == []


def test_finite_differences_allow_twice_the_estimates_error() -> None:
    """The reference's bound on x.grad set to 0: the gradient along v may be off the estimate
    by twice the estimate's error (plus 4 u64 of itself), no more."""
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = with_grad(run_reference(SQUARES, variables), bounds=np.zeros(3))
    gp = gp_of(SQUARES)
    v = gradients.direction(variables, ("x",))["x"]
    fd = gradients._finite_difference(gp, variables, {"x": v})
    assert fd is not None
    estimate, error = fd
    assert error > 1e4 * U64 * abs(estimate)  # the u64 term is negligible beside it

    def fails(off: float) -> bool:
        """x.grad moved along v so that its sum along v is the estimate plus ``off``."""
        grad = ref["x.grad"].value
        grad = grad + (estimate + off - along(grad, variables)) * v / float(np.sum(v * v))
        found = gradients.check(gp, JvpReference(0.0), variables, with_grad(ref, value=grad), ref)
        assert found.checked["finite_differences"] == 1
        return bool(found.mismatches)

    assert not fails(1.5 * error) and not fails(-1.5 * error)
    assert fails(2.5 * error) and fails(-2.5 * error)


@pytest.mark.parametrize(("off", "fails"), [(4, False), (-4, False), (-5, True), (6, True)])
def test_finite_differences_allow_4_u64_of_the_gradient_along_v_to_the_last_bit(
        monkeypatch: pytest.MonkeyPatch, off: int, fails: bool) -> None:
    """The estimate's error and the reference's bound set to 0, x.grad along v exactly 1.0:
    an estimate 4 u64 away still agrees (the tolerance holds its own edge), 5 u64 below
    or 6 u64 above (the nearest floats beyond) does not."""
    variables = {"x": np.zeros(256)}
    ref = with_grad(run_reference(SQUARES, variables), bounds=np.zeros(256))
    v = gradients.direction(variables, ("x",))["x"]
    i = int(np.flatnonzero(np.log2(np.abs(v)) % 1 == 0)[0])  # |v_i| a power of two
    grad = np.zeros(256)
    grad[i] = 1 / v[i]
    assert along(grad, variables) == 1.0
    monkeypatch.setattr(gradients, "_finite_difference",
                        lambda gp, variables, v: (1.0 + off * U64, 0.0))
    found = gradients.check(gp_of(SQUARES), JvpReference(0.0), variables,
                            with_grad(ref, value=grad), ref)
    assert found.checked["finite_differences"] == 1
    assert bool(found.mismatches) == fails


def jvp_disagrees(got: dict[str, Observed], ref: dict[str, Observed], tangent: float,
                  variables: dict[str, Any], source: str = SQUARES,
                  adapter: JvpReference | None = None) -> bool:
    adapter = adapter or JvpReference(tangent)
    adapter.tangent = tangent
    found = gradients.check(gp_of(source), adapter, variables, got, ref,
                            {"x": adapter.from_host(variables["x"])})
    assert found.checked["forward_mode"] == 1
    return any(m.sides[1] == "forward mode (jvp) gives" for m in found.mismatches)


def test_forward_mode_allows_n_plus_2_roundings_in_the_gradients_dtype() -> None:
    """float32 gradients of sum(x^2) over n = 3 elements, the reference's bound set to 0:
    backward() and jvp may differ by (n + 2) u32 sum |x.grad v|, no more."""
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = with_grad(run_reference(SQUARES, variables), bounds=np.zeros(3))
    grad = (2 * variables["x"]).astype(np.float32)
    got = with_grad(ref, value=grad, dtype="float32")
    v = gradients.direction(variables, ("x",))["x"]
    slack = (3 + 2) * 2.0**-24 * float(np.sum(np.abs(grad * v)))
    along_v = along(grad, variables)
    assert not jvp_disagrees(got, ref, along_v + 0.9 * slack, variables)
    assert not jvp_disagrees(got, ref, along_v - 0.9 * slack, variables)
    assert jvp_disagrees(got, ref, along_v + 1.1 * slack, variables)


def test_forward_mode_allows_twice_the_references_bound_along_v() -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = with_grad(run_reference(SQUARES, variables), bounds=np.full(3, 1e-4))
    v = gradients.direction(variables, ("x",))["x"]
    bound = float(np.sum(np.abs(v))) * 1e-4
    along_v = along(ref["x.grad"].value, variables)
    assert not jvp_disagrees(ref, ref, along_v + 1.9 * bound, variables)
    assert jvp_disagrees(ref, ref, along_v + 2.5 * bound, variables)


def test_forward_mode_never_reports_a_difference_below_1e_300() -> None:
    """backward() exactly 0 with no error allowed (bound 0, nothing to round, float64's
    flush floor 2^-1022 a few times): a jvp of 1e-301 still agrees, 1e-299 does not."""
    source = "x.requires_grad_(True)\ny = (x * 0.0).sum()\ny.backward()\nx.grad\n"
    variables = {"x": np.array([0.5, -2.0])}
    ref = with_grad(run_reference(source, variables), bounds=np.zeros(2))
    assert not ref["x.grad"].value.any()
    adapter = JvpReference(0.0, policy=gradients._FLOAT64)
    assert not jvp_disagrees(ref, ref, 1e-301, variables, source, adapter)
    assert jvp_disagrees(ref, ref, 1e-299, variables, source, adapter)


def test_tangent_flush_reads_inputs_that_are_not_arrays_as_they_are() -> None:
    gp = gp_of("x.requires_grad_(True)\ny = (x * k).sum()\ny.backward()\nx.grad\n")
    flush = gradients._tangent_flush(gp, DOCUMENTED_POLICY, {"x": np.array([0.5, -2.0]), "k": 3})
    assert 0 < flush < 1e-30
