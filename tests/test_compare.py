"""Comparison rules: exact where it must be, bounded for floats, never blind to NaN/inf."""

from __future__ import annotations

import numpy as np

from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.compare import against_printed, agree, compare, holds, value_mismatch
from tensor_conformance.observed import Observed
from tensor_conformance.printed import parse


def tensor(values: list, dtype: str, bounds: list | None = None, unsure: list | None = None) -> Observed:
    a = np.array(values, dtype=dtype)
    return Observed("tensor", a, dtype, a.shape,
                    bounds=None if bounds is None else np.array(bounds, dtype=np.float64),
                    unsure=None if unsure is None else np.array(unsure))


def test_floats_within_their_bound_agree_and_outside_do_not() -> None:
    want = np.array([1.0, 2.0])
    bounds = np.array([1e-6, 1e-6])
    assert value_mismatch("x", want, np.array([1.0 + 5e-7, 2.0]), bounds, None) is None
    m = value_mismatch("x", want, np.array([1.0, 2.0 + 2e-6]), bounds, None)
    assert m is not None and "[1]" in m.expected and "1 of 2" in m.difference


def test_nan_must_meet_nan_and_inf_the_same_inf() -> None:
    want = np.array([np.nan, np.inf, 1.0])
    zero = np.zeros(3)
    assert value_mismatch("x", want, np.array([np.nan, np.inf, 1.0]), zero, None) is None
    assert value_mismatch("x", want, np.array([0.0, np.inf, 1.0]), zero, None) is not None
    assert value_mismatch("x", want, np.array([np.nan, -np.inf, 1.0]), zero, None) is not None
    assert value_mismatch("x", want, np.array([np.nan, np.inf, np.nan]), zero, None) is not None


def test_integers_and_booleans_are_exact_except_unsure_comparisons() -> None:
    assert value_mismatch("x", np.array([1, 2]), np.array([1, 3]), None, None) is not None
    unsure = np.array([False, True])
    assert value_mismatch("x", np.array([True, True]), np.array([True, False]), None, unsure) is None


def test_dtype_shape_and_errors_are_compared() -> None:
    ref = tensor([1.0], "float32", [0.0])
    assert [m.problem for m in compare("x", ref, tensor([1.0], "float64"))] == ["dtype"]
    assert [m.problem for m in compare("x", ref, tensor([[1.0]], "float32"))] == ["shape"]
    raised = Observed("error", error="RuntimeError: no")
    assert [m.problem for m in compare("x", ref, raised)] == ["error"]
    assert compare("x", raised, Observed("error", error="ValueError: other")) == []


def test_python_values_compare_exactly() -> None:
    assert compare("n", Observed("python", (2, 3)), Observed("python", (2, 3))) == []
    assert compare("n", Observed("python", False), Observed("python", True))


def test_printed_output_uses_its_digits_and_the_backend_policy() -> None:
    printed = parse("tensor([0.1667, 0.5000])")
    close = tensor([1 / 6, 0.5], "float32")
    assert against_printed("r", printed, close, DOCUMENTED_POLICY, False, close) == []
    off = tensor([0.1668, 0.5], "float32")
    assert [m.problem for m in against_printed("r", printed, off, DOCUMENTED_POLICY, False, off)] == ["value"]
    numpy_policy = DtypePolicy(default_float="float64")
    wide = tensor([1 / 6, 0.5], "float64")
    assert against_printed("r", printed, wide, numpy_policy, False, wide) == []
    exact = against_printed("r", printed, wide, numpy_policy, True, wide)
    assert [m.problem for m in exact] == ["dtype"]


def test_relations() -> None:
    assert holds("h", Observed("python", True), None) is None
    assert holds("h", tensor([True, False], "bool"), None) is not None
    unsure = tensor([True, True], "bool", unsure=[False, True])
    assert holds("h", tensor([True, False], "bool"), unsure) is None
    left, right = tensor([1.0], "float32"), tensor([1.0 + 1e-7], "float32")
    ref_l, ref_r = tensor([1.0], "float32", [1e-7]), tensor([1.0], "float32", [1e-7])
    assert agree("a", "b", left, right, ref_l, ref_r) == []
    assert agree("a", "b", left, tensor([1.1], "float32"), ref_l, ref_r)


def test_equal_values_agree_even_where_the_bound_is_nan() -> None:
    want = np.array([1.0, 2.0])
    nan_bounds = np.array([np.nan, 1e-6])
    assert value_mismatch("x", want, np.array([1.0, 2.0]), nan_bounds, None) is None


def test_a_nan_bound_where_values_differ_is_shown_as_the_references_problem() -> None:
    m = value_mismatch("x", np.array([1.0]), np.array([1.5]), np.array([np.nan]), None)
    assert m is not None
    assert "reference's error bound here is undefined (NaN)" in m.difference
    assert "not a disagreement of the backend" in m.difference
    assert m.tolerance.startswith("undefined")
