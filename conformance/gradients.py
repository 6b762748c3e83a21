"""Two gradient oracles that do not trust any autograd, the reference's included.

For a case whose program builds ``y`` from leaves (``x.requires_grad_(True)``),
calls ``y.backward()`` once and shows ``x.grad``, the function differentiated is
the program up to that ``backward()``: ``F(leaves) = y``.  Along one direction
``v`` (fixed pseudo-random values in [-1, 1], each element scaled by the power of
two nearest ``max(1, |x_i|)``) the backend's gradients must give
``sum_x <x.grad, v_x>`` equal to

* **finite differences**: the central difference ``(F(x + h v) - F(x - h v)) / 2h``
  with F run by the reference in float64, at steps ``h`` and ``h / 2``, where
  ``h = 2^-18`` is the power of two nearest ``u64^(1/3)`` (the step that balances
  truncation and rounding error in float64; each element moves by ``h`` times its own
  scale, so a small element next to a kink is not pushed across it by a large one's
  step; with v on a dyadic grid, ``x + t v`` is exact).  Their difference, plus F's
  own rounding (the reference's bound on F: under cancellation that is u64 times the
  intermediates, not times |F|) over the step, estimates the error; where the
  difference is large (F is not smooth there: a branch or a loop count changes between x - h v and
  x + h v) the oracle is inconclusive for that example, never a failure;
* **forward mode**, on backends with ``jvp(fn, primals, tangents)`` (PyTorch:
  ``torch.func.jvp``, JAX: ``jax.jvp``): the backend's own derivative of F along v.

The allowed difference is the reference's error bound on each ``x.grad`` element
(the bound the backend's gradient already met) weighted by ``|v|``, plus the
oracle's own error.  A gradient that is off (scaled, overwritten, missing a part
of the chain) fails on the ``x.grad`` output, so a registered divergence of that
output (e.g. JAX's gradient of abs at 0) explains it here too.

Programs with ``detach``, ``zero_``, more than one ``backward()``, in-place writes
or randomness are not a function of their leaves alone; those cases are checked by
the reference only.
"""

from __future__ import annotations

import ast
import functools
import math
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tensor_conformance.adapters.protocol import Adapter, DtypePolicy
from tensor_conformance.adapters.reference import autograd, bounds
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.adapters.reference.tensor import Indeterminate, Tensor
from tensor_conformance.compare import Mismatch
from tensor_conformance.observed import Observed
from tensor_conformance.program import Interpreter, Program, Raised

U64 = 2.0**-53
#: float64 throughout: F's own rounding must be far below the differences measured
_FLOAT64 = DtypePolicy(default_int="int64", default_float="float64", max_bits=64,
                       int_float_promotion="float_operand")
#: the estimate's two steps may differ by this much (relative) before F counts as not
#: smooth at the point; a smooth F in float64 differs by ~1e-10
_SMOOTH = 1e-4
_NOT_A_FUNCTION_OF_LEAVES = {"detach", "zero_", "grad", "randn"}


@dataclass(frozen=True)
class GradientProgram:
    """``F``: the statements before ``y.backward()``, the leaves and y's name."""

    prefix: Program
    leaves: tuple[str, ...]
    output: str


@functools.lru_cache(maxsize=512)
def gradient_program(program: Program) -> GradientProgram | None:
    """The function a case differentiates, or None when it is not one (see above)."""
    if "in_place" in program.needs or "random" in program.needs:
        return None
    leaves: list[str] = []
    kept: list[str] = []
    output = None
    for stmt, text in program.statements:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        method = _method_call(call)
        if method is not None and method[1] == "requires_grad_":
            leaves.append(method[0])
            continue
        if method is not None and method[1] == "backward":
            if output is not None:
                return None  # a second backward accumulates: not F's gradient
            output = method[0]
            continue
        if output is None:
            if any(isinstance(n, ast.Attribute) and n.attr in _NOT_A_FUNCTION_OF_LEAVES
                   for n in ast.walk(stmt)):
                return None
            kept.append(text)
        elif not _shows_only_grads(stmt):
            return None
    if output is None or not leaves:
        return None
    prefix = Program.parse("\n".join([*kept, output]) + "\n")
    return GradientProgram(prefix, tuple(dict.fromkeys(leaves)), output)


def _method_call(node: ast.expr | None) -> tuple[str, str] | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)):
        return node.func.value.id, node.func.attr
    return None


def _shows_only_grads(stmt: ast.stmt) -> bool:
    """After backward(): only outputs such as ``x.grad`` (or expressions of them), nothing
    that changes a gradient (``zero_()``, another ``backward()``)."""
    return isinstance(stmt, ast.Expr) and not any(
        isinstance(n, ast.Attribute) and n.attr in {"zero_", "backward", "requires_grad_"}
        for n in ast.walk(stmt))


#: v's elements are multiples of 2**-DIRECTION_BITS times a power of two: with a
#: power-of-two step h, every x + t v of finite differences is then exact in float64 (no
#: rounding of the inputs, which would otherwise add u64 |x| / h to the estimate: |x| >>
#: |F| under cancellation)
DIRECTION_BITS = 8


def direction(variables: dict[str, Any], leaves: tuple[str, ...]) -> dict[str, np.ndarray]:
    """v: fixed pseudo-random nonzero values in [-1, 1], each a multiple of
    2**-DIRECTION_BITS, times each element's own scale: the power of two nearest
    max(1, |x_i|) (1 where x_i is not finite).

    Scaled so, a step t along v moves every element by about the same fraction of
    itself: a small element next to a large one is not pushed across a kink (|x| at
    0) by a step sized for the large one.  Found by the shared corpus's repeated
    structures: u = [1.25, 1.25, 1.25, 1.25, 805926] with one step for all crossed
    zero at two of the 1.25s, whose kinks cancelled in both the central and the
    second differences, and finite differences were confidently 6% off."""
    rng = np.random.default_rng(20261129)
    grid = 2**DIRECTION_BITS
    v = {}
    for name in leaves:
        x = np.abs(np.asarray(variables[name], dtype=np.float64))
        unit = (rng.integers(1, grid + 1, x.shape) * rng.choice([-1.0, 1.0], x.shape)) / grid
        size = np.maximum(1.0, np.where(np.isfinite(x), x, 1.0))
        v[name] = unit * 2.0 ** np.round(np.log2(size))
    return v


def _along(gradients: list[tuple[Any, np.ndarray]]) -> float:
    """The sum over leaves of <grad, v>: exactly rounded where every term is finite;
    an infinity or NaN, as float arithmetic gives it, where one is not (``math.fsum``
    raises on ``inf + -inf``)."""
    terms = [float(np.sum(np.asarray(g, dtype=np.float64) * v)) for g, v in gradients]
    return math.fsum(terms) if all(map(math.isfinite, terms)) else float(sum(terms))


@dataclass
class GradientOracles:
    """What the oracles found for one example; ``checked`` counts what was compared."""

    mismatches: list[Mismatch]
    checked: Counter[str]
    #: d(output) along v by each source, None where inconclusive (shown with a failure)
    along: dict[str, float | None] = field(default_factory=dict)


def check(gp: GradientProgram, adapter: Adapter, variables: dict[str, Any],
          got: dict[str, Observed], ref: dict[str, Observed],
          inputs: dict[str, Any] | None = None) -> GradientOracles:
    """Compare the backend's gradients (``got``) with both oracles.  ``inputs``: the
    backend's own input tensors, for forward mode."""
    result = GradientOracles([], Counter())
    grads = {leaf: got.get(f"{leaf}.grad") for leaf in gp.leaves}
    if any(g is None or g.kind != "tensor" or not _is_float(g) for g in grads.values()):
        return result
    if any(not isinstance(variables.get(leaf), np.ndarray) for leaf in gp.leaves):
        return result
    v = direction(variables, gp.leaves)
    if not any(np.size(v[leaf]) for leaf in gp.leaves):
        return result  # no element to differentiate by (forward mode may still say NaN)
    along = _along([(g.value, v[leaf]) for leaf, g in grads.items() if g is not None])
    bound = _bound(gp, ref, v)
    result.along[f"{adapter.name} reverse mode (x.grad)"] = along
    ref_grads = [ref.get(f"{leaf}.grad") for leaf in gp.leaves]
    if all(r is not None and r.kind == "tensor" for r in ref_grads):
        result.along["reference tape"] = _along(
            [(r.value, v[leaf]) for leaf, r in zip(gp.leaves, ref_grads, strict=True)])  # type: ignore[union-attr]
    if math.isinf(bound):  # the reference leaves some gradient element unchecked (a kink)
        return result

    # an infinite or NaN gradient has no derivative along v to estimate: finite
    # differences are inconclusive (the reference tape compares it element by element)
    fd = _finite_difference(gp, variables, v) if math.isfinite(along) else None
    result.along["finite differences (float64)"] = None if fd is None else fd[0]
    if fd is not None:
        estimate, error = fd
        allowed = bound + 2 * error + 4 * U64 * abs(along)
        result.checked["finite_differences"] += 1
        if not abs(along - estimate) <= allowed:
            result.mismatches.append(_mismatch(gp, "finite differences (float64, reference)",
                                               estimate, along, allowed))

    jvp = getattr(adapter, "jvp", None)
    if jvp is not None and inputs is not None:
        scale = _tangent_scale(v)
        tangent = _forward_mode(gp, adapter, jvp, inputs, v, scale)
        result.along[f"forward mode ({adapter.name} jvp)"] = tangent
        if tangent is not None:
            dtype = next(iter(grads.values())).dtype  # type: ignore[union-attr]
            u = np.finfo(np.dtype(dtype)).eps / 2
            n = sum(int(np.size(v[leaf])) for leaf in gp.leaves)
            flush = scale * _tangent_flush(gp, adapter.policy, variables)
            allowed = 2 * bound + (n + 2) * u * _magnitude(grads, v) + flush + 1e-300
            # the backend's two modes give one answer: equal (an infinity included) or
            # both NaN, whatever the allowed error
            same = along == tangent or (math.isnan(along) and math.isnan(tangent))
            # where the reference's own backward gives NaN the modes may differ, so the
            # check is inconclusive unless they agree: a NaN bound (a NaN among the
            # inputs, no derivative: XLA's backward NaN against a jvp number, found by
            # elementwise/element_by_element/gradient), or a NaN along v from the
            # reference tape (reverse mode multiplies a zero cotangent by an infinity,
            # 0 * inf, that forward mode never forms: X * Y with Y = [inf, 1], found by
            # explore seed 5 on the same case)
            undefined = math.isnan(bound) or math.isnan(result.along.get("reference tape", 0.0) or 0.0)
            if math.isfinite(flush) and (same or not undefined):
                result.checked["forward_mode"] += 1
                if not same and not abs(along - tangent) <= allowed:
                    m = _mismatch(gp, f"{adapter.name} forward mode (jvp)", tangent, along,
                                  allowed)
                    # neither side is the reference: the backend's two modes disagree
                    m.sides = (f"{adapter.name} backward() gives", "forward mode (jvp) gives")
                    m.expected, m.got = m.got, m.expected
                    m.difference = f"|backward() - jvp| = {abs(along - tangent):.3g}"
                    result.mismatches.append(m)
    return result


def _tangent_flush(gp: GradientProgram, policy: DtypePolicy, variables: dict[str, Any]) -> float:
    """What flushing subnormal intermediates of the tangent computation to zero may add to
    a forward-mode derivative: ``bounds.tangent_flush`` for every operation of F, each
    scaled by the reference's adjoint of its result (computed in the backend's dtypes)."""
    ref = ReferenceAdapter(policy)
    inputs = {k: ref.from_host(x) if isinstance(x, np.ndarray) else x for k, x in variables.items()}
    for leaf in gp.leaves:
        inputs[leaf] = ref.requires_grad_(inputs[leaf])
    total = 0.0

    def add(t: Tensor, g: Tensor) -> None:
        nonlocal total
        if t.is_float and t.grad_fn is not None:
            reads = sum(i.numel for i in t.grad_fn.inputs if isinstance(i, Tensor))
            mass = math.fsum(abs(float(a)) for a in g.values)
            total += bounds.tangent_flush(reads, t.numel, mass, t.dtype)

    try:
        out = Interpreter(ref, inputs).run(gp.prefix).get(gp.output)
        if not isinstance(out, Tensor):
            return math.inf
        autograd.backward(out, policy, add)
    except (Indeterminate, ArithmeticError, ValueError, RuntimeError, TypeError):
        return math.inf  # the reference could not say: nothing is claimed here
    return total


def _is_float(obs: Observed) -> bool:
    return obs.dtype is not None and obs.dtype.startswith("float")


def _bound(gp: GradientProgram, ref: dict[str, Observed], v: dict[str, np.ndarray]) -> float:
    total = 0.0
    for leaf in gp.leaves:
        r = ref.get(f"{leaf}.grad")
        if r is not None and r.bounds is not None:
            total += float(np.sum(np.abs(v[leaf]) * np.asarray(r.bounds, dtype=np.float64)))
    return total


def _magnitude(grads: dict[str, Observed | None], v: dict[str, np.ndarray]) -> float:
    return math.fsum(float(np.sum(np.abs(np.asarray(g.value, dtype=np.float64) * v[leaf])))
                     for leaf, g in grads.items() if g is not None)


def _mismatch(gp: GradientProgram, oracle: str, expected: float, got: float,
              allowed: float) -> Mismatch:
    name = f"{gp.leaves[0]}.grad"
    return Mismatch(name, "value", f"{expected!r} = d{gp.output} along v by {oracle}",
                    f"{got!r} = sum of <x.grad, v> over the leaves "
                    f"({', '.join(gp.leaves)})",
                    difference=f"|got - expected| = {abs(got - expected):.3g}",
                    tolerance=f"{allowed:.3g} (the reference's bound on the gradient along v "
                              "plus the oracle's own error, see conformance/gradients.py)")


#: finite differences already computed, by program and inputs: the cells of one case
#: replay the same examples on every backend (corpus.py), and F, v and the reference
#: that evaluates it do not depend on the backend
_ESTIMATES: OrderedDict[Hashable, tuple[float, float] | None] = OrderedDict()
_ESTIMATES_KEPT = 256


def _finite_difference(gp: GradientProgram, variables: dict[str, Any],
                       v: dict[str, np.ndarray]) -> tuple[float, float] | None:
    """(estimate, error) of dF along v, or None where F is not smooth or not computable."""
    try:
        key = (gp, tuple(sorted((k, _hashable(x)) for k, x in variables.items())))
        hash(key)
    except TypeError:
        return _estimate(gp, variables, v)
    if key not in _ESTIMATES:
        _ESTIMATES[key] = _estimate(gp, variables, v)
        while len(_ESTIMATES) > _ESTIMATES_KEPT:
            _ESTIMATES.popitem(last=False)
    return _ESTIMATES[key]


def _hashable(value: Any) -> Hashable:
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    return value


def _estimate(gp: GradientProgram, variables: dict[str, Any],
              v: dict[str, np.ndarray]) -> tuple[float, float] | None:
    base = {k: (x.astype(np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x)
            for k, x in variables.items()}
    if not all(np.all(np.isfinite(base[leaf])) for leaf in gp.leaves):
        return None  # no derivative at an infinite or NaN point: inconclusive
    # a power of two near u64^(1/3): t v is then exact, and so is x + t v (v is scaled to
    # each element, ``direction``: the step moves x_i by about h |x_i|)
    h = 2.0 ** round(math.log2(U64 ** (1 / 3)))
    try:
        f = {t: _F(gp, base, v, t) for t in (h, h / 2, 0.0, -h / 2, -h)}
    except (Indeterminate, ArithmeticError, ValueError):
        return None
    if any(y is None or not (math.isfinite(y[0]) and math.isfinite(y[1])) for y in f.values()):
        return None  # F not finite, or its value not bounded (a division by a near-zero)
    y = {t: value for t, (value, _) in f.items()}  # type: ignore[misc]
    size = max(abs(t) for t in y.values())
    # how far each computed F may be from the exact one: the reference's bound on it (its
    # roundings propagated through the program: under cancellation, r = X w - y near 0,
    # that is u64 times the intermediates, not times |F|), and never below 4 u64 |F|
    off = max(4 * U64 * size, *(bound for _, bound in f.values()))  # type: ignore[misc]
    d_h = (y[h] - y[-h]) / (2 * h)
    d_half = (y[h / 2] - y[-h / 2]) / h
    rounding = 2 * off / h  # d_half's error from F's own: two values off, over h
    if abs(d_h - d_half) > _SMOOTH * (abs(d_half) + size) + 2 * rounding:
        return None
    # second differences: a smooth F has the same curvature at both steps; a kink inside
    # the step (|x| with x near 0) gives a curvature that doubles when the step halves,
    # though the central differences may agree (both 0)
    bend_h = (y[h] - 2 * y[0.0] + y[-h]) / h**2
    bend_half = (y[h / 2] - 2 * y[0.0] + y[-h / 2]) / (h / 2) ** 2
    if abs(bend_h - bend_half) > 0.2 * (abs(bend_h) + abs(bend_half)) + 4 * off / (h / 2) ** 2:
        return None
    return d_half, abs(d_h - d_half) + rounding


def _F(gp: GradientProgram, base: dict[str, Any], v: dict[str, np.ndarray],
       t: float) -> tuple[float, float] | None:
    """F at x + t v, by the reference in float64, and the reference's bound on it."""
    ref = ReferenceAdapter(_FLOAT64)
    inputs = {k: ref.from_host(x) if isinstance(x, np.ndarray) else x for k, x in base.items()}
    for leaf in gp.leaves:
        inputs[leaf] = ref.from_host(base[leaf] + t * v[leaf])
    out = Interpreter(ref, inputs).run(gp.prefix).get(gp.output)
    if not isinstance(out, Tensor) or out.numel != 1:
        return None
    return float(np.asarray(ref.to_host(out)).reshape(())), out.bound(0)


def _tangent_scale(v: dict[str, np.ndarray]) -> float:
    """The power of two that brings every element of v within [-1, 1] (1 where they are).

    Forward mode is linear in the tangent, so the oracle hands the backend's jvp v / scale
    and multiplies its answer by scale: exact (powers of two), and the same derivative
    along v.  v itself is scaled to each element (``direction``), and its tangent
    intermediates would overflow where the derivative does not: e^704 times a tangent of
    512 is past float64's range, and (e^X * 1 + e^X * -1)'s jvp was inf - inf = nan on
    torch, jax and jax-x64 alike while the gradient, 0, was right (explore seed 5,
    tensors/exp/float64/gradient)."""
    largest = max((float(np.max(np.abs(x))) for x in v.values() if np.size(x)), default=0.0)
    return 1.0 if largest <= 1.0 else 2.0 ** math.ceil(math.log2(largest))


def _forward_mode(gp: GradientProgram, adapter: Adapter, jvp: Any, inputs: dict[str, Any],
                  v: dict[str, np.ndarray], scale: float) -> float | None:
    """d(output) along v by the backend's jvp, given the tangent v / ``scale``."""
    def F(*leaves: Any) -> Any:
        env = {**inputs, **dict(zip(gp.leaves, leaves, strict=True))}
        outputs = Interpreter(adapter, env).run(gp.prefix)
        # a statement that raised ends the run: the output is then not there at all
        for value in outputs.values():
            if isinstance(value, Raised):
                raise value.error
        return outputs[gp.output]

    primals = tuple(inputs[leaf] for leaf in gp.leaves)
    tangents = tuple(adapter.from_host((v[leaf] / scale).astype(
        np.asarray(adapter.to_host(inputs[leaf])).dtype)) for leaf in gp.leaves)
    try:
        _, tangent = jvp(F, primals, tangents)
        return scale * float(np.asarray(adapter.to_host(tangent), dtype=np.float64).reshape(()))
    except Exception:  # F may do what the library's jvp cannot trace: not checked
        return None
