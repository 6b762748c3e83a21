"""The reference: exact (correctly rounded) values, and bounds that real float code meets.

Two things make a tolerance principled: it must hold for every legitimate way of
computing the result (any summation order, float32 accumulation), and it must be
small enough to catch a real error.  Both are checked here against independent
computations (``fractions``, NumPy in float32 with different orders).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.adapters.reference import ops
from tensor_conformance.adapters.reference.dtypes import promote, promote_scalar
from tensor_conformance.adapters.reference.tensor import Indeterminate, ShapeError, Tensor

P = DOCUMENTED_POLICY
floats32 = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=200),
                      elements=hnp.from_dtype(np.dtype(np.float32), min_value=-1e6, max_value=1e6,
                                              allow_subnormal=False))


def ref(array: np.ndarray) -> Tensor:
    return ops.make(tuple(array.shape), str(array.dtype), array.reshape(-1).tolist())


def exact_sum(values: list[float]) -> Fraction:
    return sum((Fraction(v) for v in values), Fraction(0))


@given(floats32)
def test_sum_is_the_correctly_rounded_exact_sum(x: np.ndarray) -> None:
    got = ops.sum_(ref(x), None, False, P).values[0]
    exact = exact_sum(x.tolist())
    assert got == float(np.float32(float(exact)))  # one rounding of the exact sum


@given(floats32, st.randoms(use_true_random=False))
def test_float32_sums_in_any_order_are_within_the_bound(x: np.ndarray, rnd: object) -> None:
    r = ops.sum_(ref(x), None, False, P)
    v, bound = r.values[0], r.bound(0)
    order = list(x)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    sequential = np.float32(0)
    for term in order:
        sequential = np.float32(sequential + term)
    for candidate in (np.sum(x), np.add.reduce(x[::-1]), sequential):
        assert abs(float(candidate) - v) <= bound


@given(floats32.filter(lambda a: a.size >= 1))
def test_the_sum_bound_is_tighter_than_half_precision(x: np.ndarray) -> None:
    """Without cancellation (all terms of one sign), the bound for up to 200 float32 terms
    stays below half precision's unit roundoff 2^-11: an error of that size is caught."""
    x = np.abs(x) + np.float32(1)
    r = ops.sum_(ref(x), None, False, P)
    assert r.bound(0) < 2**-11 * r.values[0]


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.data())
def test_mm_is_exact_and_float32_matmul_is_within_bounds(n: int, k: int, m: int, data: st.DataObject) -> None:
    elems = hnp.from_dtype(np.dtype(np.float32), min_value=-1e3, max_value=1e3, allow_subnormal=False)
    a = data.draw(hnp.arrays(np.float32, (n, k), elements=elems))
    b = data.draw(hnp.arrays(np.float32, (k, m), elements=elems))
    r = ops.mm(ref(a), ref(b), P)
    assert r.shape == (n, m)
    for i in range(n):
        for j in range(m):
            exact = sum((Fraction(float(a[i, t])) * Fraction(float(b[t, j])) for t in range(k)), Fraction(0))
            got = r.values[i * m + j]
            assert got == float(np.float32(float(exact)))
            assert abs(float((a @ b)[i, j]) - got) <= r.bound(i * m + j)


def test_elementwise_bounds_are_one_rounding_per_side() -> None:
    x = ops.tensor([1.0, 2.0, 4.0, 8.0], None, P)
    third = ops.div(x, 3, P)
    for v, b in zip(third.values, third.bounds or [], strict=True):
        # correctly rounded on both sides: at most 2 u |v| apart, plus the flush-to-zero term
        assert b == pytest.approx(2 * 2**-24 * abs(v) + 2**-126)


@pytest.mark.parametrize(
    ("a", "b", "policy", "expected"),
    [
        ("int64", "float32", P, "float32"),  # the notes: x (float32) + y (int64) -> float32
        ("int32", "int64", P, "int64"),
        ("bool", "int32", P, "int32"),
        ("float32", "float64", P, "float64"),
        ("int32", "float32", DtypePolicy(default_float="float64", int_float_promotion="widest"), "float64"),
        ("int64", "float32", DtypePolicy(max_bits=32, default_int="int32"), "float32"),
    ],
)
def test_promotion(a: str, b: str, policy: DtypePolicy, expected: str) -> None:
    assert promote(a, b, policy) == expected


def test_python_scalars_are_weak() -> None:
    assert promote_scalar("float32", 2.5, P) == "float32"
    assert promote_scalar("int32", 2, P) == "int32"
    assert promote_scalar("int32", 2.5, P) == "float32"
    assert promote_scalar("bool", 1, P) == "int64"


def test_integer_division_is_true_division_in_the_default_float() -> None:
    r = ops.div(ops.tensor([1, 2], None, P), ops.tensor([2, 2], None, P), P)
    assert (r.dtype, r.values) == ("float32", [0.5, 1.0])


def test_broadcasting_follows_the_notes() -> None:
    a = ops.reshape(ops.arange(3, None, P), (3, 1))
    b = ops.reshape(ops.arange(2, None, P), (1, 2))
    assert ops.add(a, b, P).nested() == [[0, 1], [1, 2], [2, 3]]
    with pytest.raises(ShapeError):
        ops.add(ops.arange(3, None, P), ops.arange(2, None, P), P)


def test_division_by_zero_is_ieee() -> None:
    r = ops.div(ops.tensor([1.0, -1.0, 0.0], None, P), 0.0, P)
    assert r.values[:2] == [float("inf"), float("-inf")]
    assert r.values[2] != r.values[2]


@pytest.mark.parametrize("x", [1e-300, 1e300, 2.5e-160, 3.0])
def test_the_l2_norm_is_exact_over_the_whole_float64_range(x: float) -> None:
    """sqrt(x^2) must not underflow or overflow on the way (found by the explore profile:
    the gradient of ||[1e-300]|| is 1, not the zero vector's 0)."""
    assert ops.norm(ref(np.array([x, 0.0])), 2, P).values == [x]
    assert ops.norm(ref(np.array([-x])), 2, P).values == [x]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_sum_beyond_the_range_in_every_order_is_an_infinity(dtype: str, sign: float) -> None:
    """Terms of one sign whose exact sum passes the largest finite value overflow in
    any order: the reference gives the IEEE infinity, as NumPy does (found by the
    explore profile: exp(709.) * 2 summed three times raised OverflowError from
    math.fsum, and every gradient cell of exp in float64 failed on that example)."""
    big = float(np.finfo(dtype).max) * 0.75 * sign
    x = ref(np.array([big, big, big], dtype=dtype))
    with np.errstate(over="ignore"):
        expected = float(np.sum(np.array([big] * 3, dtype=dtype)))
    assert math.isinf(expected)
    assert ops.sum_(x, None, False, P).values == [expected]
    assert ops.cumsum(x, 0, P).values[1:] == [expected, expected]
    assert ops.dot(x, ref(np.ones(3, dtype=dtype)), P).values == [expected]
    with pytest.raises(Indeterminate):  # sum / n in one backend, a scaled mean in another
        ops.mean(x, None, False, P)


def test_a_sum_that_overflows_only_in_some_orders_is_not_judged() -> None:
    """[M, M, -M]: a running sum passes the range (inf - M = inf), the exact sum is M;
    pairwise [M, M, -M, -M] even gives inf + -inf = nan.  Overflow is not documented."""
    m = 1e308
    for values in ([m, m, -m], [m, m, -m, -m]):
        with pytest.raises(Indeterminate):
            ops.sum_(ref(np.array(values)), None, False, P)
    # below the range in every order: the correctly rounded exact sum, as before
    assert ops.sum_(ref(np.array([m, 1e292, -m])), None, False, P).values == [1e292]
