"""The documented operations, computed exactly (or correctly rounded) with bounds.

Each function is the executable statement of one behaviour of the notes.  Float
results are the exact value rounded once to the result dtype; the bound next to
each value comes from ``bounds.py``.  Integer results are exact; one that does not
fit its dtype raises ``Indeterminate`` (the notes say nothing about wrap-around).
"""

from __future__ import annotations

import decimal
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tensor_conformance.adapters.protocol import DtypePolicy
from tensor_conformance.adapters.reference import bounds as B
from tensor_conformance.adapters.reference.dtypes import (
    LARGEST,
    IntegerOverflow,
    default_for,
    narrowed,
    promote,
    promote_scalar,
    round_values,
)
from tensor_conformance.adapters.reference.dtypes import dtype as dtype_info
from tensor_conformance.adapters.reference.tensor import (
    Indeterminate,
    ShapeError,
    Tensor,
    broadcast_index,
    broadcast_shapes,
    flatten,
    indices,
    normalize_axis,
    strides,
)

Scalar = bool | int | float


# -- construction ---------------------------------------------------------------
def make(shape: tuple[int, ...], dtype: str, values: Sequence[Any], bounds: list[float] | None = None,
         unsure: list[bool] | None = None) -> Tensor:
    try:
        rounded = round_values(dtype, values)
    except IntegerOverflow as exc:
        raise Indeterminate(str(exc)) from exc
    if bounds is not None and not any(bounds):
        bounds = None
    if unsure is not None and not any(unsure):
        unsure = None
    return Tensor(tuple(shape), dtype, rounded, bounds, unsure)


def tensor(data: Any, dtype: str | None, policy: DtypePolicy) -> Tensor:
    shape, values = flatten(data)
    if dtype is None:
        kinds = {type(v) for v in values}
        if float in kinds:
            dtype = policy.default_float
        elif int in kinds:
            dtype = policy.default_int
        elif values:
            dtype = "bool"
        else:
            dtype = policy.default_float  # torch.tensor([]) is float
    return make(shape, narrowed(dtype, policy), values)


def arange(end: int | float, dtype: str | None, policy: DtypePolicy) -> Tensor:
    if dtype is None:
        dtype = default_for(end, policy)
    n = max(0, math.ceil(end))
    return make((n,), narrowed(dtype, policy), list(range(n)))


def full(shape: tuple[int, ...], value: Scalar, dtype: str | None, policy: DtypePolicy) -> Tensor:
    dtype = narrowed(dtype or policy.default_float, policy)
    if any(n < 0 for n in shape):
        raise ShapeError(f"negative dimension in shape {shape}")
    return make(shape, dtype, [value] * math.prod(shape))


def randn(shape: tuple[int, ...], seed: int, policy: DtypePolicy) -> Tensor:
    rng = random.Random(seed)
    values = [rng.gauss(0.0, 1.0) for _ in range(math.prod(shape))]
    return make(shape, policy.default_float, values)


# -- shape ----------------------------------------------------------------------
def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    shape = [int(s) for s in shape]
    if shape.count(-1) > 1:
        raise ShapeError("only one dimension can be inferred (-1)")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or x.numel % known:
            raise ShapeError(f"cannot infer -1 reshaping {x.numel} elements into {tuple(shape)}")
        shape[shape.index(-1)] = x.numel // known
    elif known != x.numel or any(s < 0 for s in shape):
        raise ShapeError(f"cannot reshape {x.numel} elements into {tuple(shape)}")
    return Tensor(tuple(shape), x.dtype, list(x.values), x.bounds, x.unsure)


def transpose(x: Tensor) -> Tensor:
    """x.T reverses the axes: b[j, i] = a[i, j]."""
    new_shape = tuple(reversed(x.shape))
    src = strides(x.shape)
    order = [
        sum(i * s for i, s in zip(reversed(idx), src, strict=True)) for idx in indices(new_shape)
    ]
    return _gather(x, new_shape, order)


def _gather(x: Tensor, shape: tuple[int, ...], order: list[int]) -> Tensor:
    return Tensor(
        shape,
        x.dtype,
        [x.values[i] for i in order],
        None if x.bounds is None else [x.bounds[i] for i in order],
        None if x.unsure is None else [x.unsure[i] for i in order],
    )


def cat(tensors: Sequence[Tensor], axis: int, policy: DtypePolicy) -> Tensor:
    if not tensors:
        raise ShapeError("cat needs at least one tensor")
    ndim = len(tensors[0].shape)
    if ndim == 0:
        raise ShapeError("zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(axis, ndim)
    for t in tensors[1:]:
        if len(t.shape) != ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape, strict=True)) if i != axis
        ):
            raise ShapeError(
                f"cat along axis {axis}: shapes {tensors[0].shape} and {t.shape} differ off that axis"
            )
    result_dtype = tensors[0].dtype
    for t in tensors[1:]:
        result_dtype = promote(result_dtype, t.dtype, policy)
    outer = math.prod(tensors[0].shape[:axis])
    values: list[Any] = []
    bnds: list[float] = []
    for o in range(outer):
        for t in tensors:
            block = math.prod(t.shape[axis:])
            values.extend(t.values[o * block : (o + 1) * block])
            bnds.extend(t.bounds[o * block : (o + 1) * block] if t.bounds else [0.0] * block)
    shape = list(tensors[0].shape)
    shape[axis] = sum(t.shape[axis] for t in tensors)
    return make(tuple(shape), result_dtype, values, bnds)


# -- elementwise ------------------------------------------------------------------
def _operand(x: Tensor | Scalar) -> Tensor | None:
    return x if isinstance(x, Tensor) else None


def _result_dtype(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> str:
    ta, tb = _operand(a), _operand(b)
    if ta is not None and tb is not None:
        return promote(ta.dtype, tb.dtype, policy)
    if ta is not None:
        return promote_scalar(ta.dtype, b, policy)
    assert tb is not None
    return promote_scalar(tb.dtype, a, policy)


def _expand(x: Tensor | Scalar, shape: tuple[int, ...]) -> tuple[list[Any], list[float]]:
    """Values and bounds of ``x`` broadcast to ``shape``."""
    n = math.prod(shape)
    if not isinstance(x, Tensor):
        return [x] * n, [0.0] * n
    if x.shape == shape:  # nothing to broadcast (the common case)
        return list(x.values), list(x.bounds) if x.bounds is not None else [0.0] * n
    order = broadcast_index(x.shape, shape)
    vals = [x.values[i] for i in order]
    bnds = [x.bound(i) for i in order]
    return vals, bnds


# A float kernel returns (value, propagated bound) for inputs (a, ea, b, eb).
FloatKernel = Callable[[float, float, float, float], tuple[float, float]]


def _k_add(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    return a + b, ea + eb


def _k_sub(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    return a - b, ea + eb


def _times(c: float, e: float) -> float:
    """A coefficient times a bound, where either being zero gives 0 (inf * 0 is nan): an
    exact operand adds no error, and nor does an error multiplied by an exact zero."""
    return 0.0 if c == 0 or e == 0 else c * e


def _k_mul(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    return a * b, _times(abs(b), ea) + _times(abs(a), eb) + _times(ea, eb)


def _k_div(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    if b == 0:
        if a != 0 and not math.isnan(a) and abs(a) <= ea:
            # the numerator may be 0 at this precision (a subnormal that a backend flushes
            # to zero): nan or an infinity, so nothing is fixed
            raise Indeterminate(f"{a!r} / {b!r}: 0 / 0 is within rounding error")
        if eb:
            # the sign of a rounded zero decides: unknowable (a non-zero numerator gives
            # an infinity or a huge value of either sign, never nan)
            return (math.inf if a != 0 and not math.isnan(a) else math.nan), math.inf
        if a == 0 or math.isnan(a):
            return math.nan, 0.0
        return math.copysign(math.inf, a) * math.copysign(1.0, b), 0.0
    v = a / b
    if eb >= abs(b):
        if abs(a) <= ea:
            # numerator and divisor may both be 0 at this precision (e.g. subnormal inputs
            # that a backend flushes to zero): nan or any value, so nothing is fixed
            raise Indeterminate(f"{a!r} / {b!r}: 0 / 0 is within rounding error")
        return v, math.inf
    return v, (ea + _times(abs(v), eb)) / (abs(b) - eb)


def _k_pow(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    try:
        v = math.pow(a, b)
    except ZeroDivisionError:  # 0 ** negative
        v = math.copysign(math.inf, a) if b == int(b) and int(b) % 2 else math.inf
        return v, 0.0 if not ea else math.inf
    except ValueError:  # negative base, non-integer exponent; or math.pow(0.0, negative)
        if a == 0 and b < 0:  # IEEE 754 pow(+-0, y < 0): +-inf for odd integer y, else +inf
            v = math.copysign(math.inf, a) if float(b).is_integer() and int(b) % 2 else math.inf
            return v, 0.0 if not ea else math.inf
        return math.nan, 0.0 if not (ea or eb) else math.inf
    except OverflowError:
        v = math.inf if a > 0 or (b == int(b) and int(b) % 2 == 0) else -math.inf
    if not (ea or eb):
        return v, 0.0
    if a == 0:
        # |(0 + d)^b - 0| <= |d|^b for b > 0; unbounded near 0 for b < 0
        return v, (ea**b if b > 0 else math.inf) if ea else 0.0
    prop = _times(abs(b * v / a), ea) + _times(abs(v * math.log(abs(a))), eb)
    return v, 1.01 * prop


def _binary(op: str, kernel: FloatKernel, a: Tensor | Scalar, b: Tensor | Scalar,
            policy: DtypePolicy, int_exact: Callable[[int, int], Any] | None) -> Tensor:
    result_dtype = _result_dtype(a, b, policy)
    shape = broadcast_shapes(
        a.shape if isinstance(a, Tensor) else (), b.shape if isinstance(b, Tensor) else ()
    )
    av, ae = _expand(a, shape)
    bv, be = _expand(b, shape)
    kind = dtype_info(result_dtype).kind
    if kind != "float":
        if int_exact is None:
            raise TypeError(f"{op} is not defined for {result_dtype} tensors")
        return make(shape, result_dtype, [int_exact(x, y) for x, y in zip(av, bv, strict=True)])
    values, bnds = [], []
    for x, ex, y, ey in zip(av, ae, bv, be, strict=True):
        v, prop = kernel(float(x), ex, float(y), ey)
        values.append(v)
        bnds.append(B.elementwise(op, v, prop, result_dtype))
    out = make(shape, result_dtype, values, bnds)
    _check_overflow(out, values)
    return out


def _check_overflow(out: Tensor, exact: list[float]) -> None:
    """A finite exact result that rounds to inf is overflow: certain only when the
    bound cannot bring it back below the largest finite value."""
    top = LARGEST[out.dtype]
    for v, x, e in zip(out.values, exact, out.bounds or [0.0] * out.numel, strict=True):
        if math.isinf(v) and math.isfinite(x) and abs(x) - e <= top * (1 + B.unit(out.dtype)):
            raise Indeterminate(f"{x!r} is at the edge of {out.dtype}'s range")


def _int_pow(x: int, y: int) -> int:
    if y < 0:
        raise ValueError("integers to negative integer powers are not documented")
    return x**y


def add(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    return _binary("add", _k_add, a, b, policy, lambda x, y: x + y)


def sub(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    return _binary("sub", _k_sub, a, b, policy, lambda x, y: x - y)


def mul(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    return _binary("mul", _k_mul, a, b, policy, lambda x, y: x * y)


def pow_(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    return _binary("pow", _k_pow, a, b, policy, _int_pow)


def div(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    """True division: integer operands give the default float dtype (1 / 2 = 0.5)."""
    result_dtype = _result_dtype(a, b, policy)
    if dtype_info(result_dtype).is_float:
        return _binary("div", _k_div, a, b, policy, None)
    shape = broadcast_shapes(
        a.shape if isinstance(a, Tensor) else (), b.shape if isinstance(b, Tensor) else ()
    )
    av, _ = _expand(a, shape)
    bv, _ = _expand(b, shape)
    float_dtype = policy.default_float
    values, bnds = [], []
    for x, y in zip(av, bv, strict=True):
        if y == 0:
            v = math.nan if x == 0 else math.copysign(math.inf, x)
        else:
            v = float(Fraction(int(x), int(y)))
        values.append(v)
        bnds.append(B.elementwise("int_div", v, 0.0, float_dtype))
    return make(shape, float_dtype, values, bnds)


def _compare(a: Tensor | Scalar, b: Tensor | Scalar, test: Callable[[Any, Any], bool],
             policy: DtypePolicy | None = None) -> Tensor:
    """Comparisons promote like arithmetic: both operands are converted to the common
    dtype first, so a Python float compared with a float32 tensor is rounded to float32
    (``torch.tensor([0.1]) == 0.1`` is True)."""
    shape = broadcast_shapes(
        a.shape if isinstance(a, Tensor) else (), b.shape if isinstance(b, Tensor) else ()
    )
    av, ae = _expand(a, shape)
    bv, be = _expand(b, shape)
    if policy is not None and dtype_info(common := _result_dtype(a, b, policy)).is_float:
        av, bv = round_values(common, av), round_values(common, bv)
    values, unsure = [], []
    for x, ex, y, ey in zip(av, ae, bv, be, strict=True):
        values.append(test(x, y))
        # rounding could move x and y by ex, ey: if that could flip the answer, it is unsure
        unsure.append(bool(ex + ey) and not math.isnan(x - y) and abs(x - y) <= ex + ey)
    return make(shape, "bool", values, None, unsure)


def eq(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy | None = None) -> Tensor:
    return _compare(a, b, lambda x, y: x == y, policy)


def lt(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy | None = None) -> Tensor:
    return _compare(a, b, lambda x, y: x < y, policy)


def gt(a: Tensor | Scalar, b: Tensor | Scalar, policy: DtypePolicy | None = None) -> Tensor:
    return _compare(a, b, lambda x, y: x > y, policy)


def neg(x: Tensor) -> Tensor:
    if x.dtype == "bool":
        raise TypeError("negation of a bool tensor is not defined")
    return make(x.shape, x.dtype, [-v for v in x.values], x.bounds)


def abs_(x: Tensor) -> Tensor:
    if x.dtype == "bool":
        return make(x.shape, x.dtype, x.values)
    return make(x.shape, x.dtype, [abs(v) for v in x.values], x.bounds)


def exp(x: Tensor, policy: DtypePolicy) -> Tensor:
    """e^x elementwise; integer inputs give the default float dtype."""
    result_dtype = x.dtype if x.is_float else policy.default_float
    values, bnds, exact = [], [], []
    for i, a in enumerate(x.values):
        try:
            v = math.exp(a)
        except OverflowError:
            v = math.inf
        exact.append(v if math.isfinite(v) or not math.isfinite(a) else math.inf)
        e = x.bound(i)
        prop = v * math.expm1(e) if e and math.isfinite(v) else 0.0
        values.append(v)
        bnds.append(B.elementwise("exp", v, prop, result_dtype))
    out = make(x.shape, result_dtype, values, bnds)
    _check_overflow(out, values)
    return out


# -- reductions -------------------------------------------------------------------
def _reduced_groups(x: Tensor, axis: int | None) -> tuple[tuple[int, ...], list[list[int]], int]:
    """Output shape (without keepdims), and for each output element the input flat
    indices it reduces over, plus the reduced axis (-1 for all)."""
    if axis is None or (x.shape == () and axis in (0, -1)):
        return (), [list(range(x.numel))], -1
    ax = normalize_axis(axis, len(x.shape))
    st = strides(x.shape)
    out_shape = x.shape[:ax] + x.shape[ax + 1 :]
    groups = []
    for idx in indices(out_shape):
        base = sum(i * s for i, s in zip((*idx[:ax], 0, *idx[ax:]), st, strict=True))
        groups.append([base + k * st[ax] for k in range(x.shape[ax])])
    return out_shape, groups, ax


def _keep(shape: tuple[int, ...], x: Tensor, ax: int, keepdims: bool) -> tuple[int, ...]:
    if not keepdims:
        return shape
    if ax == -1:
        return tuple(1 for _ in x.shape)
    return (*x.shape[:ax], 1, *x.shape[ax:][1:])


def _accumulator(x: Tensor, policy: DtypePolicy) -> str:
    """The dtype sum/cumsum of a bool or integer tensor accumulate in: the policy's
    ``int_accumulator`` (the default int, or the wider of it and the input's dtype)."""
    if x.is_float:
        return x.dtype
    if policy.int_accumulator == "default":
        return policy.default_int
    if policy.int_accumulator == "at_least_default":
        return narrowed(promote(x.dtype, policy.default_int, policy), policy)
    raise ValueError(f"unknown int_accumulator {policy.int_accumulator!r} in the dtype policy; "
                     "expected 'at_least_default' or 'default'")


def _rounded(q: Fraction) -> float:
    """An exact rational rounded to float64, +-inf beyond its range (IEEE overflow)."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def _exact_sum(values: Sequence[Any]) -> float:
    if any(not math.isfinite(v) for v in values):
        return sum(values)  # IEEE: inf + -inf = nan, inf + x = inf
    try:
        return math.fsum(values)
    except OverflowError:  # a partial sum passed float64's range; the exact sum may not
        return _rounded(sum((Fraction(v) for v in values), Fraction(0)))


def _magnitude(values: Iterable[float]) -> float:
    """sum |t| of finite values, inf where it passes float64's range."""
    try:
        return math.fsum(abs(t) for t in values)
    except OverflowError:
        return math.inf


def _overflows(terms: Sequence[float], total: float, propagated: float, dtype: str,
               exact: Sequence[Fraction] | None = None) -> bool:
    """Whether a sum of the finite ``terms`` (exact sum ``total``) overflows ``dtype``
    however a backend orders it.

    Every partial sum, in any order, lies between the sum of the negative terms and
    the sum of the positive ones (widened by the rounding of n additions and the
    inputs' bounds).  False when both stay within the largest finite value; True when
    the exact sum is beyond it by more than the rounding and only one side can reach
    it (so no order forms inf + -inf = nan); Indeterminate in between: partial sums
    that pass the range in one order and not in another (a running sum of [M, M, -M]
    gives inf, the exact sum is M), or a sum at the edge of the range.  Overflow is
    not documented, so neither is judged.  An infinite ``propagated`` bound leaves
    the value unchecked: there is nothing to decide.  ``exact``: the terms' exact
    values where a float term may itself have overflowed (a product of finite
    inputs beyond float64's range)."""
    if not math.isfinite(propagated):
        return False
    top = LARGEST[dtype]
    slack = B.gamma(len(terms), dtype)
    above = _magnitude(t for t in terms if t > 0)
    below = _magnitude(t for t in terms if t < 0)
    reaches_inf = above * (1 + slack) + propagated > top
    reaches_minus_inf = below * (1 + slack) + propagated > top
    if not (reaches_inf or reaches_minus_inf):
        return False
    # exact arithmetic from here: the sums themselves may be beyond float64's range
    qs = [Fraction(t) for t in terms] if exact is None else exact
    above_q = sum((q for q in qs if q > 0), Fraction(0))
    below_q = sum((-q for q in qs if q < 0), Fraction(0))
    margin = Fraction(slack) * (above_q + below_q) + Fraction(propagated)
    beyond = abs(above_q - below_q) - margin > Fraction(top) * (1 + Fraction(B.unit(dtype)))
    other_side = reaches_minus_inf if above_q > below_q else reaches_inf
    if beyond and not other_side:
        return True
    raise Indeterminate(f"a sum of {len(terms)} terms whose partial sums may pass {dtype}'s "
                        f"largest finite value in one order and not in another (exact sum "
                        f"{total!r})")


def _summed(vals: Sequence[Any], propagated: float, dtype: str) -> tuple[float, float]:
    """The correctly rounded sum of float ``vals`` and its bound: the sum of
    magnitudes and the inputs' bounds (``propagated``) give the rounding error of any
    order; a sum that overflows in every order is an exact infinity."""
    v = _exact_sum(vals)
    finite = [t for t in vals if math.isfinite(t)]
    if len(finite) < len(vals):
        if any(math.isnan(t) for t in vals) or not _overflows(finite, v, propagated, dtype):
            return v, B.summation(len(vals), _magnitude(finite), v, propagated, dtype)
        raise Indeterminate(f"an infinite term added to finite terms whose partial sums "
                            f"may pass {dtype}'s range (inf + -inf = nan in some orders)")
    if _overflows(vals, v, propagated, dtype):
        return math.copysign(math.inf, v), 0.0
    return v, B.summation(len(vals), _magnitude(vals), v, propagated, dtype)


def sum_(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    out_shape, groups, ax = _reduced_groups(x, axis)
    result_dtype = _accumulator(x, policy)
    if not x.is_float:
        return make(_keep(out_shape, x, ax, keepdims), result_dtype,
                    [sum(int(x.values[i]) for i in g) for g in groups])
    values, bnds = [], []
    for g in groups:
        v, e = _summed([x.values[i] for i in g], sum(x.bound(i) for i in g), result_dtype)
        values.append(v)
        bnds.append(e)
    return make(_keep(out_shape, x, ax, keepdims), result_dtype, values, bnds)


def mean(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    """sum / number of summed elements; integer tensors give the default float."""
    out_shape, groups, ax = _reduced_groups(x, axis)
    result_dtype = x.dtype if x.is_float else policy.default_float
    values, bnds = [], []
    for g in groups:
        vals = [x.values[i] for i in g]
        n = len(g)
        if n == 0:
            values.append(math.nan)
            bnds.append(0.0)
            continue
        if x.is_float:
            s, s_bound = _summed(vals, sum(x.bound(i) for i in g), result_dtype)
            if math.isinf(s) and all(math.isfinite(t) for t in vals):
                raise Indeterminate(f"the mean of {n} finite values whose sum passes "
                                    f"{result_dtype}'s range: whether a backend scales "
                                    "before summing is not documented")
            v = s / n if not math.isfinite(s) else float(Fraction(s) / n) if s else 0.0
        else:
            v = float(Fraction(sum(int(t) for t in vals), n))
            s_bound = B.summation(n, float(sum(abs(int(t)) for t in vals)), v * n, 0.0, result_dtype)
        values.append(v)
        bnds.append(B.mean(n, s_bound, v, result_dtype))
    return make(_keep(out_shape, x, ax, keepdims), result_dtype, values, bnds)


def cumsum(x: Tensor, axis: int, policy: DtypePolicy) -> Tensor:
    """Running sums along ``axis``; the shape is kept."""
    result_dtype = _accumulator(x, policy)
    if x.shape == ():
        normalize_axis(axis, 1)
        return make((), result_dtype, x.values, x.bounds)
    ax = normalize_axis(axis, len(x.shape))
    _, groups, _ = _reduced_groups(x, ax)
    values: list[Any] = [0] * x.numel
    bnds = [0.0] * x.numel
    for g in groups:
        for k in range(len(g)):
            prefix = [x.values[i] for i in g[: k + 1]]
            if x.is_float:
                v, bnds[g[k]] = _summed(prefix, sum(x.bound(i) for i in g[: k + 1]), result_dtype)
            else:
                v = sum(int(t) for t in prefix)
            values[g[k]] = v
    return make(x.shape, result_dtype, values, bnds if x.is_float else None)


def _exact_dot(xs: Sequence[Any], ys: Sequence[Any]) -> float | int:
    if all(isinstance(v, int) for v in (*xs, *ys)):
        return sum(int(a) * int(b) for a, b in zip(xs, ys, strict=True))
    if not all(math.isfinite(v) for v in (*xs, *ys)):
        return sum(float(a) * float(b) for a, b in zip(xs, ys, strict=True))
    return _rounded(sum((Fraction(a) * Fraction(b) for a, b in zip(xs, ys, strict=True)),
                        Fraction(0)))


def _dot_entry(xs: list[Any], exs: list[float], ys: list[Any], eys: list[float],
               result_dtype: str) -> tuple[Any, float]:
    v = _exact_dot(xs, ys)
    if not dtype_info(result_dtype).is_float:
        return v, 0.0
    products = [float(a) * float(b) for a, b in zip(xs, ys, strict=True)]
    prop = sum(abs(float(b)) * ea + abs(float(a)) * eb + ea * eb
               for a, ea, b, eb in zip(xs, exs, ys, eys, strict=True))
    # a product of finite inputs may pass float64's range: then the exact products decide
    if all(math.isfinite(t) for t in (*xs, *ys)) and _overflows(
            products, v, prop, result_dtype,
            None if all(math.isfinite(t) for t in products)
            else [Fraction(a) * Fraction(b) for a, b in zip(xs, ys, strict=True)]):
        return math.copysign(math.inf, v), 0.0
    return v, B.inner_product(len(xs), _magnitude(products), float(v), prop, result_dtype)


def _rows(t: Tensor) -> tuple[list[list[Any]], list[list[float]]]:
    n = t.shape[-1]
    m = t.numel // n if n else t.shape[0]
    return ([t.values[i * n : (i + 1) * n] for i in range(m)],
            [[t.bound(i * n + j) for j in range(n)] for i in range(m)])


def dot(x: Tensor, y: Tensor, policy: DtypePolicy) -> Tensor:
    """<x, y> = sum_i x_i y_i of two vectors of the same length: a 0-d tensor."""
    if len(x.shape) != 1 or len(y.shape) != 1 or x.shape != y.shape:
        raise ShapeError(f"dot needs two vectors of the same length, got {x.shape} and {y.shape}")
    result_dtype = promote(x.dtype, y.dtype, policy)
    v, e = _dot_entry(x.values, [x.bound(i) for i in range(x.numel)],
                      y.values, [y.bound(i) for i in range(y.numel)], result_dtype)
    return make((), result_dtype, [v], [e])


def mv(a: Tensor, x: Tensor, policy: DtypePolicy) -> Tensor:
    """A (m, n) times x (n,): element i is the dot of row i of A with x."""
    if len(a.shape) != 2 or len(x.shape) != 1 or a.shape[1] != x.shape[0]:
        raise ShapeError(f"mv needs (m, n) and (n,), got {a.shape} and {x.shape}")
    result_dtype = promote(a.dtype, x.dtype, policy)
    xe = [x.bound(i) for i in range(x.numel)]
    m, n = a.shape
    entries = [
        _dot_entry(a.values[i * n : (i + 1) * n], [a.bound(i * n + j) for j in range(n)],
                   x.values, xe, result_dtype)
        for i in range(m)
    ]
    return make((m,), result_dtype, [v for v, _ in entries], [e for _, e in entries])


def mm(a: Tensor, b: Tensor, policy: DtypePolicy) -> Tensor:
    """A (n, k) times B (k, m): column j is mv(A, B[:, j])."""
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
        raise ShapeError(f"mm needs (n, k) and (k, m), got {a.shape} and {b.shape}")
    result_dtype = promote(a.dtype, b.dtype, policy)
    n, k = a.shape
    m = b.shape[1]
    bt = transpose(b)
    values, bnds = [], []
    for i in range(n):
        for j in range(m):
            v, e = _dot_entry(a.values[i * k : (i + 1) * k], [a.bound(i * k + t) for t in range(k)],
                              bt.values[j * k : (j + 1) * k], [bt.bound(j * k + t) for t in range(k)],
                              result_dtype)
            values.append(v)
            bnds.append(e)
    return make((n, m), result_dtype, values, bnds)


def norm(x: Tensor, p: float, policy: DtypePolicy) -> Tensor:
    """(sum |x_i|^p)^(1/p) over all entries: L2 by default, Frobenius on a matrix."""
    if not x.is_float:
        raise TypeError("norm is documented for floating tensors")
    if p <= 0:
        raise ValueError("the Lp norm needs p > 0")
    vals = x.values
    n = len(vals)
    if any(math.isnan(v) for v in vals):
        v = math.nan
    elif any(math.isinf(v) for v in vals):
        v = math.inf
    elif p == 1:
        v = _magnitude(vals)
    elif p == 2:
        s = sum((Fraction(t) * Fraction(t) for t in vals), Fraction(0))
        v = _sqrt_fraction(s)
    else:
        v = _root_of_power_sum(vals, p)
    # first-order propagation: d||x||_p / dx_i = sign(x_i) |x_i|^(p-1) / ||x||^(p-1)
    if x.bounds is None:
        prop = 0.0
    elif v == 0 or not math.isfinite(v):
        prop = sum(x.bounds)
    else:
        prop = sum(abs(t) ** (p - 1) / v ** (p - 1) * e for t, e in zip(vals, x.bounds, strict=True))
    out = make((), x.dtype, [v], [B.norm(n, p, v, prop, x.dtype)])
    _check_overflow(out, [v])
    return out


def _root_of_power_sum(vals: Sequence[float], p: float) -> float:
    """(sum |t|^p)^(1/p) to double precision, in 60-digit decimal arithmetic: in binary,
    1 / p is itself rounded, which moves the root by |ln v| u, many ulps for tiny or
    huge v."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        s = sum((abs(Decimal(t)) ** Decimal(p) for t in vals if t), Decimal(0))
        if not s:
            return 0.0
        return float(s ** (1 / Decimal(p)))


def _sqrt_fraction(s: Fraction) -> float:
    """sqrt of an exact non-negative rational, to double precision (error < 1 ulp), over
    the whole range: float(s) first would underflow for |x| ~ 1e-300 (sqrt(1e-600))."""
    if s == 0:
        return 0.0
    n, d = s.numerator, s.denominator
    # sqrt(n / d) = sqrt(n d) / d; scaled by 4^k so the integer root has >= 64 bits
    k = max(0, (130 - (n * d).bit_length()) // 2)
    root = math.isqrt((n * d) << (2 * k))
    try:
        return float(Fraction(root, d << k))  # correctly rounded, subnormals included
    except OverflowError:
        return math.inf


# -- indexing ---------------------------------------------------------------------
def _index_plan(shape: tuple[int, ...], key: Any) -> tuple[tuple[int, ...], list[int]]:
    """Basic indexing (ints, slices, Ellipsis): result shape and flat source indices."""
    if not isinstance(key, tuple):
        key = (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        fill = len(shape) - (len(key) - 1)
        key = key[:i] + (slice(None),) * fill + key[i + 1 :]
    if len(key) > len(shape):
        raise IndexError(f"too many indices for a {len(shape)}-d tensor: {len(key)}")
    key = key + (slice(None),) * (len(shape) - len(key))
    per_axis: list[list[int]] = []
    out_shape: list[int] = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, bool) or not isinstance(k, int | slice):
            raise IndexError(f"unsupported index {k!r}")
        if isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("slice step must be positive")
            picked = list(range(n))[k]
            per_axis.append(picked)
            out_shape.append(len(picked))
        else:
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for an axis of size {n}")
            per_axis.append([k % n])
    st = strides(shape)
    flat = [sum(i * s for i, s in zip(combo, st, strict=True))
            for combo in itertools.product(*per_axis)]
    return tuple(out_shape), flat


def getitem(x: Tensor, key: Any) -> Tensor:
    out_shape, flat = _index_plan(x.shape, key)
    return _gather(x, out_shape, flat)


def setitem(x: Tensor, key: Any, value: Tensor | Scalar, policy: DtypePolicy) -> None:
    """x[key] = value writes into x itself; value broadcasts to the indexed region and
    is converted to x's dtype."""
    region, flat = _index_plan(x.shape, key)
    if isinstance(value, Tensor):
        broadcast_shapes(value.shape, region)  # raises when it does not fit
        if broadcast_shapes(value.shape, region) != region:
            raise ShapeError(f"cannot write shape {value.shape} into region {region}")
    vals, bnds = _expand(value, region)
    new = make(region, x.dtype, vals, bnds if x.is_float else None)
    if x.bounds is None and new.bounds is not None:
        x.bounds = [0.0] * x.numel
    for j, i in enumerate(flat):
        x.values[i] = new.values[j]
        if x.bounds is not None:
            x.bounds[i] = new.bound(j)


def iadd(x: Tensor, y: Tensor | Scalar, policy: DtypePolicy) -> Tensor:
    """x += y writes x + y into x itself (same object); the result keeps x's dtype
    and shape, so y must broadcast to x."""
    total = add(x, y, policy)
    if total.shape != x.shape:
        raise ShapeError(f"x += y: y of shape {getattr(y, 'shape', ())} does not broadcast to {x.shape}")
    if dtype_info(total.dtype).kind != dtype_info(x.dtype).kind and total.dtype != x.dtype:
        raise TypeError(f"x += y cannot store a {total.dtype} result in a {x.dtype} tensor")
    setitem(x, Ellipsis, total, policy)
    return x
