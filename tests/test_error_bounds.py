"""The error bounds of adapters/reference/bounds.py, term by term.

Each bound is a sum of documented terms (the backend's rounding, the reference's
rounding, the inputs' propagated bounds, the flush-to-zero floor).  The floor
(2^-126 in float32) vanishes next to the other terms in a float sum, so each term is
checked alone, with the others made zero: a wrong constant in any one of them (a
bound 2x too loose hides faults, 2x too tight fails correct backends) fails here.
"""

from __future__ import annotations

import math

import pytest

from tensor_conformance.adapters.reference import bounds

U32 = 2.0**-24
FLOOR32 = 2.0**-126
U64 = 2.0**-53
FLOOR64 = 2.0**-1022


def test_unit_roundoff_and_floor_are_the_dtypes() -> None:
    assert (bounds.unit("float32"), bounds.unit("float64")) == (U32, U64)
    assert (bounds.floor("float32"), bounds.floor("float64")) == (FLOOR32, FLOOR64)


def test_gamma_is_highams_n_u_over_one_minus_n_u() -> None:
    assert bounds.gamma(0, "float32") == 0.0
    assert bounds.gamma(1, "float32") == U32 / (1 - U32)
    assert bounds.gamma(3, "float64") == 3 * U64 / (1 - 3 * U64)
    assert bounds.gamma(2**23, "float32") == 1.0  # n u = 1/2: (1/2) / (1/2)


@pytest.mark.parametrize("n", [2**24, 2**24 + 1, 2**30])
def test_gamma_is_infinite_once_n_u_reaches_one(n: int) -> None:
    assert bounds.gamma(n, "float32") == math.inf


@pytest.mark.parametrize(("op", "ulps"), [
    ("add", 1.0), ("sub", 1.0), ("mul", 1.0), ("div", 1.0), ("sqrt", 1.0),
    ("int_div", 3.0), ("exp", 8.0), ("pow", 8.0),
])
def test_elementwise_bound_is_backend_plus_reference_rounding(op: str, ulps: float) -> None:
    """IEEE-correctly-rounded operations cost the backend 1 u, int/int division 3 u (two
    conversions), exp and pow 8 u (4 ulps); the reference adds its own 1 u."""
    assert bounds.elementwise(op, -3.0, 0.0, "float32") == pytest.approx((ulps + 1) * U32 * 3.0,
                                                                          rel=1e-12, abs=0)


def test_elementwise_bound_adds_the_propagated_bound_and_the_floor() -> None:
    assert bounds.elementwise("add", 0.0, 0.0, "float32") == FLOOR32
    assert bounds.elementwise("add", 0.0, 0.25, "float64") == pytest.approx(0.25, rel=1e-15, abs=0)
    assert bounds.elementwise("mul", 2.0, 0.5, "float32") == pytest.approx(0.5 + 4 * U32, rel=1e-12, abs=0)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_elementwise_bound_of_an_exact_infinity_or_nan_is_zero(value: float) -> None:
    assert bounds.elementwise("div", value, 1e-3, "float32") == 0.0


@pytest.mark.parametrize("propagated", [math.inf, math.nan])
def test_elementwise_bound_keeps_an_undecidable_input(propagated: float) -> None:
    """x / a zero that may carry either sign: the infinite (or nan) propagated bound is
    kept, so the element counts as undecided rather than as an exact infinity."""
    got = bounds.elementwise("div", math.inf, propagated, "float32")
    assert got == propagated or (math.isnan(got) and math.isnan(propagated))


def test_summation_bound_is_gamma_n_minus_one_of_the_magnitudes() -> None:
    assert bounds.summation(3, 10.0, 0.0, 0.0, "float32") == pytest.approx(
        bounds.gamma(2, "float32") * 10.0, rel=1e-12, abs=0)
    # one term is exact: only the floor remains
    assert bounds.summation(1, 10.0, 0.0, 0.0, "float32") == FLOOR32
    assert bounds.summation(0, 0.0, 0.0, 0.0, "float32") == 0.0


def test_summation_bound_adds_reference_rounding_propagation_and_a_floor_per_term() -> None:
    assert bounds.summation(1, 0.0, -5.0, 0.0, "float32") == pytest.approx(5 * U32, rel=1e-12, abs=0)
    assert bounds.summation(1, 0.0, 0.0, 0.125, "float32") == pytest.approx(0.125, rel=1e-12, abs=0)
    assert bounds.summation(3, 0.0, 0.0, 0.0, "float32") == 3 * FLOOR32


def test_inner_product_bound_is_gamma_n_of_the_products() -> None:
    assert bounds.inner_product(3, 10.0, 0.0, 0.0, "float32") == pytest.approx(
        bounds.gamma(3, "float32") * 10.0, rel=1e-12, abs=0)
    assert bounds.inner_product(1, 0.0, -5.0, 0.0, "float32") == pytest.approx(5 * U32, rel=1e-12, abs=0)
    assert bounds.inner_product(1, 0.0, 0.0, 0.125, "float32") == pytest.approx(0.125, rel=1e-12, abs=0)
    assert bounds.inner_product(3, 0.0, 0.0, 0.0, "float32") == 4 * FLOOR32


def test_mean_bound_scales_the_sum_bound_and_adds_two_roundings() -> None:
    assert bounds.mean(4, 1.0, 0.0, "float32") == pytest.approx(0.25, rel=1e-12, abs=0)
    assert bounds.mean(1, 0.0, -3.0, "float32") == pytest.approx(6 * U32, rel=1e-12, abs=0)
    assert bounds.mean(4, 0.0, 0.0, "float32") == FLOOR32


def test_mean_of_nothing_has_no_bound() -> None:
    assert bounds.mean(0, 1.0, 2.0, "float32") == 0.0


@pytest.mark.parametrize(("n", "p", "rel"), [
    # (c_term + n - 1) u / p + c_root u + u: exact terms for p = 1
    (1, 1, 1.0), (3, 1, 3.0),
    # p = 2: one multiplication per term, one sqrt
    (1, 2, 2.5), (3, 2, 3.5),
    # p = 3: pow on each term and for the root, 8 u each (ln 1 = 0)
    (1, 3, 8 / 3 + 9), (4, 3, 11 / 3 + 9),
])
def test_norm_bound_relative_part(n: int, p: float, rel: float) -> None:
    assert bounds.norm(n, p, 1.0, 0.0, "float64") == pytest.approx(1.01 * rel * U64, rel=1e-9, abs=0)


def test_norm_bound_for_other_p_adds_the_rounding_of_one_over_p() -> None:
    """v = S^fl(1/p): |ln v| u relative, for v above and below 1."""
    base = 8 / 3 + 9
    for v in (math.e, 1 / math.e):
        assert bounds.norm(1, 3, v, 0.0, "float64") == pytest.approx(1.01 * (base + 1) * U64 * v,
                                                                     rel=1e-9, abs=0)


@pytest.mark.parametrize(("p", "rel"), [(1, 1.0), (2, 2.5)])
def test_norm_bound_for_p_1_and_2_has_no_rounding_of_one_over_p(p: int, rel: float) -> None:
    """1/1 and 1/2 are exact (sqrt is its own correctly rounded operation)."""
    assert bounds.norm(1, p, math.e, 0.0, "float64") == pytest.approx(1.01 * rel * U64 * math.e,
                                                                       rel=1e-9, abs=0)


def test_norm_bound_of_a_zero_norm_is_the_flushed_terms_under_the_root() -> None:
    assert bounds.norm(4, 1, 0.0, 0.0, "float32") == pytest.approx(5 * FLOOR32, rel=1e-12, abs=0)
    assert bounds.norm(4, 2, 0.0, 0.0, "float32") == pytest.approx((4 * FLOOR32) ** 0.5, rel=1e-12, abs=0)
    assert bounds.norm(4, 3, 0.0, 0.0, "float32") == pytest.approx((4 * FLOOR32) ** (1 / 3),
                                                                   rel=1e-12, abs=0)


def test_norm_bound_adds_the_propagated_bound() -> None:
    assert bounds.norm(1, 2, 0.0, 0.5, "float64") == pytest.approx(0.5, rel=1e-12, abs=0)


def test_norm_bound_of_an_infinite_norm_is_infinite() -> None:
    assert bounds.norm(2, 3, math.inf, 0.0, "float64") == math.inf


@pytest.mark.parametrize(("inputs", "outputs", "roundings"), [
    (6, 3, 5),   # two reads per output: 2 products, 2 sums, one more
    (7, 3, 7),   # reads rounded up
    (4, 0, 9),   # no output elements: every input read once for the one output
    (0, 3, 3),   # nothing read: still one rounding
    (3, 3, 3),
])
def test_tangent_flush_counts_roundings_per_output_element(inputs: int, outputs: int,
                                                           roundings: int) -> None:
    assert bounds.tangent_flush(inputs, outputs, 2.0, "float32") == roundings * FLOOR32 * 2.0


def test_tangent_flush_of_a_zero_or_unknown_adjoint() -> None:
    assert bounds.tangent_flush(6, 3, 0.0, "float32") == 0.0
    assert bounds.tangent_flush(6, 3, math.inf, "float32") == math.inf
    assert bounds.tangent_flush(6, 3, math.nan, "float32") == math.inf
