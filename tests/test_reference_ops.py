"""The reference's operations (adapters/reference/ops.py), rule by rule.

The reference is the oracle every backend is compared with, so each documented rule of
each operation is asserted here as behaviour: shapes, broadcasting, dtype promotion,
values against independent computations (hand-computed cases, ``fractions``,
``math.fsum``, NumPy), the error bound next to each value (term by term, as in
tests/test_error_bounds.py), and the exception type and message where an operation
rejects its input (the message is what a report shows for a program the reference
rejects).  Mutation testing (README, "Mutation testing") runs these against
adapters/reference/ops.py; tests/mutation-survivors.md lists what survives and why.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.adapters.reference import bounds as B
from tensor_conformance.adapters.reference import ops
from tensor_conformance.adapters.reference.dtypes import IntegerOverflow
from tensor_conformance.adapters.reference.tensor import Indeterminate, ShapeError, Tensor

P = DOCUMENTED_POLICY  # int64, float32
#: a policy whose defaults differ from the documented ones, so a default shows which it is
P64 = DtypePolicy(default_int="int32", default_float="float64")
#: a backend without 64-bit dtypes (JAX without x64)
P32 = DtypePolicy(default_int="int32", default_float="float32", max_bits=32)

U32, U64 = 2.0**-24, 2.0**-53
F32, F64 = 2.0**-126, 2.0**-1022
TOP32 = float(np.finfo(np.float32).max)
INF, NAN = math.inf, math.nan


def T(values: list[Any], dtype: str = "float64", shape: tuple[int, ...] | None = None,
      bounds: list[float] | None = None, unsure: list[bool] | None = None) -> Tensor:
    """An input tensor built directly (not through ops.make, which is under test)."""
    return Tensor(shape if shape is not None else (len(values),), dtype, list(values), bounds, unsure)


def A(array: np.ndarray) -> Tensor:
    return Tensor(tuple(array.shape), str(array.dtype), array.reshape(-1).tolist())


@contextlib.contextmanager
def raises(exc: type[BaseException], message: str) -> Iterator[None]:
    """The exact exception type (not a subclass: ShapeError is a ValueError) and message."""
    with pytest.raises(BaseException) as info:
        yield
    assert type(info.value) is exc, repr(info.value)
    assert str(info.value) == message


def same(got: list[Any], expected: list[Any]) -> bool:
    """Equal values, nan equal to nan, -0.0 told apart from 0.0."""
    return len(got) == len(expected) and all(
        (isinstance(g, float) and isinstance(e, float) and math.isnan(g) and math.isnan(e))
        or (g == e and type(g) is type(e)
            and (not isinstance(g, float) or math.copysign(1, g) == math.copysign(1, e)))
        for g, e in zip(got, expected, strict=True)
    )


def f32(x: float) -> float:
    return float(np.float32(x))


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-12, abs=0)


def gamma(n: int, u: float) -> float:
    return n * u / (1 - n * u)


# -- make -------------------------------------------------------------------------------
def test_make_rounds_values_to_the_dtype_and_keeps_the_shape_as_a_tuple() -> None:
    t = ops.make([2], "float32", [0.1, 1])
    assert t.shape == (2,) and type(t.shape) is tuple
    assert same(t.values, [f32(0.1), 1.0])
    assert same(ops.make((3,), "int32", [1.9, True, -2]).values, [1, 1, -2])


def test_make_an_integer_that_does_not_fit_is_indeterminate() -> None:
    with raises(Indeterminate, "2147483648 does not fit int32"):
        ops.make((1,), "int32", [2**31])
    with pytest.raises(Indeterminate) as info:
        ops.make((1,), "int64", [-(2**63) - 1])
    assert isinstance(info.value.__cause__, IntegerOverflow)


def test_make_all_zero_bounds_and_unsure_flags_are_dropped() -> None:
    assert ops.make((2,), "float64", [1.0, 2.0], [0.0, 0.0]).bounds is None
    assert ops.make((2,), "float64", [1.0, 2.0], [0.0, 0.5]).bounds == [0.0, 0.5]
    assert ops.make((2,), "bool", [1, 0], None, [False, False]).unsure is None
    assert ops.make((2,), "bool", [1, 0], None, [False, True]).unsure == [False, True]


# -- construction ---------------------------------------------------------------------
@pytest.mark.parametrize(("data", "shape", "dtype"), [
    ([1, 2], (2,), "int32"),
    ([1, 2.5], (2,), "float64"),
    ([[True], [False]], (2, 1), "bool"),
    ([True, 1], (2,), "int32"),
    ([], (0,), "float64"),
    (3, (), "int32"),
])
def test_tensor_infers_the_dtype_from_the_kinds_of_the_values(data: Any, shape: tuple[int, ...],
                                                              dtype: str) -> None:
    t = ops.tensor(data, None, P64)
    assert (t.shape, t.dtype) == (shape, dtype)


def test_tensor_keeps_a_named_dtype_and_narrows_it_to_the_policy() -> None:
    assert ops.tensor([1, 2], "float64", P).values == [1.0, 2.0]
    assert ops.tensor([1, 2], "float64", P).dtype == "float64"
    assert ops.tensor([0.1], "float64", P32).dtype == "float32"
    assert ops.tensor([0.1], "float64", P32).values == [f32(0.1)]


def test_arange_counts_from_zero_to_the_end_exclusive() -> None:
    t = ops.arange(3, None, P64)
    assert (t.shape, t.dtype, t.values) == ((3,), "int32", [0, 1, 2])
    t = ops.arange(2.5, None, P64)
    assert (t.shape, t.dtype) == ((3,), "float64") and same(t.values, [0.0, 1.0, 2.0])
    assert ops.arange(1, None, P).values == [0]


@pytest.mark.parametrize("end", [0, -2, -0.5])
def test_arange_to_an_end_at_or_below_zero_is_empty(end: float) -> None:
    t = ops.arange(end, None, P)
    assert (t.shape, t.values) == ((0,), [])


def test_arange_narrows_the_named_dtype() -> None:
    assert ops.arange(2, "int64", P32).dtype == "int32"
    assert ops.arange(2, "float64", P).dtype == "float64"


def test_full_repeats_the_value_over_the_shape() -> None:
    t = ops.full((2, 3), 7, "int32", P)
    assert (t.shape, t.dtype, t.values) == ((2, 3), "int32", [7] * 6)
    t = ops.full((2,), 1.5, None, P64)
    assert (t.dtype, t.values) == ("float64", [1.5, 1.5])
    assert ops.full((1,), 1.5, "float64", P32).dtype == "float32"
    assert ops.full((), 2.0, None, P).values == [2.0]


def test_full_with_an_empty_axis_is_empty() -> None:
    t = ops.full((0, 3), 1.0, None, P)
    assert (t.shape, t.values) == ((0, 3), [])


def test_full_rejects_a_negative_dimension() -> None:
    with raises(ShapeError, "negative dimension in shape (2, -1)"):
        ops.full((2, -1), 1.0, None, P)


def test_randn_draws_standard_normals_from_the_seed_in_the_default_float() -> None:
    rng = random.Random(7)
    expected = [rng.gauss(0.0, 1.0) for _ in range(6)]
    t = ops.randn((2, 3), 7, P64)
    assert (t.shape, t.dtype, t.values) == ((2, 3), "float64", expected)
    t = ops.randn((2, 3), 7, P)
    assert (t.dtype, t.values) == ("float32", [f32(v) for v in expected])


# -- shape ----------------------------------------------------------------------------
def test_reshape_keeps_the_row_major_values_and_their_bounds() -> None:
    x = T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape=(2, 3), bounds=[0.0, 0.1, 0.0, 0.0, 0.0, 0.2])
    r = ops.reshape(x, (3, 2))
    assert (r.shape, r.values, r.bounds) == ((3, 2), x.values, x.bounds)
    assert r.values is not x.values
    b = T([True, False], "bool", unsure=[True, False])
    assert ops.reshape(b, [1, 2]).unsure == [True, False]


@pytest.mark.parametrize(("shape", "expected"), [
    ((2, -1), (2, 3)), ((-1,), (6,)), ((-1, 1, 2), (3, 1, 2)), ((6, -1), (6, 1)),
])
def test_reshape_infers_one_minus_one(shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    r = ops.reshape(T([0.0] * 6), shape)
    assert r.shape == expected and all(type(n) is int for n in r.shape)


def test_reshape_of_an_empty_tensor_to_an_empty_shape() -> None:
    assert ops.reshape(T([], shape=(0,)), (3, 0)).shape == (3, 0)


@pytest.mark.parametrize(("numel", "shape", "message"), [
    (6, (-1, -1), "only one dimension can be inferred (-1)"),
    (6, (-1, 2, -1), "only one dimension can be inferred (-1)"),
    (0, (0, -1), "cannot infer -1 reshaping 0 elements into (0, -1)"),
    (6, (4, -1), "cannot infer -1 reshaping 6 elements into (4, -1)"),
    (6, (4, 2), "cannot reshape 6 elements into (4, 2)"),
    (6, (-2, -3), "cannot reshape 6 elements into (-2, -3)"),
    (6, (5,), "cannot reshape 6 elements into (5,)"),
])
def test_reshape_rejects_shapes_that_do_not_hold_the_elements(numel: int, shape: tuple[int, ...],
                                                              message: str) -> None:
    with raises(ShapeError, message):
        ops.reshape(T([0.0] * numel), shape)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (4,), (), (1, 3), (3, 0)])
def test_transpose_reverses_the_axes(shape: tuple[int, ...]) -> None:
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    bounds = [0.5 * i for i in range(a.size)]
    r = ops.transpose(T(a.reshape(-1).tolist(), shape=shape, bounds=bounds or None))
    assert r.shape == a.T.shape
    assert r.values == a.T.reshape(-1).tolist()
    # each bound travels with its value (the bound of value v is v / 2)
    assert r.bounds == ([v / 2 for v in r.values] or None)


def test_transpose_moves_the_unsure_flags_and_keeps_no_bounds_as_none() -> None:
    x = T([True, False, True, True, False, False], "bool", shape=(2, 3),
          unsure=[True, False, False, False, False, True])
    r = ops.transpose(x)
    assert r.values == [True, True, False, False, True, False]
    assert r.unsure == [True, False, False, False, False, True]
    assert r.bounds is None
    assert ops.transpose(T([1.0, 2.0], shape=(1, 2))).unsure is None


def test_cat_joins_along_the_axis_in_order() -> None:
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = np.arange(10, 14, dtype=np.float64).reshape(2, 2)
    c = np.arange(20, 22, dtype=np.float64).reshape(2, 1)
    for axis in (1, -1):
        r = ops.cat([A(a), A(b), A(c)], axis, P)
        assert r.shape == (2, 6)
        assert r.values == np.concatenate([a, b, c], axis=1).reshape(-1).tolist()
    r = ops.cat([A(a), A(a * 2)], 0, P)
    assert (r.shape, r.values) == ((4, 3), np.concatenate([a, a * 2]).reshape(-1).tolist())
    r = ops.cat([A(a), A(a * 2)], -2, P)
    assert r.shape == (4, 3)


def test_cat_carries_the_bounds_and_zeros_for_exact_tensors() -> None:
    a = T([1.0, 2.0], bounds=[0.5, 0.25])
    b = T([3.0])
    assert ops.cat([a, b], 0, P).bounds == [0.5, 0.25, 0.0]
    assert ops.cat([b, a], 0, P).bounds == [0.0, 0.5, 0.25]
    assert ops.cat([b, b], 0, P).bounds is None
    a = T([1.0, 2.0, 3.0, 4.0], shape=(2, 2), bounds=[0.5, 0.25, 0.125, 1.0])
    b = T([5.0, 6.0], shape=(2, 1))
    r = ops.cat([b, a, b], 1, P)
    assert r.values == [5.0, 1.0, 2.0, 5.0, 6.0, 3.0, 4.0, 6.0]
    assert r.bounds == [0.0, 0.5, 0.25, 0.0, 0.0, 0.125, 1.0, 0.0]


def test_cat_promotes_over_all_the_tensors() -> None:
    i32, i64, f64, b = T([1], "int32"), T([2], "int64"), T([3.0], "float64"), T([True], "bool")
    assert ops.cat([i32, f64], 0, P).dtype == "float64"
    assert ops.cat([b, i32, i64], 0, P).dtype == "int64"
    r = ops.cat([b, b, i32], 0, P)
    assert (r.dtype, r.values) == ("int32", [1, 1, 1])
    assert ops.cat([f64, i32], 0, P).dtype == "float64"


def test_cat_of_one_tensor_is_that_tensor() -> None:
    r = ops.cat([T([1, 2, 3, 4], "int32", shape=(2, 2))], 1, P)
    assert (r.shape, r.dtype, r.values) == ((2, 2), "int32", [1, 2, 3, 4])


def test_cat_rejects_no_tensors_and_zero_dimensional_ones() -> None:
    with raises(ShapeError, "cat needs at least one tensor"):
        ops.cat([], 0, P)
    with raises(ShapeError, "zero-dimensional tensors cannot be concatenated"):
        ops.cat([T([1.0], shape=()), T([2.0], shape=())], 0, P)
    with raises(IndexError, "axis 2 is out of range for a 2-d tensor"):
        ops.cat([T([1.0], shape=(1, 1))], 2, P)


@pytest.mark.parametrize(("shapes", "axis", "message"), [
    ([(2, 3), (2, 4)], 0, "cat along axis 0: shapes (2, 3) and (2, 4) differ off that axis"),
    ([(2, 3), (3,)], 0, "cat along axis 0: shapes (2, 3) and (3,) differ off that axis"),
    ([(2, 3), (2, 3), (3, 4)], -1, "cat along axis 1: shapes (2, 3) and (3, 4) differ off that axis"),
])
def test_cat_rejects_shapes_that_differ_off_the_axis(shapes: list[tuple[int, ...]], axis: int,
                                                     message: str) -> None:
    with raises(ShapeError, message):
        ops.cat([T([0.0] * math.prod(s), shape=s) for s in shapes], axis, P)


# -- elementwise: dtypes and shapes ---------------------------------------------------------
def test_binary_result_dtype_of_tensors_and_python_scalars() -> None:
    i = T([1, 2], "int32")
    assert ops.add(i, T([1.0, 1.0], "float32"), P).dtype == "float32"
    assert ops.add(i, 2, P).dtype == "int32"
    assert ops.add(2, i, P).dtype == "int32"
    r = ops.add(0.5, i, P64)
    assert (r.dtype, r.values) == ("float64", [1.5, 2.5])
    r = ops.add(i, 0.5, P64)
    assert (r.dtype, r.values) == ("float64", [1.5, 2.5])
    assert ops.mul(T([True], "bool"), 3, P).dtype == "int64"


@pytest.mark.parametrize(("op", "scalar", "expected"), [
    (ops.add, 1.5, [2.5, 4.5]), (ops.sub, 2.5, [-1.5, 0.5]), (ops.mul, 2.0, [2.0, 6.0]),
    (ops.pow_, 2.0, [1.0, 9.0]), (ops.div, 2.0, [0.5, 1.5]),
])
def test_an_integer_tensor_and_a_python_float_give_the_default_float(op: Any, scalar: float,
                                                                     expected: list[float]) -> None:
    r = op(T([1, 3], "int64"), scalar, P64)
    assert (r.dtype, r.values) == ("float64", expected)


def test_binary_broadcasts_both_operands_and_their_bounds() -> None:
    col = T([1.0, 2.0], shape=(2, 1), bounds=[0.5, 0.25])
    row = T([10.0, 20.0, 30.0], shape=(1, 3))
    r = ops.add(col, row, P64)
    assert r.shape == (2, 3)
    assert r.values == [11.0, 21.0, 31.0, 12.0, 22.0, 32.0]
    assert r.bounds == [approx(0.5 + 2 * U64 * v + F64) if i < 3 else approx(0.25 + 2 * U64 * v + F64)
                        for i, v in enumerate(r.values)]
    r = ops.sub(5.0, T([1.0, 2.0], bounds=[0.5, 0.0]), P64)
    assert r.values == [4.0, 3.0]
    assert r.bounds == [approx(0.5 + 2 * U64 * 4 + F64), approx(2 * U64 * 3 + F64)]


def test_binary_rejects_shapes_that_do_not_broadcast() -> None:
    with raises(ShapeError, "shapes (3,) and (2,) are not broadcastable"):
        ops.add(T([1.0, 2.0, 3.0]), T([1.0, 2.0]), P)


def test_integer_arithmetic_is_exact() -> None:
    a, b = T([7, -3, 2], "int64"), T([2, 5, 0], "int64")
    assert ops.add(a, b, P).values == [9, 2, 2]
    assert ops.sub(a, b, P).values == [5, -8, 2]
    assert ops.mul(a, b, P).values == [14, -15, 0]
    assert ops.pow_(a, b, P).values == [49, -243, 1]
    assert ops.add(T([True, True, False], "bool"), T([True, False, False], "bool"), P).values == [
        True, True, False]


def test_integer_results_that_do_not_fit_are_indeterminate() -> None:
    with raises(Indeterminate, "2147483648 does not fit int32"):
        ops.add(T([2**31 - 1], "int32"), 1, P)


def test_integers_to_negative_powers_are_rejected() -> None:
    with raises(ValueError, "integers to negative integer powers are not documented"):
        ops.pow_(T([2], "int64"), -1, P)


# -- elementwise: float values and bounds -------------------------------------------------
def test_add_and_sub_bounds_add_the_inputs_bounds() -> None:
    a, b = T([1.0], bounds=[0.25]), T([2.0], bounds=[0.5])
    r = ops.add(a, b, P64)
    assert r.values == [3.0] and r.bounds == [approx(0.75 + 2 * U64 * 3 + F64)]
    r = ops.sub(a, b, P64)
    assert r.values == [-1.0] and r.bounds == [approx(0.75 + 2 * U64 * 1 + F64)]


def test_float32_add_is_correctly_rounded() -> None:
    r = ops.add(T([1.0], "float32"), T([2.0**-24 + 2.0**-30], "float32"), P)
    assert r.values == [f32(1.0 + 2.0**-24 + 2.0**-30)] == [1.0 + 2.0**-23]
    # the bound is of the exact sum (the reference's rounding is one of its terms)
    assert r.bounds == [approx(2 * U32 * (1.0 + 2.0**-24 + 2.0**-30) + F32)]


@pytest.mark.parametrize(("a", "ea", "b", "eb", "prop"), [
    (3.0, 0.5, -4.0, 0.25, 4 * 0.5 + 3 * 0.25 + 0.5 * 0.25),
    (2.0, 0.5, 1.0, 0.0, 0.5),  # a coefficient of 1
    (2.0, 1.0, 3.0, 0.0, 3.0),  # a bound of 1
    (2.0, 0.0, 3.0, 1.0, 2.0),
])
def test_mul_bound_is_first_order_plus_the_product_of_the_bounds(a: float, ea: float, b: float,
                                                                 eb: float, prop: float) -> None:
    r = ops.mul(T([a], bounds=[ea]), T([b], bounds=[eb]), P64)
    assert r.values == [a * b]
    assert r.bounds == [approx(prop + 2 * U64 * abs(a * b) + F64)]


def test_mul_an_exact_zero_absorbs_an_infinite_bound() -> None:
    """inf * 0 is nan: an exact zero factor makes the other's error vanish, not nan."""
    r = ops.mul(T([3.0], bounds=[INF]), T([0.0]), P64)
    assert r.values == [0.0] and r.bounds == [F64]
    r = ops.mul(T([0.0]), T([3.0], bounds=[INF]), P64)
    assert r.values == [0.0] and r.bounds == [F64]


def test_div_bound_divides_by_the_smallest_divisor() -> None:
    r = ops.div(T([1.0], bounds=[0.25]), T([2.0], bounds=[0.5]), P64)
    # (ea + |v| eb) / (|b| - eb) = (0.25 + 0.25) / 1.5
    assert r.values == [0.5] and r.bounds == [approx(1 / 3 + 2 * U64 * 0.5 + F64)]
    r = ops.div(T([-1.0]), T([4.0]), P64)
    assert r.values == [-0.25] and r.bounds == [approx(2 * U64 * 0.25 + F64)]


def test_div_by_a_divisor_that_may_be_zero_has_an_infinite_bound() -> None:
    r = ops.div(T([1.0, -3.0]), T([0.5, -2.0], bounds=[0.5, 2.5]), P64)
    assert r.values == [2.0, 1.5] and r.bounds == [INF, INF]


def test_div_of_values_that_may_both_be_zero_is_indeterminate() -> None:
    with raises(Indeterminate, "0.25 / 0.5: 0 / 0 is within rounding error"):
        ops.div(T([0.25], bounds=[0.25]), T([0.5], bounds=[0.5]), P64)
    with raises(Indeterminate, "-0.5 / 0.0: 0 / 0 is within rounding error"):
        ops.div(T([-0.5], bounds=[0.5]), T([0.0]), P64)


def test_div_by_an_exact_zero_is_ieee() -> None:
    r = ops.div(T([2.0, 2.0, -2.0, 0.0, NAN, 0.5]), T([0.0, -0.0, -0.0, 0.0, 0.0, 0.0]), P64)
    assert same(r.values, [INF, -INF, INF, NAN, NAN, INF])
    assert r.bounds is None
    # a zero numerator known to within its bound is still zero: 0 / 0 is nan
    r = ops.div(T([0.0], bounds=[0.5]), T([0.0]), P64)
    assert same(r.values, [NAN])


def test_div_by_a_zero_of_unknown_sign_is_undecided() -> None:
    """A rounded zero divisor may carry either sign: an infinity of unknown sign (given
    as inf, bound inf), or nan for a zero or nan numerator."""
    r = ops.div(T([-1.0, 0.0, NAN, 2.0]), T([0.0, 0.0, 0.0, -0.0], bounds=[1e-300] * 4), P64)
    assert same(r.values, [INF, NAN, NAN, INF])
    assert r.bounds == [INF] * 4


def test_integer_division_is_true_division_in_the_default_float() -> None:
    r = ops.div(T([1, 7, -1, 0, 3], "int64"), T([3, -2, 0, 0, 0], "int64"), P64)
    assert r.dtype == "float64"
    assert same(r.values, [float(Fraction(1, 3)), -3.5, -INF, NAN, INF])
    # int -> float conversions and the division: 3 u, plus the reference's 1 u
    assert r.bounds == [approx(4 * U64 / 3 + F64), approx(4 * U64 * 3.5 + F64), 0.0, 0.0, 0.0]
    r = ops.div(T([10**17 + 1], "int64"), T([10**17], "int64"), P64)
    assert r.values == [float(Fraction(10**17 + 1, 10**17))]
    r = ops.div(T([1], "int32"), 2, P)
    assert (r.dtype, r.values) == ("float32", [0.5])


def test_integer_division_broadcasts_both_operands() -> None:
    r = ops.div(6, T([4, 3], "int64"), P64)
    assert (r.shape, r.values) == ((2,), [1.5, 2.0])
    r = ops.div(T([6], "int64"), T([4, 3], "int64"), P64)
    assert (r.shape, r.values) == ((2,), [1.5, 2.0])
    r = ops.div(T([6, 3], "int64", shape=(2, 1)), T([4, 3], "int64", shape=(1, 2)), P64)
    assert (r.shape, r.values) == ((2, 2), [1.5, 2.0, 0.75, 1.0])


def test_division_of_integers_by_floats_promotes_under_the_policy() -> None:
    r = ops.div(T([1, 3], "int64"), 2.0, P64)
    assert (r.dtype, r.values) == ("float64", [0.5, 1.5])
    r = ops.div(T([1, 3], "int64"), T([2.0, 4.0], "float32"), P)
    assert (r.dtype, r.values) == ("float32", [0.5, 0.75])
    widest = DtypePolicy(default_float="float64", int_float_promotion="widest")
    assert ops.div(T([1], "int32"), T([2.0], "float32"), widest).dtype == "float64"


def test_pow_of_exact_inputs_has_the_pow_rounding_only() -> None:
    r = ops.pow_(T([2.0, 9.0]), T([3.0, 0.5]), P64)
    assert r.values == [8.0, 3.0]
    assert r.bounds == [approx(9 * U64 * 8 + F64), approx(9 * U64 * 3 + F64)]


def test_pow_bound_propagates_both_inputs_bounds() -> None:
    r = ops.pow_(T([2.0], bounds=[0.01]), T([3.0], bounds=[0.001]), P64)
    prop = abs(3 * 8 / 2) * 0.01 + abs(8 * math.log(2)) * 0.001
    assert r.values == [8.0] and r.bounds == [approx(1.01 * prop + 9 * U64 * 8 + F64)]
    r = ops.pow_(T([-2.0], bounds=[0.01]), T([2.0]), P64)
    assert r.values == [4.0] and r.bounds == [approx(1.01 * 2 * 4 / 2 * 0.01 + 9 * U64 * 4 + F64)]


def test_pow_of_a_zero_base_with_a_bound() -> None:
    # |(0 + d)^b| <= |d|^b for b > 0
    r = ops.pow_(T([0.0], bounds=[0.5]), T([2.0]), P64)
    assert r.values == [0.0] and r.bounds == [approx(0.25 + F64)]
    r = ops.pow_(T([0.0], bounds=[0.25]), T([0.5]), P64)
    assert r.values == [0.0] and r.bounds == [approx(0.5 + F64)]
    # b = 0: 0^0 = 1 but (0 + d)^0 near 0 is unbounded
    r = ops.pow_(T([0.0], bounds=[0.5]), T([0.0]), P64)
    assert r.values == [1.0] and r.bounds == [INF]
    # an exact zero base: the exponent's bound moves nothing
    r = ops.pow_(T([0.0]), T([0.0], bounds=[0.1]), P64)
    assert r.values == [1.0] and r.bounds == [approx(9 * U64 + F64)]
    r = ops.pow_(T([0.0]), T([2.0], bounds=[0.1]), P64)
    assert r.values == [0.0] and r.bounds == [F64]


def test_pow_of_a_zero_to_a_negative_power_is_ieee() -> None:
    """IEEE 754 pow(+-0, y < 0): +-inf for an odd integer y, +inf otherwise."""
    r = ops.pow_(T([0.0, -0.0, -0.0, -0.0, -0.0]), T([-1.0, -1.0, -2.0, -0.5, -3.5]), P64)
    assert same(r.values, [INF, -INF, INF, INF, INF])
    assert r.bounds is None
    r = ops.pow_(T([0.0], bounds=[0.5]), T([-1.0]), P64)
    assert r.values == [INF] and r.bounds == [INF]


def test_pow_of_a_negative_base_to_a_fraction_is_nan() -> None:
    r = ops.pow_(T([-2.0, -2.0]), T([0.5, -0.5]), P64)
    assert same(r.values, [NAN, NAN]) and r.bounds is None
    r = ops.pow_(T([-2.0, -2.0], bounds=[0.1, 0.0]), T([0.5, 0.5], bounds=[0.0, 0.1]), P64)
    assert same(r.values, [NAN, NAN]) and r.bounds == [INF, INF]


def test_pow_that_overflows_float64_is_an_infinity_of_the_right_sign() -> None:
    r = ops.pow_(T([10.0, -10.0, -10.0, 0.5]), T([400.0, 401.0, 400.0, -2001.0]), P64)
    assert r.values == [INF, -INF, INF, INF]


def test_float32_overflow_is_an_infinity() -> None:
    r = ops.add(T([3e38, -3e38], "float32"), T([3e38, -3e38], "float32"), P)
    assert r.values == [INF, -INF]
    r = ops.mul(T([2e38], "float32"), 2.0, P)
    assert r.values == [INF]


def test_float32_overflow_within_the_bound_of_the_largest_value_is_indeterminate() -> None:
    """top + 2^105 rounds to inf in float32, but its bound (2 u |v| ~ 2^105) reaches
    back below the largest finite value: a backend may give either."""
    x = TOP32 + 2.0**105
    with raises(Indeterminate, f"{x!r} is at the edge of float32's range"):
        ops.add(T([TOP32], "float32"), T([2.0**105], "float32"), P)
    with raises(Indeterminate, f"{-x!r} is at the edge of float32's range"):
        ops.sub(T([-TOP32], "float32"), T([2.0**105], "float32"), P)


def test_float32_overflow_exactly_at_the_edge_is_indeterminate() -> None:
    """x - e = top (1 + u) exactly (x = 2^128 + 2^106, e = 2^106 + 2^80): the edge is
    included."""
    a = T([2.0**127], "float32", bounds=[2.0**105 - 7 * 2.0**80])
    b = T([2.0**127 + 2.0**106], "float32")
    assert B.elementwise("add", 2.0**128 + 2.0**106, 2.0**105 - 7 * 2.0**80, "float32") == 2.0**106 + 2.0**80
    with raises(Indeterminate, f"{2.0**128 + 2.0**106!r} is at the edge of float32's range"):
        ops.add(a, b, P)


def test_comparisons_are_elementwise_and_broadcast() -> None:
    a = T([1.0, 2.0, 3.0], shape=(3, 1))
    b = T([2.0, 3.0], shape=(1, 2))
    assert ops.eq(a, b).values == [False, False, True, False, False, True]
    assert ops.lt(a, b).values == [True, True, False, True, False, False]
    assert ops.gt(a, b).values == [False, False, False, False, True, False]
    r = ops.lt(T([1, 5], "int64"), 3, P)
    assert (r.shape, r.dtype, r.values, r.unsure) == ((2,), "bool", [True, False], None)
    assert ops.gt(3, T([1, 5], "int64"), P).values == [True, False]
    assert ops.lt(T([1, 5], "int64"), 2.5, P).values == [True, False]


def test_comparisons_round_a_python_float_to_the_tensors_dtype_first() -> None:
    x = T([f32(0.1)], "float32")
    assert ops.eq(x, 0.1, P).values == [True]
    assert ops.eq(0.1, x, P).values == [True]
    assert ops.eq(x, 0.1).values == [False]  # without a policy: no conversion
    assert ops.lt(x, 0.1, P).values == [False]
    # f32(0.1) is above 0.1: compared unconverted, 0.1 < f32(0.1)
    assert ops.lt(0.1, x, P).values == [False]
    assert ops.gt(x, 0.1, P).values == [False]
    assert ops.gt(x, 0.1).values == [True]


def test_comparisons_within_the_bounds_are_unsure() -> None:
    x = T([1.0, 1.0, 1.0, NAN, 1.0], bounds=[0.5, 0.5, 0.25, 0.5, 0.5])
    y = T([1.2, 2.0, 1.5, 1.0, 0.0], bounds=[0.0, 0.0, 0.25, 0.0, 0.0])
    r = ops.lt(x, y, P64)
    assert r.values == [True, True, True, False, False]
    assert r.unsure == [True, False, True, False, False]
    assert ops.eq(T([1.0]), T([1.0])).unsure is None


def test_neg_negates_and_keeps_the_bounds() -> None:
    r = ops.neg(T([1.0, -2.0], bounds=[0.5, 0.0]))
    assert (r.dtype, r.values, r.bounds) == ("float64", [-1.0, 2.0], [0.5, 0.0])
    assert ops.neg(T([3], "int32")).values == [-3]
    with raises(TypeError, "negation of a bool tensor is not defined"):
        ops.neg(T([True], "bool"))


def test_abs_takes_magnitudes_and_keeps_the_bounds() -> None:
    r = ops.abs_(T([1.0, -2.0], bounds=[0.5, 0.25]))
    assert (r.values, r.bounds) == ([1.0, 2.0], [0.5, 0.25])
    assert ops.abs_(T([-3], "int32")).values == [3]
    r = ops.abs_(T([True, False], "bool"))
    assert (r.dtype, r.values) == ("bool", [True, False])


def test_exp_is_elementwise_in_the_default_float_for_integers() -> None:
    r = ops.exp(T([0, 1], "int64"), P64)
    assert (r.dtype, r.values) == ("float64", [1.0, math.exp(1)])
    assert r.bounds == [approx(9 * U64 + F64), approx(9 * U64 * math.e + F64)]
    r = ops.exp(T([-INF, INF, NAN, 1000.0]), P64)
    assert same(r.values, [0.0, INF, NAN, INF])
    assert r.bounds == [F64, 0.0, 0.0, 0.0]
    assert ops.exp(T([0.0], "float32"), P64).dtype == "float32"


def test_exp_bound_propagates_the_input_bound() -> None:
    r = ops.exp(T([1.0], bounds=[0.01]), P64)
    assert r.bounds == [approx(math.e * math.expm1(0.01) + 9 * U64 * math.e + F64)]
    r = ops.exp(T([1000.0], bounds=[0.01]), P64)
    assert r.values == [INF] and r.bounds is None


def test_exp_that_overflows_float32_is_an_infinity() -> None:
    r = ops.exp(T([89.0], "float32"), P)
    assert r.values == [INF]


# -- reductions ---------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -3])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_over_an_axis_with_keepdims(axis: int | None, keepdims: bool) -> None:
    a = np.arange(24, dtype=np.int64).reshape(2, 3, 4) * np.array([1, -3, 7, 2])
    r = ops.sum_(A(a), axis, keepdims, P)
    expected = a.sum(axis=axis, keepdims=keepdims)
    assert (r.shape, r.dtype, r.values) == (expected.shape, "int64", expected.reshape(-1).tolist())
    rf = ops.sum_(A(a.astype(np.float64)), axis, keepdims, P)
    assert (rf.shape, rf.values) == (expected.shape, expected.astype(np.float64).reshape(-1).tolist())


@pytest.mark.parametrize("axis", [None, 0, -1])
def test_sum_of_a_zero_dimensional_tensor_is_itself(axis: int | None) -> None:
    r = ops.sum_(T([3.0], shape=()), axis, False, P64)
    assert (r.shape, r.values) == ((), [3.0])
    r = ops.sum_(T([3.0], shape=()), axis, True, P64)
    assert r.shape == ()


def test_sum_over_an_axis_out_of_range_is_rejected() -> None:
    with raises(IndexError, "axis 1 is out of range for a 0-d tensor"):
        ops.sum_(T([3.0], shape=()), 1, False, P)
    with raises(IndexError, "axis -3 is out of range for a 2-d tensor"):
        ops.mean(T([3.0], shape=(1, 1)), -3, False, P)


def test_sum_of_an_empty_tensor_is_zero() -> None:
    r = ops.sum_(T([], shape=(0,)), None, False, P64)
    assert (r.shape, r.values) == ((), [0.0])
    r = ops.sum_(T([], shape=(2, 0)), 1, False, P64)
    assert r.values == [0.0, 0.0]


@pytest.mark.parametrize(("policy", "dtype", "expected"), [
    (P, "bool", "int64"),
    (P, "int32", "int64"),
    (DtypePolicy(default_int="int32"), "int64", "int64"),
    (DtypePolicy(default_int="int32"), "bool", "int32"),
    (DtypePolicy(default_int="int32", int_accumulator="default"), "int64", "int32"),
    (DtypePolicy(default_int="int64", int_accumulator="default"), "int32", "int64"),
    (P32, "int32", "int32"),
    (P, "float32", "float32"),
])
def test_sum_and_cumsum_accumulate_in_the_policys_integer(policy: DtypePolicy, dtype: str,
                                                          expected: str) -> None:
    x = T([1, 1, 0], dtype) if dtype != "float32" else T([1.0, 1.0, 0.0], dtype)
    r = ops.sum_(x, None, False, policy)
    assert r.dtype == expected and r.values == [2]
    assert ops.cumsum(x, 0, policy).dtype == expected


def test_sum_with_an_unknown_accumulator_policy_is_rejected() -> None:
    with raises(ValueError, "unknown int_accumulator 'wide' in the dtype policy; "
                            "expected 'at_least_default' or 'default'"):
        ops.sum_(T([1], "int32"), None, False, DtypePolicy(int_accumulator="wide"))


def test_an_integer_sum_that_does_not_fit_is_indeterminate() -> None:
    with raises(Indeterminate, "2147483648 does not fit int32"):
        ops.sum_(T([2**31 - 1, 1], "int32"), None, False, DtypePolicy(default_int="int32"))


def test_sum_is_correctly_rounded_not_accumulated() -> None:
    r = ops.sum_(T([1e16, 1.0, -1e16, 1.0]), None, False, P64)
    assert r.values == [2.0]
    r = ops.sum_(T([1.0, 2.0**-24, 2.0**-24], "float32"), None, False, P)
    assert r.values == [1.0 + 2.0**-23]


def test_sum_bound_is_the_summation_bound_of_the_group() -> None:
    x = T([1.0, -2.0, 4.0, 8.0], shape=(2, 2), bounds=[0.1, 0.0, 0.2, 0.0])
    r = ops.sum_(x, None, False, P64)
    assert r.values == [11.0]
    assert r.bounds == [approx(0.3 + gamma(3, U64) * 15 + U64 * 11 + 4 * F64)]
    r = ops.sum_(x, 1, False, P64)
    assert r.values == [-1.0, 12.0]
    assert r.bounds == [approx(0.1 + gamma(1, U64) * 3 + U64 + 2 * F64),
                        approx(0.2 + gamma(1, U64) * 12 + U64 * 12 + 2 * F64)]


def test_sum_with_infinite_terms_is_ieee() -> None:
    r = ops.sum_(T([INF, 1.0, NAN, -INF, 2.0, 3.0], shape=(3, 2)), 1, False, P64)
    assert same(r.values, [INF, NAN, 5.0])
    assert r.bounds[0] == INF and r.bounds[2] == approx(gamma(1, U64) * 5 + U64 * 5 + 2 * F64)
    r = ops.sum_(T([INF, -INF]), None, False, P64)
    assert same(r.values, [NAN])
    r = ops.sum_(T([NAN, 3e38, 3e38], "float32"), None, False, P)
    assert same(r.values, [NAN])


def test_an_infinite_term_with_finite_terms_that_may_overflow_is_indeterminate() -> None:
    with raises(Indeterminate, "an infinite term added to finite terms whose partial sums may "
                               "pass float32's range (inf + -inf = nan in some orders)"):
        ops.sum_(T([-INF, 3e38, 3e38], "float32"), None, False, P)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_float32_sum_beyond_the_range_in_every_order_is_an_exact_infinity(sign: float) -> None:
    r = ops.sum_(T([sign * 3e38, sign * 3e38, sign * 1.0], "float32"), None, False, P)
    assert r.values == [sign * INF] and r.bounds is None
    # the other side is too small to reach the range: still beyond in every order
    r = ops.sum_(T([sign * 3e38, sign * 3e38, -sign * 1e38], "float32"), None, False, P)
    assert r.values == [sign * INF]
    # float64 terms whose exact sum is beyond float64 (math.fsum overflows on the way)
    r = ops.sum_(T([sign * 1.7e308, sign * 1.7e308]), None, False, P64)
    assert r.values == [sign * INF]


def test_a_float32_sum_with_an_infinite_input_bound_is_not_judged() -> None:
    r = ops.sum_(T([3e38, 3e38], "float32", bounds=[INF, 0.0]), None, False, P)
    assert r.values == [INF] and r.bounds == [INF]


OVERFLOW_MESSAGE = ("a sum of {n} terms whose partial sums may pass float32's largest finite "
                    "value in one order and not in another (exact sum {total!r})")


@pytest.mark.parametrize(("terms", "bounds"), [
    ([TOP32 / 2, TOP32 / 2], None),  # exactly the largest value: at the edge
    ([-TOP32 / 2, -TOP32 / 2], None),
    ([3e38, 3e38, -3e38, -3e38], None),  # both signs reach the range
    ([3e38, 3e38, 3e38, 3e38, -3e38, -3e38], None),  # beyond, but -inf is reachable too
    ([-3e38, -3e38, -3e38, -3e38, 3e38, 3e38], None),
    ([TOP32 / 2, TOP32 / 4], [TOP32 / 4, TOP32 / 4]),  # the inputs' bounds reach the range
    ([-TOP32 / 2, -TOP32 / 4], [TOP32 / 4, TOP32 / 4]),
    ([3e38, 3e38], [2e38, 2e38]),  # beyond, but not by more than the inputs' bounds
    ([TOP32, 2.0**105], None),  # beyond by less than the rounding of the sum
    # beyond by less than the rounding of the terms of both signs, gamma_3 (sum |t|)
    ([TOP32, 1.0000009821490494e38, -1e38], None),
    ([3e38, 1e38], [0.5e38, 0.5e38]),  # beyond by less than the inputs' bounds
])
def test_a_float32_sum_that_may_overflow_in_some_orders_only_is_indeterminate(
        terms: list[float], bounds: list[float] | None) -> None:
    terms = [f32(t) for t in terms]
    total = float(sum((Fraction(t) for t in terms), Fraction(0)))
    with raises(Indeterminate, OVERFLOW_MESSAGE.format(n=len(terms), total=total)):
        ops.sum_(T(terms, "float32", bounds=bounds), None, False, P)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_sum_whose_reach_is_exactly_the_largest_value_is_within_the_range(sign: float) -> None:
    """|t| (1 + gamma_1) + bound = top exactly: no order passes the largest finite value."""
    reach = (TOP32 / 2) * (1 + B.gamma(1, "float32"))
    bound = TOP32 - reach
    assert reach + bound == TOP32
    r = ops.sum_(T([sign * TOP32 / 2], "float32", bounds=[bound]), None, False, P)
    assert r.values == [sign * TOP32 / 2]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_sum_past_the_range_by_exactly_its_margin_is_indeterminate(sign: float) -> None:
    """|above - below| - (gamma_4 (above + below) + bound) = top (1 + u) exactly (the terms
    are powers of two chosen so that the bound that makes it exact is a float64): not
    beyond the range; one ulp less of bound and it is beyond, an infinity."""
    terms = [2.0**127, 2.0**127, 2.0**127 + 2.0**106 + 2.0**104, -(2.0**127 - 2.0**106 - 2.0**104)]
    above = sum((Fraction(t) for t in terms if t > 0), Fraction(0))
    below = sum((Fraction(-t) for t in terms if t < 0), Fraction(0))
    edge = Fraction(TOP32) * (1 + Fraction(U32))
    exact_bound = above - below - Fraction(B.gamma(4, "float32")) * (above + below) - edge
    bound = float(exact_bound)
    assert Fraction(bound) == exact_bound
    x = T([sign * t for t in terms], "float32", bounds=[bound, 0.0, 0.0, 0.0])
    total = sign * float(above - below)
    with raises(Indeterminate, OVERFLOW_MESSAGE.format(n=4, total=total)):
        ops.sum_(x, None, False, P)
    x = T([sign * t for t in terms], "float32", bounds=[math.nextafter(bound, 0.0), 0.0, 0.0, 0.0])
    assert ops.sum_(x, None, False, P).values == [sign * INF]


def test_an_infinite_term_with_finite_terms_that_overflow_in_some_orders_is_indeterminate() -> None:
    with raises(Indeterminate, OVERFLOW_MESSAGE.format(n=4, total=INF)):
        ops.sum_(T([INF] + [f32(3e38)] * 2 + [-f32(3e38)] * 2, "float32"), None, False, P)


def test_the_overflow_message_gives_the_exact_sum_even_past_float64() -> None:
    with raises(Indeterminate, "a sum of 3 terms whose partial sums may pass float64's largest "
                               "finite value in one order and not in another (exact sum 1e+308)"):
        ops.sum_(T([1e308, 1e308, -1e308]), None, False, P64)


def test_the_overflow_message_gives_the_exact_sum_where_float64_partial_sums_overflow() -> None:
    with raises(Indeterminate, "a sum of 5 terms whose partial sums may pass float64's largest "
                               "finite value in one order and not in another (exact sum 0.5)"):
        ops.sum_(T([1e308, 1e308, -1e308, -1e308, 0.5]), None, False, P64)


def test_a_float32_sum_beyond_the_range_by_more_than_the_bounds_overflows() -> None:
    r = ops.sum_(T([3e38, 3e38], "float32", bounds=[1e38, 1e38]), None, False, P)
    assert r.values == [INF]
    r = ops.sum_(T([3e38, 1e38], "float32", bounds=[0.1e38, 0.1e38]), None, False, P)
    assert r.values == [INF]
    r = ops.sum_(T([f32(TOP32), f32(1.00001e38), -1e38], "float32"), None, False, P)
    assert r.values == [INF]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_float32_sum_whose_terms_stay_within_the_range_is_not_judged_for_overflow(sign: float) -> None:
    """Terms of one sign summing to 2e38 reach at most 2e38 (1 + gamma_n) in any order."""
    r = ops.sum_(T([sign * 2e38, -sign * 1e38], "float32"), None, False, P)
    assert r.values == [sign * f32(f32(2e38) - f32(1e38))]
    r = ops.cumsum(T([sign * 1e38, sign * 1e38, -sign * 1e38], "float32"), 0, P)
    assert r.values == [sign * f32(1e38), sign * f32(2e38), sign * f32(1e38)]


def test_mean_divides_the_exact_sum_by_the_count() -> None:
    r = ops.mean(T([1.0, 2.0, 4.0]), None, False, P64)
    assert (r.shape, r.values) == ((), [float(Fraction(7, 3))])
    assert r.bounds == [approx((gamma(2, U64) * 7 + U64 * 7 + 3 * F64) / 3
                               + 2 * U64 * 7 / 3 + F64)]
    r = ops.mean(T([1e16, 1.0, 1.0, 2.0, -1e16, 3.0], shape=(3, 2)), 0, True, P64)
    assert (r.shape, r.values) == ((1, 2), [float(Fraction(1, 3)), 2.0])
    r = ops.mean(T([1.0, -1.0, 0.0]), None, False, P64)
    assert r.values == [0.0]


def test_mean_bound_carries_the_inputs_bounds() -> None:
    r = ops.mean(T([1.0, 3.0], bounds=[0.5, 0.25]), None, False, P64)
    assert r.values == [2.0]
    assert r.bounds == [approx((0.75 + gamma(1, U64) * 4 + U64 * 4 + 2 * F64) / 2 + 2 * U64 * 2 + F64)]


def test_mean_of_integers_is_in_the_default_float() -> None:
    r = ops.mean(T([1, 2, 4], "int64"), None, False, P64)
    assert (r.dtype, r.values) == ("float64", [float(Fraction(7, 3))])
    s_bound = gamma(2, U64) * 7 + U64 * 7 + 3 * F64
    assert r.bounds == [approx(s_bound / 3 + 2 * U64 * 7 / 3 + F64)]
    r = ops.mean(T([-1, -2], "int32", shape=(2, 1)), 1, False, P)
    assert (r.dtype, r.values) == ("float32", [-1.0, -2.0])
    assert ops.mean(T([1.0], "float32"), None, False, P64).dtype == "float32"


def test_mean_of_no_elements_is_nan() -> None:
    r = ops.mean(T([], shape=(2, 0)), 1, False, P64)
    assert same(r.values, [NAN, NAN]) and r.bounds is None


def test_mean_of_infinite_terms_is_ieee() -> None:
    r = ops.mean(T([INF, 1.0, INF, -INF]), None, False, P64)
    assert same(r.values, [NAN])
    r = ops.mean(T([-INF, 1.0]), None, False, P64)
    assert r.values == [-INF]


def test_the_mean_of_finite_values_whose_sum_overflows_is_indeterminate() -> None:
    with raises(Indeterminate, "the mean of 2 finite values whose sum passes float32's range: "
                               "whether a backend scales before summing is not documented"):
        ops.mean(T([3e38, 3e38], "float32"), None, False, P)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_cumsum_is_inclusive_along_the_axis_and_keeps_the_shape(axis: int) -> None:
    a = np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int64)
    r = ops.cumsum(A(a), axis, P)
    assert (r.shape, r.dtype, r.bounds) == ((2, 3), "int64", None)
    assert r.values == np.cumsum(a, axis=axis).reshape(-1).tolist()
    rf = ops.cumsum(A(a.astype(np.float64)), axis, P)
    assert rf.values == np.cumsum(a, axis=axis).astype(np.float64).reshape(-1).tolist()


def test_cumsum_counts_booleans() -> None:
    r = ops.cumsum(T([True, False, True], "bool"), 0, P)
    assert (r.dtype, r.values) == ("int64", [1, 1, 2])


def test_cumsum_of_a_zero_dimensional_tensor_is_itself() -> None:
    r = ops.cumsum(T([2.5], shape=(), bounds=[0.5]), -1, P64)
    assert (r.shape, r.values, r.bounds) == ((), [2.5], [0.5])
    r = ops.cumsum(T([3], "int32", shape=()), 0, P)
    assert (r.dtype, r.values) == ("int64", [3])
    with raises(IndexError, "axis 1 is out of range for a 1-d tensor"):
        ops.cumsum(T([2.5], shape=()), 1, P64)
    with raises(IndexError, "axis 2 is out of range for a 2-d tensor"):
        ops.cumsum(T([2.5], shape=(1, 1)), 2, P64)


def test_cumsum_bound_of_each_prefix_is_its_summation_bound() -> None:
    r = ops.cumsum(T([1.0, -2.0, 4.0], bounds=[0.1, 0.0, 0.2]), 0, P64)
    assert r.values == [1.0, -1.0, 3.0]
    assert r.bounds == [approx(0.1 + U64 + F64),
                        approx(0.1 + gamma(1, U64) * 3 + U64 + 2 * F64),
                        approx(0.3 + gamma(2, U64) * 7 + U64 * 3 + 3 * F64)]


def test_cumsum_prefixes_are_correctly_rounded() -> None:
    r = ops.cumsum(T([1e16, 1.0, -1e16]), 0, P64)
    assert r.values == [1e16, 1e16, 1.0]


# -- products -----------------------------------------------------------------------------
def test_dot_is_the_correctly_rounded_inner_product() -> None:
    r = ops.dot(T([1e16, 1.0, -1e16]), T([1.0, 1.0, 1.0]), P64)
    assert (r.shape, r.values) == ((), [1.0])
    r = ops.dot(T([1, 2, 3], "int32"), T([4, -5, 6], "int32"), P)
    assert (r.dtype, r.values, r.bounds) == ("int32", [12], None)
    r = ops.dot(T([1, 2], "int32"), T([0.5, 0.25], "float32"), P)
    assert (r.dtype, r.values) == ("float32", [1.0])


def test_dot_bound_is_the_inner_product_bound() -> None:
    r = ops.dot(T([1.0, 2.0], bounds=[0.1, 0.0]), T([3.0, -4.0], bounds=[0.0, 0.2]), P64)
    assert r.values == [-5.0]
    assert r.bounds == [approx(0.3 + 0.4 + gamma(2, U64) * 11 + U64 * 5 + 3 * F64)]
    r = ops.dot(T([2.0], bounds=[0.5]), T([3.0], bounds=[0.25]), P64)
    assert r.bounds == [approx(1.5 + 0.5 + 0.125 + gamma(1, U64) * 6 + U64 * 6 + 2 * F64)]


def test_dot_with_infinite_or_nan_terms_is_ieee() -> None:
    r = ops.dot(T([INF, 1.0]), T([2.0, 3.0]), P64)
    assert r.values == [INF]
    r = ops.dot(T([-INF, 1.0]), T([2.0, 3.0]), P64)
    assert r.values == [-INF]
    r = ops.dot(T([INF, 1.0]), T([0.0, 3.0]), P64)
    assert same(r.values, [NAN])


def test_dot_beyond_float64_is_an_infinity() -> None:
    """Products of finite float64 inputs that pass float64's range (1e200 * 1e200):
    the exact products decide (this raised OverflowError, Fraction(inf), before)."""
    r = ops.dot(T([1e200, -1e200]), T([1e200, 1e100]), P64)
    assert r.values == [INF] and r.bounds is None
    r = ops.dot(T([-1e200]), T([1e200]), P64)
    assert r.values == [-INF]
    r = ops.mm(T([1e200, 1.0], shape=(1, 2)), T([1e200, 1.0], shape=(2, 1)), P64)
    assert r.values == [INF]


def test_products_past_float64_that_cancel_are_indeterminate() -> None:
    with raises(Indeterminate, "a sum of 2 terms whose partial sums may pass float64's largest "
                               "finite value in one order and not in another (exact sum 0.0)"):
        ops.dot(T([1e200, -1e200]), T([1e200, 1e200]), P64)


@pytest.mark.parametrize(("x", "y"), [((2,), (3,)), ((2, 2), (2, 2)), ((2,), (1, 2)), ((), ())])
def test_dot_needs_two_vectors_of_the_same_length(x: tuple[int, ...], y: tuple[int, ...]) -> None:
    with raises(ShapeError, f"dot needs two vectors of the same length, got {x} and {y}"):
        ops.dot(T([1.0] * math.prod(x), shape=x), T([1.0] * math.prod(y), shape=y), P)


def test_mv_gives_the_dot_of_each_row_with_the_vector() -> None:
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = np.array([1.0, -1.0, 2.0])
    r = ops.mv(A(a), A(x), P64)
    assert (r.shape, r.values) == ((2,), (a @ x).tolist())
    r = ops.mv(T([1.0, 2.0, 3.0, 4.0], shape=(2, 2), bounds=[0.0, 0.1, 0.0, 0.0]),
               T([1.0, 1.0], bounds=[0.0, 0.2]), P64)
    assert r.values == [3.0, 7.0]
    assert r.bounds == [approx(0.1 + 0.4 + 0.02 + gamma(2, U64) * 3 + U64 * 3 + 3 * F64),
                        approx(4 * 0.2 + gamma(2, U64) * 7 + U64 * 7 + 3 * F64)]
    assert ops.mv(T([1, 2], "int32", shape=(1, 2)), T([1, 1], "int64"), P).dtype == "int64"
    assert ops.mv(T([1, 2], "int32", shape=(1, 2)), T([1.0, 1.0], "float32"), P).dtype == "float32"


@pytest.mark.parametrize(("a", "x"), [((2, 3), (2,)), ((3,), (3,)), ((2, 3), (3, 1)), ((1, 2, 3), (3,))])
def test_mv_needs_a_matrix_and_a_vector_of_its_width(a: tuple[int, ...], x: tuple[int, ...]) -> None:
    with raises(ShapeError, f"mv needs (m, n) and (n,), got {a} and {x}"):
        ops.mv(T([1.0] * math.prod(a), shape=a), T([1.0] * math.prod(x), shape=x), P)


def test_mm_column_j_is_mv_of_column_j() -> None:
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    b = np.array([[1, -1], [0, 2], [3, 1]], dtype=np.int64)
    r = ops.mm(A(a), A(b), P)
    assert (r.shape, r.dtype, r.values) == ((2, 2), "int64", (a @ b).reshape(-1).tolist())
    r = ops.mm(T([1.0, 2.0], shape=(1, 2), bounds=[0.1, 0.0]),
               T([3.0, 4.0, 5.0, 6.0], shape=(2, 2), bounds=[0.0, 0.0, 0.0, 0.2]), P64)
    assert r.values == [13.0, 16.0]
    assert r.bounds == [approx(0.3 + gamma(2, U64) * 13 + U64 * 13 + 3 * F64),
                        approx(0.4 + 0.4 + gamma(2, U64) * 16 + U64 * 16 + 3 * F64)]
    assert ops.mm(T([1], "int32", shape=(1, 1)), T([1.0], "float32", shape=(1, 1)), P).dtype == "float32"
    r = ops.mm(T([1.0, 2.0, 3.0, 4.0], shape=(2, 2), bounds=[0.0, 0.0, 0.5, 0.25]),
               T([1.0, 1.0], shape=(2, 1)), P64)
    assert r.values == [3.0, 7.0]
    assert r.bounds == [approx(gamma(2, U64) * 3 + U64 * 3 + 3 * F64),
                        approx(0.75 + gamma(2, U64) * 7 + U64 * 7 + 3 * F64)]


@pytest.mark.parametrize(("a", "b"), [((2, 3), (2, 2)), ((3,), (3, 1)), ((2, 3), (3,)), ((1, 2, 3), (3, 1))])
def test_mm_needs_two_matrices_of_matching_inner_size(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    with raises(ShapeError, f"mm needs (n, k) and (k, m), got {a} and {b}"):
        ops.mm(T([1.0] * math.prod(a), shape=a), T([1.0] * math.prod(b), shape=b), P)


def test_rows_split_a_tensor_into_its_last_axis() -> None:
    rows, bnds = ops._rows(T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape=(3, 2),
                             bounds=[0.0, 0.5, 1.0, 1.5, 2.0, 2.5]))
    assert rows == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert bnds == [[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]
    rows, _ = ops._rows(T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape=(1, 2, 3)))
    assert rows == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert ops._rows(T([], shape=(2, 0))) == ([[], []], [[], []])


# -- norm -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "p", "expected"), [
    ([3.0, -4.0], 1, 7.0),
    ([3.0, -4.0], 2, 5.0),
    ([3.0, -4.0, 0.0], 2.0, 5.0),
    ([1.0, 1.0], 2, math.sqrt(2.0)),  # IEEE sqrt is correctly rounded
    ([3.0, 4.0, -5.0], 3, 6.0),  # 27 + 64 + 125 = 216
    ([1.0, -4.0, 0.0], 0.5, 9.0),  # (1 + 2)^2
    ([0.0, -0.0], 3, 0.0),
    ([0.0, 0.0], 2, 0.0),
    ([2.0], 3, 2.0),
    ([1.0], 2, 1.0),
    ([-0.5, 0.0], 2, 0.5),
])
def test_norm_is_the_lp_norm_over_all_entries(values: list[float], p: float, expected: float) -> None:
    r = ops.norm(T(values, shape=(len(values),)), p, P64)
    assert (r.shape, r.dtype) == ((), "float64")
    assert same(r.values, [expected])


def test_norm_of_a_matrix_is_frobenius_and_keeps_the_dtype() -> None:
    r = ops.norm(T([1.0, 2.0, 2.0, 4.0], "float32", shape=(2, 2)), 2, P)
    assert (r.dtype, r.values) == ("float32", [5.0])


def test_norm_with_nan_or_inf_entries() -> None:
    assert same(ops.norm(T([1.0, NAN, INF]), 2, P64).values, [NAN])
    assert same(ops.norm(T([INF, NAN]), 2, P64).values, [NAN])
    assert ops.norm(T([1.0, -INF]), 3, P64).values == [INF]


def test_norm_beyond_the_range_is_an_infinity() -> None:
    assert ops.norm(T([1.5e308, 1.5e308]), 2, P64).values == [INF]
    assert ops.norm(T([3e38, 3e38], "float32"), 2, P).values == [INF]


def test_norm_bound_propagates_the_inputs_bounds() -> None:
    r = ops.norm(T([3.0, 4.0], bounds=[0.1, 0.2]), 2, P64)
    assert r.bounds == [approx(B.norm(2, 2, 5.0, 3 / 5 * 0.1 + 4 / 5 * 0.2, "float64"))]
    r = ops.norm(T([3.0, 4.0], bounds=[0.1, 0.2]), 1, P64)
    assert r.bounds == [approx(B.norm(2, 1, 7.0, 0.3, "float64"))]
    r = ops.norm(T([0.0, 0.0], bounds=[0.1, 0.2]), 2, P64)
    assert r.bounds == [approx(B.norm(2, 2, 0.0, 0.3, "float64"))]
    r = ops.norm(T([3.0, 4.0]), 3, P64)
    assert r.bounds == [approx(B.norm(2, 3, r.values[0], 0.0, "float64"))]


def test_norm_rejects_integers_and_p_at_most_zero() -> None:
    with raises(TypeError, "norm is documented for floating tensors"):
        ops.norm(T([1, 2], "int64"), 2, P)
    for p in (0, -1.0):
        with raises(ValueError, "the Lp norm needs p > 0"):
            ops.norm(T([1.0]), p, P)


@pytest.mark.parametrize("seed", range(5))
def test_the_l2_norm_is_correctly_rounded(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-5, 5) for _ in range(5)]
    exact = sum((Fraction(v) ** 2 for v in values), Fraction(0))
    got = ops.norm(T(values), 2, P64).values[0]
    # the correctly rounded root r: r^2 is the closest of r's neighbours' squares to exact
    below, above = math.nextafter(got, 0), math.nextafter(got, INF)
    assert abs(Fraction(got) ** 2 - exact) <= min(abs(Fraction(below) ** 2 - exact),
                                                  abs(Fraction(above) ** 2 - exact))


# -- indexing -------------------------------------------------------------------------------
GRID = np.arange(24, dtype=np.int64).reshape(2, 3, 4)


@pytest.mark.parametrize("key", [
    0, -1, 1, (1, 2), (0, -3, 3), (-2, 0, -4), slice(None), slice(1, None), (slice(None), 1),
    (Ellipsis, 1), (1, Ellipsis), (0, Ellipsis, 2), (Ellipsis,), Ellipsis, (0, 1, 2, Ellipsis),
    (Ellipsis, 0, 1, 2), (slice(None, None, 2), slice(0, 3, 2), slice(-3, None)),
    (slice(5, 9),), (1, slice(2, 0)), (slice(0, 2, 1),), (slice(None), slice(None), slice(None, None, 3)),
    (), (1, Ellipsis, slice(1, 3)),
])
def test_getitem_is_basic_indexing(key: Any) -> None:
    r = ops.getitem(A(GRID), key)
    expected = GRID[key]
    assert (r.shape, r.values) == (expected.shape, expected.reshape(-1).tolist())


def test_getitem_carries_the_bounds() -> None:
    x = T([1.0, 2.0, 3.0], bounds=[0.1, 0.2, 0.3])
    assert ops.getitem(x, slice(1, None)).bounds == [0.2, 0.3]


@pytest.mark.parametrize(("key", "exc", "message"), [
    (2, IndexError, "index 2 is out of bounds for an axis of size 2"),
    (-3, IndexError, "index -3 is out of bounds for an axis of size 2"),
    ((0, 3), IndexError, "index 3 is out of bounds for an axis of size 3"),
    ((0, 0, 0, 0), IndexError, "too many indices for a 3-d tensor: 4"),
    ((Ellipsis, 0, Ellipsis), IndexError, "an index can only have a single ellipsis"),
    ((0, 0, 0, Ellipsis, 0), IndexError, "too many indices for a 3-d tensor: 4"),
    (True, IndexError, "unsupported index True"),
    (1.0, IndexError, "unsupported index 1.0"),
    ((0, None), IndexError, "unsupported index None"),
    (slice(None, None, 0), ValueError, "slice step must be positive"),
    (slice(None, None, -1), ValueError, "slice step must be positive"),
])
def test_getitem_rejects_what_basic_indexing_does_not_accept(key: Any, exc: type[Exception],
                                                             message: str) -> None:
    with raises(exc, message):
        ops.getitem(A(GRID), key)


def test_setitem_writes_a_scalar_into_the_region_of_x_itself() -> None:
    x = A(GRID.copy())
    values = x.values
    ops.setitem(x, (1, slice(None), 0), 99, P)
    expected = GRID.copy()
    expected[1, :, 0] = 99
    assert x.values is values and x.values == expected.reshape(-1).tolist()
    assert x.bounds is None


def test_setitem_broadcasts_a_tensor_into_the_region() -> None:
    x = A(GRID.copy())
    ops.setitem(x, (Ellipsis, slice(0, 2)), T([-1, -2], "int64"), P)
    expected = GRID.copy()
    expected[..., 0:2] = [-1, -2]
    assert x.values == expected.reshape(-1).tolist()


def test_setitem_converts_to_the_dtype_of_x() -> None:
    x = T([0, 0], "int32")
    ops.setitem(x, 0, 2.7, P)
    assert x.values == [2, 0]
    y = T([0.0, 0.0], "float32")
    ops.setitem(y, slice(None), T([0.1, 0.2]), P)
    assert y.values == [f32(0.1), f32(0.2)]
    with raises(Indeterminate, "2147483648 does not fit int32"):
        ops.setitem(x, 1, 2**31, P)


def test_setitem_rejects_a_value_that_does_not_fit_the_region() -> None:
    x = T([0.0] * 6, shape=(2, 3))
    with raises(ShapeError, "shapes (2,) and (3,) are not broadcastable"):
        ops.setitem(x, 0, T([1.0, 2.0]), P)
    with raises(ShapeError, "cannot write shape (2, 3) into region (3,)"):
        ops.setitem(x, 0, T([1.0] * 6, shape=(2, 3)), P)
    with raises(ShapeError, "cannot write shape (1, 3) into region (3,)"):
        ops.setitem(x, 0, T([1.0] * 3, shape=(1, 3)), P)


def test_setitem_writes_the_values_bounds() -> None:
    x = T([1.0, 2.0, 3.0])
    ops.setitem(x, slice(1, None), T([5.0, 6.0], bounds=[0.5, 0.25]), P)
    assert (x.values, x.bounds) == ([1.0, 5.0, 6.0], [0.0, 0.5, 0.25])
    ops.setitem(x, 2, 7.0, P)
    assert (x.values, x.bounds) == ([1.0, 5.0, 7.0], [0.0, 0.5, 0.0])
    ops.setitem(x, slice(None), T([8.0], bounds=[0.125]), P)
    assert x.bounds == [0.125] * 3
    i = T([1, 2], "int64")
    ops.setitem(i, 0, T([5.0], shape=(), bounds=[0.5]), P)
    assert (i.values, i.bounds) == ([5, 2], None)


def test_iadd_writes_the_sum_into_x_itself() -> None:
    x = T([1.0, 2.0], "float32", bounds=[0.5, 0.0])
    r = ops.iadd(x, T([0.25, 1.0], bounds=[0.0, 0.125]), P)
    assert r is x and (x.dtype, x.values) == ("float32", [1.25, 3.0])
    assert x.bounds == [approx(0.5 + 2 * U64 * 1.25 + F64), approx(0.125 + 2 * U64 * 3 + F64)]
    i = T([1, 2], "int32", shape=(2, 1))
    ops.iadd(i, T([10, 30], "int64", shape=(2, 1)), P)
    assert (i.dtype, i.values) == ("int32", [11, 32])
    ops.iadd(i, 1, P)
    assert i.values == [12, 33]


def test_iadd_needs_y_to_broadcast_to_x() -> None:
    with raises(ShapeError, "x += y: y of shape (2, 3) does not broadcast to (3,)"):
        ops.iadd(T([0.0] * 3), T([1.0] * 6, shape=(2, 3)), P)


def test_iadd_cannot_change_the_kind_of_x() -> None:
    with raises(TypeError, "x += y cannot store a float32 result in a int64 tensor"):
        ops.iadd(T([1], "int64"), 0.5, P)
    with raises(TypeError, "x += y cannot store a int64 result in a bool tensor"):
        ops.iadd(T([True], "bool"), T([1], "int64"), P)
