"""The gradient oracles' rules (conformance/gradients.py), one at a time, on small programs.

Which programs are a function of their leaves, the direction v, the finite-difference
estimate and its error, when an oracle checks nothing, and the forward-mode oracle on
a backend whose ``jvp`` the test controls (``JvpReference``: the reference with a jvp
that returns a set tangent, or raises).  tests/test_gradient_oracles.py checks the
oracles end to end on the shipped specs and on PyTorch.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from tensor_conformance import gradients
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.adapters.reference import ops
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.observed import Observed, observe
from tensor_conformance.program import Interpreter, Program

SQUARES = "x.requires_grad_(True)\ny = (x * x).sum()\ny.backward()\nx.grad\n"


@pytest.fixture(autouse=True)
def _fresh_estimates() -> None:
    """Each test computes its finite differences afresh: the estimates are kept by program
    and inputs (``gradients._ESTIMATES``), so a test on an example another test (or an
    earlier run in this process) already estimated would otherwise read the kept result
    and never reach ``_estimate``."""
    gradients._ESTIMATES.clear()


def gp_of(source: str) -> gradients.GradientProgram:
    gp = gradients.gradient_program(Program.parse(source))
    assert gp is not None
    return gp


def run_reference(source: str, variables: dict[str, Any]) -> dict[str, Observed]:
    ref = ReferenceAdapter(DOCUMENTED_POLICY)
    inputs = {k: ref.from_host(v) if isinstance(v, np.ndarray) else v for k, v in variables.items()}
    return Interpreter(ref, inputs).run(Program.parse(source), lambda v: observe(ref, v))


def along(grad: np.ndarray, variables: dict[str, Any], leaf: str = "x") -> float:
    v = gradients.direction(variables, (leaf,))[leaf]
    return float(np.sum(np.asarray(grad, dtype=np.float64) * v))


class JvpReference(ReferenceAdapter):
    """The reference with a forward mode whose derivative along the oracle's v is
    ``tangent`` (or that raises).  The oracle hands the jvp v / scale (``_tangent_scale``)
    and multiplies the answer back, so this jvp answers ``tangent / scale``, v being
    the direction of its primals (``direction`` depends only on their values)."""

    name = "jvp-reference"

    def __init__(self, tangent: float | None, policy: DtypePolicy = DOCUMENTED_POLICY) -> None:
        super().__init__(policy)
        self.tangent = tangent
        self.calls: list[tuple[Any, ...]] = []

    def jvp(self, fn: Any, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        self.calls.append(tangents)
        out = fn(*primals)
        if self.tangent is None:
            raise RuntimeError("this jvp cannot trace the program")
        names = tuple(f"leaf{i}" for i in range(len(primals)))
        v = gradients.direction({n: np.asarray(self.to_host(p)) for n, p in zip(names, primals,
                                                                               strict=True)}, names)
        # the tangent has the output's shape (one element: y is what backward() was called on)
        shape = getattr(out, "shape", ())
        value = self.tangent / gradients._tangent_scale(v)
        return out, ops.tensor(np.full(shape, value).tolist(), "float64", self.policy)


# -- which programs are differentiated ------------------------------------------------------

def test_the_function_is_the_code_before_backward() -> None:
    gp = gp_of("x.requires_grad_(True)\nw.requires_grad_(True)\nx.requires_grad_(True)\n"
               "z = x * w\ny = z.sum()\ny.backward()\nx.grad\nw.grad * 2\n")
    assert gp.leaves == ("x", "w")  # in order, each once
    assert gp.output == "y"
    assert gp.prefix.source == "z = x * w\ny = z.sum()\ny\n"
    assert gp.prefix.outputs == ("y",)


@pytest.mark.parametrize("source", [
    "x.requires_grad_(True)\ny = (x * x).sum()\ny\n",                      # no backward()
    "y = (x * x).sum()\ny.backward()\nx.grad\n",                           # no leaf
    "x.requires_grad_(True)\ny = x.sum()\ny.backward()\ng = x.grad\ng\n",  # an assignment after
    "x.requires_grad_(True)\ny = x.sum()\ny.backward()\nx.grad.backward()\n",
    "x.requires_grad_(True)\ny = x.sum()\nx.grad\ny.backward()\nx.grad\n",  # .grad before
    "x.requires_grad_(True)\ny = torch.randn(3).sum() + x.sum()\ny.backward()\nx.grad\n",
    "x.requires_grad_(True)\nx[0] = 1.0\ny = x.sum()\ny.backward()\nx.grad\n",
], ids=["no-backward", "no-leaf", "assignment-after", "second-backward",
        "grad-before", "random", "in-place"])
def test_programs_that_are_not_one_function_of_their_leaves(source: str) -> None:
    assert gradients.gradient_program(Program.parse(source)) is None


def test_a_leaf_set_by_a_call_on_an_expression_is_no_leaf() -> None:
    """``(x * 1).requires_grad_(True)`` names no variable: with no other leaf, nothing."""
    source = "(x * 1).requires_grad_(True)\ny = x.sum()\ny.backward()\nx.grad\n"
    assert gradients.gradient_program(Program.parse(source)) is None


# -- the direction --------------------------------------------------------------------------

def test_the_direction_is_fixed_nonzero_dyadic_and_within_one() -> None:
    variables = {"x": np.zeros((3, 4)), "w": np.zeros(5), "k": 2}
    v = gradients.direction(variables, ("x", "w"))
    again = gradients.direction(variables, ("x", "w"))
    assert set(v) == {"x", "w"} and v["x"].shape == (3, 4) and v["w"].shape == (5,)
    for name in v:
        assert np.array_equal(v[name], again[name])
        grid = v[name] * 2**gradients.DIRECTION_BITS
        assert np.array_equal(grid, np.round(grid)) and (np.abs(v[name]) <= 1).all()
        assert (v[name] != 0).all()
        # each element draws its own sign: a leaf's elements point both ways
        assert (v[name] > 0).any() and (v[name] < 0).any()
    values = np.concatenate([v["x"].ravel(), v["w"].ravel()])
    assert (values > 0).any() and (values < 0).any() and len(set(values.tolist())) > 10


def test_the_direction_is_scaled_to_each_element() -> None:
    """Each element of v is its unit value times the power of two nearest max(1, |x_i|)
    (1 where x_i is not finite): a step moves every element by the same fraction."""
    x = np.array([0.0, 0.3, -1.0, 1.5, 3.0, -1000.0, 805925.97, np.inf, np.nan])
    unit = gradients.direction({"x": np.zeros(x.shape)}, ("x",))["x"]
    v = gradients.direction({"x": x}, ("x",))["x"]
    assert (v / unit).tolist() == [1, 1, 1, 2, 4, 1024, 2**20, 1, 1]
    assert gradients.direction({"x": x.astype(np.float32)}, ("x",))["x"].tolist() == v.tolist()
    # the scale is read from x in float64: float32's own log2 of 2.828427 (just below 2^1.5)
    # rounds up to 1.5, which would make the scale 4, not the nearest power of two, 2
    one = gradients.direction({"x": np.zeros(1)}, ("x",))["x"]
    x32 = np.array([2.828427], dtype=np.float32)
    assert (gradients.direction({"x": x32}, ("x",))["x"] / one).tolist() == [2]


def test_finite_differences_do_not_push_a_small_element_across_its_kink() -> None:
    """Found by the shared corpus: with one step for all elements, sized for 805926, two
    of the 1.25s crossed zero and their kinks cancelled in both the central and the
    second differences: finite differences were 6% off and sure of it."""
    gp = gp_of("u.requires_grad_(True)\ny = torch.norm(u) - 0.25 * torch.abs(u).sum()\n"
               "y.backward()\nu.grad\n")
    u = np.array([1.25, 1.25, 1.25, 1.25, 805925.9699553524])
    v = gradients.direction({"u": u}, ("u",))
    fd = gradients._finite_difference(gp, {"u": u}, v)
    exact = float(np.sum((u / np.linalg.norm(u) - 0.25) * v["u"]))
    assert fd is not None and abs(fd[0] - exact) <= 2 * fd[1] + 1e-9 * abs(exact)


def test_the_direction_reaches_the_ends_of_its_grid() -> None:
    v = gradients.direction({"x": np.zeros(4000)}, ("x",))["x"]
    assert np.abs(v).max() == 1.0 and np.abs(v).min() == 2.0**-gradients.DIRECTION_BITS


# -- finite differences ---------------------------------------------------------------------

def test_finite_differences_estimate_a_smooth_derivative_closely() -> None:
    gp = gp_of(SQUARES)
    x = np.array([0.5, -2.0, 3.0])
    v = gradients.direction({"x": x}, ("x",))
    fd = gradients._finite_difference(gp, {"x": x}, v)
    assert fd is not None
    estimate, error = fd
    exact = float(np.sum(2 * x * v["x"]))
    assert abs(estimate - exact) <= 1e-12 * abs(exact) and 0 <= error <= 1e-8 * abs(exact)


def test_finite_differences_run_in_float64_and_pass_other_inputs_on() -> None:
    gp = gp_of("x.requires_grad_(True)\ny = (x * a).sum()\ny.backward()\nx.grad\n")
    x = np.array([1.0, 1e-3], dtype=np.float32)
    a = np.array([3.0, 1e4], dtype=np.float32)
    v = gradients.direction({"x": x}, ("x",))
    fd = gradients._finite_difference(gp, {"x": x, "a": a, "k": 1}, v)
    assert fd is not None
    assert fd[0] == pytest.approx(float(np.sum(a.astype(np.float64) * v["x"])), rel=1e-12, abs=0)


def test_finite_differences_scale_the_step_with_the_leaves() -> None:
    """At |x| ~ 1e6 a step near u64^(1/3) would vanish in x + t v; scaled, it does not."""
    gp = gp_of(SQUARES)
    x = np.array([1e6, -3e5])
    v = gradients.direction({"x": x}, ("x",))
    fd = gradients._finite_difference(gp, {"x": x}, v)
    assert fd is not None
    assert fd[0] == pytest.approx(float(np.sum(2 * x * v["x"])), rel=1e-9, abs=0)


@pytest.mark.parametrize(("source", "x"), [
    ("x.requires_grad_(True)\ny = torch.abs(x).sum()\ny.backward()\nx.grad\n", [1e-30, 2.0]),
    ("x.requires_grad_(True)\ny = torch.abs(x).sum()\ny.backward()\nx.grad\n", [0.0, 0.0]),
    ("x.requires_grad_(True)\ny = x.norm()\ny.backward()\nx.grad\n", [0.0, 0.0]),
], ids=["kink-near", "kink-at", "norm-at-zero"])
def test_finite_differences_are_inconclusive_where_f_bends(source: str, x: list[float]) -> None:
    gp = gp_of(source)
    variables = {"x": np.array(x)}
    assert gradients._finite_difference(gp, variables, gradients.direction(variables, ("x",))) is None


def test_finite_differences_are_inconclusive_where_f_is_not_finite_or_raises() -> None:
    overflow = gp_of("x.requires_grad_(True)\ny = torch.exp(x).sum()\ny.backward()\nx.grad\n")
    variables = {"x": np.array([800.0])}
    assert gradients._finite_difference(overflow, variables,
                                        gradients.direction(variables, ("x",))) is None
    raises = gp_of("x.requires_grad_(True)\ny = x.reshape(7).sum()\ny.backward()\nx.grad\n")
    variables = {"x": np.array([1.0, 2.0])}
    assert gradients._finite_difference(raises, variables,
                                        gradients.direction(variables, ("x",))) is None


def test_the_estimates_error_covers_rounding_in_f_under_cancellation() -> None:
    """F = ||X w - y||^2 with X w ~ 9 and y = 9: F's rounding is u64 times the
    intermediates (~9), not times F (~0.002), so the error of the estimate comes from
    the reference's bound on F, not from |F| (explore seed 17, calculus/chain_rule/
    squared_norm_of_a_residual: a right gradient 1.09e-11 from the estimate, allowed
    1.32e-12, on the reference, torch and jax-x64 alike)."""
    source = ("w.requires_grad_(True)\nr = torch.mv(X, w) - y\nz = (r * r).sum()\n"
              "z.backward()\nw.grad\n")
    variables = {"X": np.array([[1.5488022489783546, 8.0]]), "w": np.array([0.9375, 0.9375]),
                 "y": np.array([9.0])}
    ref = run_reference(source, variables)
    found = gradients.check(gp_of(source), ReferenceAdapter(), variables, ref, ref)
    assert found.mismatches == [] and dict(found.checked) == {"finite_differences": 1}
    # still tight enough to catch a gradient one part in a million off
    wrong = {**ref, "w.grad": dataclasses.replace(ref["w.grad"],
                                                  value=ref["w.grad"].value * (1 + 1e-6))}
    assert gradients.check(gp_of(source), ReferenceAdapter(), variables, wrong, ref).mismatches


# -- check: what is compared ----------------------------------------------------------------

def test_a_correct_gradient_passes_finite_differences() -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0], dtype=np.float32)}
    ref = run_reference(SQUARES, variables)
    found = gradients.check(gp_of(SQUARES), ReferenceAdapter(), variables, ref, ref)
    assert found.mismatches == [] and dict(found.checked) == {"finite_differences": 1}


def test_a_wrong_gradient_is_described_with_both_values_and_the_allowed_error() -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    wrong = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], value=ref["x.grad"].value * 1.01)}
    found = gradients.check(gp_of(SQUARES), ReferenceAdapter(), variables, wrong, ref)
    (m,) = found.mismatches
    exact = along(2 * variables["x"], variables)
    got = along(wrong["x.grad"].value, variables)
    assert (m.output, m.problem) == ("x.grad", "value")
    assert m.expected.startswith(f"{exact!r}"[:12])
    assert m.expected.endswith(" = dy along v by finite differences (float64, reference)")
    assert m.got == f"{got!r} = sum of <x.grad, v> over the leaves (x)"
    assert m.difference == f"|got - expected| = {abs(got - exact):.3g}"
    assert m.tolerance.endswith(" (the reference's bound on the gradient along v plus the "
                                "oracle's own error, see conformance/gradients.py)")
    allowed = float(m.tolerance.split(" ")[0])
    assert 0 < allowed < abs(got - exact) / 100


def test_the_allowed_error_grows_with_the_references_bounds() -> None:
    """The same wrong gradient passes once the reference's bound on it covers the error."""
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    wrong = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], value=ref["x.grad"].value + 1e-6)}
    gp = gp_of(SQUARES)
    assert gradients.check(gp, ReferenceAdapter(), variables, wrong, ref).mismatches
    loose = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], bounds=np.full(3, 1e-6))}
    assert gradients.check(gp, ReferenceAdapter(), variables, wrong, loose).mismatches == []
    tight = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], bounds=np.full(3, 1e-8))}
    assert gradients.check(gp, ReferenceAdapter(), variables, wrong, tight).mismatches


def test_every_leaf_counts_in_the_sum_along_v() -> None:
    source = "x.requires_grad_(True)\nw.requires_grad_(True)\ny = (x * w).sum()\ny.backward()\n" \
             "x.grad\nw.grad\n"
    variables = {"x": np.array([0.5, -2.0]), "w": np.array([3.0, 1.5])}
    ref = run_reference(source, variables)
    gp = gp_of(source)
    assert gradients.check(gp, ReferenceAdapter(), variables, ref, ref).mismatches == []
    wrong = {**ref, "w.grad": dataclasses.replace(ref["w.grad"], value=ref["w.grad"].value * 2)}
    (m,) = gradients.check(gp, ReferenceAdapter(), variables, wrong, ref).mismatches
    assert m.output == "x.grad" and "over the leaves (x, w)" in m.got


@pytest.mark.parametrize("change", ["missing", "error", "integer", "not-drawn"])
def test_nothing_is_checked_without_float_gradients_of_drawn_leaves(change: str) -> None:
    variables: dict[str, Any] = {"x": np.array([0.5, -2.0])}
    ref = run_reference(SQUARES, variables)
    got = dict(ref)
    if change == "missing":
        del got["x.grad"]
    elif change == "error":
        got["x.grad"] = Observed("error", error="RuntimeError: no grad")
    elif change == "integer":
        got["x.grad"] = dataclasses.replace(ref["x.grad"], value=np.array([1, -4]), dtype="int64")
    else:
        variables = {"x": [0.5, -2.0]}
    found = gradients.check(gp_of(SQUARES), JvpReference(0.0), variables, got, ref,
                            {"x": ReferenceAdapter().from_host(np.array([0.5, -2.0]))})
    assert found.mismatches == [] and not found.checked


# -- forward mode ---------------------------------------------------------------------------

def forward(tangent: float | None, x: list[float] | None = None,
            scale: float = 1.0) -> tuple[gradients.GradientOracles, JvpReference, float]:
    variables = {"x": np.array(x or [0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    got = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], value=ref["x.grad"].value * scale)}
    adapter = JvpReference(tangent)
    inputs = {"x": adapter.from_host(variables["x"])}
    found = gradients.check(gp_of(SQUARES), adapter, variables, got, ref, inputs)
    return found, adapter, along(got["x.grad"].value, variables)


def test_forward_mode_is_given_v_and_agrees_with_a_right_gradient() -> None:
    _, _, exact = forward(0.0)
    found, adapter, _ = forward(exact)
    assert dict(found.checked) == {"finite_differences": 1, "forward_mode": 1}
    assert found.mismatches == []
    (tangents,) = adapter.calls
    v = gradients.direction({"x": np.array([0.5, -2.0, 3.0])}, ("x",))["x"]
    # v scaled by a power of two into [-1, 1] (x = 3 gives an element of v beyond 1)
    given = adapter.to_host(tangents[0])
    scale = float(np.max(np.abs(v))) / float(np.max(np.abs(given)))
    assert scale > 1 and scale == 2.0 ** round(math.log2(scale))
    assert (given * scale).tolist() == v.tolist() and np.max(np.abs(given)) <= 1


def test_forward_mode_catches_a_disagreeing_backward() -> None:
    _, _, exact = forward(0.0)
    found, _, along_v = forward(exact, scale=1.0 + 1e-11)
    (m,) = found.mismatches  # 1e-11 relative: within finite differences' error, not jvp's
    assert m.sides == ("jvp-reference backward() gives", "forward mode (jvp) gives")
    assert m.expected.startswith(f"{along_v!r} = sum of <x.grad, v>")
    assert m.got == f"{exact!r} = dy along v by jvp-reference forward mode (jvp)"
    assert m.difference == f"|backward() - jvp| = {abs(along_v - exact):.3g}"
    assert dict(found.checked) == {"finite_differences": 1, "forward_mode": 1}


def test_forward_mode_allows_the_references_bound_and_the_rounding_of_the_sum() -> None:
    _, _, exact = forward(0.0)
    n, u = 3, 2.0**-53
    x = np.array([0.5, -2.0, 3.0])
    magnitude = float(np.sum(np.abs(2 * x * gradients.direction({"x": x}, ("x",))["x"])))
    slack = (n + 2) * u * magnitude
    inside, _, _ = forward(exact + 0.5 * slack)
    assert inside.mismatches == []
    outside, _, _ = forward(exact + 4 * slack + 1e-14)
    assert [m.sides[1] for m in outside.mismatches] == ["forward mode (jvp) gives"]


def test_forward_mode_equal_infinities_and_both_nan_agree() -> None:
    found, _, _ = forward(math.nan, x=[math.nan, 1.0, 2.0])
    assert found.checked["forward_mode"] == 1 and found.mismatches == []
    found, _, _ = forward(math.inf, x=[1.0, 2.0, 3.0], scale=math.inf)
    assert found.checked["forward_mode"] == 1
    assert [m for m in found.mismatches if "jvp" in m.sides[1]] == []


def test_forward_mode_is_inconclusive_where_a_nan_input_leaves_no_derivative() -> None:
    """At a NaN input the reference's gradient and bound are NaN: backward() NaN against a
    finite jvp is no disagreement (JAX on tensors/elementwise element_by_element/gradient:
    X = 0, Y = [1, nan, 1, 1]), and nothing was checked."""
    found, _, _ = forward(-8.32421875, x=[math.nan, 1.0, 2.0])
    assert found.mismatches == []
    assert found.checked["forward_mode"] == 0


def test_forward_mode_nan_against_a_number_disagrees() -> None:
    found, _, _ = forward(math.nan)
    assert found.checked["forward_mode"] == 1
    assert any(m.sides[1] == "forward mode (jvp) gives" for m in found.mismatches)


def test_forward_mode_that_cannot_trace_checks_nothing() -> None:
    found, adapter, _ = forward(None)
    assert adapter.calls and found.checked == {"finite_differences": 1} and found.mismatches == []


def test_forward_mode_needs_the_backends_inputs() -> None:
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(SQUARES, variables)
    adapter = JvpReference(123.0)
    found = gradients.check(gp_of(SQUARES), adapter, variables, ref, ref)
    assert adapter.calls == [] and "forward_mode" not in found.checked


def test_tangent_flush_is_zero_without_subnormal_risk_and_infinite_when_unknown() -> None:
    gp = gp_of(SQUARES)
    assert gradients._tangent_flush(gp, DOCUMENTED_POLICY, {"x": np.array([0.5, -2.0])}) > 0
    bad = gp_of("x.requires_grad_(True)\ny = x.reshape(7).sum()\ny.backward()\nx.grad\n")
    assert gradients._tangent_flush(bad, DOCUMENTED_POLICY, {"x": np.array([0.5, -2.0])}) == math.inf
    shape = gp_of("x.requires_grad_(True)\ny = x.shape\ny.backward()\nx.grad\n")
    assert gradients._tangent_flush(shape, DOCUMENTED_POLICY, {"x": np.array([0.5])}) == math.inf


def test_tangent_flush_scales_with_reads_and_adjoints() -> None:
    """y = (x * x).sum() over n elements: mul reads 2 inputs per output with adjoint 1 each
    (5 roundings), sum reads n per output with adjoint 1 (2n + 1): (5n + 2n + 1) floors."""
    floor = 2.0**-126
    for n in (1, 3):
        total = gradients._tangent_flush(gp_of(SQUARES), DOCUMENTED_POLICY,
                                         {"x": np.ones(n, dtype=np.float32)})
        assert total == pytest.approx((5 * n + 2 * n + 1) * floor, rel=1e-12, abs=0)


def test_opposite_infinite_gradients_make_the_oracles_inconclusive_not_an_error() -> None:
    """Gradients x.grad = inf and w.grad = -inf whose terms along v have opposite signs
    made math.fsum raise (inf + -inf): an error of the suite in every backend's cell of
    linear_algebra/scalars arithmetic/gradient (the ci profile's full run)."""
    source = "x.requires_grad_(True)\nw.requires_grad_(True)\ny = (x * w).sum()\ny.backward()\n" \
             "x.grad\nw.grad\n"
    variables = {"x": np.array([0.5]), "w": np.array([3.0])}
    ref = run_reference(source, variables)
    gp = gp_of(source)
    v = gradients.direction(variables, gp.leaves)
    got = {**ref,
           "x.grad": dataclasses.replace(ref["x.grad"], value=np.array([math.inf]) * np.sign(v["x"])),
           "w.grad": dataclasses.replace(ref["w.grad"], value=np.array([-math.inf]) * np.sign(v["w"]))}
    found = gradients.check(gp, ReferenceAdapter(), variables, got, ref)
    assert math.isnan(found.along["reference reverse mode (x.grad)"])
    assert found.checked["finite_differences"] == 0 and found.mismatches == []
    assert math.isfinite(found.along["reference tape"])  # the reference's own: finite


def test_forward_mode_is_inconclusive_where_the_references_backward_gives_nan() -> None:
    """Reverse mode multiplies a zero cotangent by an infinity (0 * inf = NaN) that forward
    mode never forms: with X = [0, 0], Y = [inf, 1], the gradient of (X * Y)[1] is
    [0 * inf, 1] = [nan, 1] in the reference, PyTorch and JAX alike, while jvp gives a
    number.  The modes legitimately differ where the reference's own backward is NaN
    (explore seed 5: tensors/elementwise element_by_element/gradient on every backend)."""
    source = "x.requires_grad_(True)\nz = (x * y)[1]\nz.backward()\nx.grad\n"
    variables = {"x": np.array([0.0, 0.0]), "y": np.array([math.inf, 1.0])}
    ref = run_reference(source, variables)
    assert math.isnan(ref["x.grad"].value[0])  # the reference's own backward: 0 * inf
    adapter = JvpReference(0.5)
    inputs = {k: adapter.from_host(v) for k, v in variables.items()}
    found = gradients.check(gp_of(source), adapter, variables, dict(ref), ref, inputs)
    assert found.mismatches == []
    assert found.checked["forward_mode"] == 0
    assert math.isnan(found.along["reference tape"])
    # where the reference's backward is a number, a NaN backward still disagrees with jvp
    finite = {"x": np.array([0.0, 0.0]), "y": np.array([2.0, 1.0])}
    ref = run_reference(source, finite)
    got = {**ref, "x.grad": dataclasses.replace(ref["x.grad"], value=np.array([math.nan, 1.0]))}
    found = gradients.check(gp_of(source), adapter, finite, got, ref,
                            {k: adapter.from_host(v) for k, v in finite.items()})
    assert found.checked["forward_mode"] == 1
    assert any(m.sides[1] == "forward mode (jvp) gives" for m in found.mismatches)


@pytest.mark.parametrize(("statement", "only_grads"), [
    ("x.grad", True), ("x.grad * 2 + w.grad.sum()", True), ("x.detach()", True),
    ("x.grad.zero_()", False), ("y.backward()", False), ("x.requires_grad_(True)", False),
    ("(x.grad.zero_(), x.grad)", False), ("g = x.grad", False), ("del g", False),
])
def test_after_backward_only_expressions_that_change_no_gradient_are_outputs(
        statement: str, only_grads: bool) -> None:
    """What may follow backward() in a program whose gradients the oracles check: an
    expression that reads gradients, never a statement that zeroes, accumulates or marks
    one, nor an assignment."""
    import ast

    from tensor_conformance.gradients import _shows_only_grads

    assert _shows_only_grads(ast.parse(statement).body[0]) is only_grads


def test_the_gradient_along_v_sums_its_leaves_exactly_and_keeps_ieee_special_values() -> None:
    from tensor_conformance.gradients import _along

    one = np.array([1.0])
    # per-leaf terms 1e16, 1, -1e16: exactly 1 (a plain float sum loses the 1)
    assert _along([(np.array([1e16]), one), (np.array([0.5]), 2 * one),
                   (np.array([-1e16]), one)]) == 1.0
    assert _along([(np.array([np.inf]), one), (np.array([1.0]), one)]) == np.inf
    assert math.isnan(_along([(np.array([np.inf]), one), (np.array([-np.inf]), one)]))


def test_the_bound_and_magnitude_along_v_weigh_each_leaf_by_abs_v() -> None:
    from tensor_conformance.gradients import GradientProgram, _bound, _magnitude
    from tensor_conformance.observed import Observed

    v = {"x": np.array([-0.5, 2.0]), "w": np.array([1.0])}
    grads = {"x": Observed("tensor", np.array([4.0, -1.0]), "float64", (2,)),
             "w": Observed("tensor", np.array([-3.0]), "float64", (1,)), "u": None}
    assert _magnitude(grads, v) == 2.0 + 2.0 + 3.0
    ref = {"x.grad": Observed("tensor", np.zeros(2), "float64", (2,), bounds=np.array([1.0, 0.25])),
           "u.grad": Observed("tensor", np.zeros(1), "float64", (1,)),  # no bound: adds nothing
           "w.grad": Observed("tensor", np.zeros(1), "float64", (1,), bounds=np.array([3.0])),
           "y.grad": Observed("tensor", np.zeros(1), "float64", (1,), bounds=np.array([9.0]))}
    gp = GradientProgram(prefix=None, leaves=("x", "u", "w"), output="y")  # type: ignore[arg-type]
    assert _bound(gp, ref, v) == 0.5 * 1.0 + 2.0 * 0.25 + 1.0 * 3.0  # y is no leaf: not counted


class FailsInsideJvp(JvpReference):
    """Its multiplication raises while its forward mode runs (as a compiled jvp raises on
    a value Python needs): the statement that raised ends the program's run."""

    inside = False

    def jvp(self, fn: Any, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        self.inside = True
        try:
            return super().jvp(fn, primals, tangents)
        finally:
            self.inside = False

    def mul(self, x: Any, y: Any) -> Any:
        if self.inside:
            raise ValueError("cannot multiply inside this jvp")
        return super().mul(x, y)


def test_forward_mode_whose_program_raised_before_its_output_is_not_checked() -> None:
    """The output is then not there at all: forward mode cannot be read, not 'None'."""
    source = "x.requires_grad_(True)\nz = x * x\ny = z.sum()\ny.backward()\nx.grad\n"
    variables = {"x": np.array([0.5, -2.0, 3.0])}
    ref = run_reference(source, variables)
    adapter = FailsInsideJvp(1.0)
    found = gradients.check(gp_of(source), adapter, variables, ref, ref,
                            {"x": adapter.from_host(variables["x"])})
    assert dict(found.checked) == {"finite_differences": 1}
    assert found.along["forward mode (jvp-reference jvp)"] is None
    assert found.mismatches == []
