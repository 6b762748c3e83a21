"""conformance/compare.py rule by rule: every branch of ``compare``, ``holds``, ``agree`` and
``against_printed`` decides pass or fail, and says what it found in the words a report shows.

Written against the mutants mutation testing left alive (README, "Mutation testing").
"""

from __future__ import annotations

import numpy as np
import pytest

from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, DtypePolicy
from tensor_conformance.compare import Mismatch, against_printed, agree, all_unchecked, compare, holds
from tensor_conformance.observed import Observed
from tensor_conformance.printed import parse


def tensor(values: object, dtype: str, bounds: object = None, unsure: object = None) -> Observed:
    a = np.array(values, dtype=dtype)
    return Observed("tensor", a, dtype, a.shape,
                    bounds=None if bounds is None else np.array(bounds, dtype=np.float64),
                    unsure=None if unsure is None else np.array(unsure))


def py(value: object) -> Observed:
    return Observed("python", value)


RAISED = Observed("error", error="RuntimeError: boom")


def as_tuples(found: list[Mismatch]) -> list[tuple[str, str, str, str]]:
    return [(m.output, m.problem, m.expected, m.got) for m in found]


# -- compare ----------------------------------------------------------------------------------
def test_an_error_on_one_side_only_is_an_error_mismatch_naming_both_sides() -> None:
    value = tensor([1.0], "float32", [0.0])
    assert as_tuples(compare("x", value, RAISED)) == [
        ("x", "error", "[1.] (dtype=float32, shape=(1,))", "raised RuntimeError: boom")]
    assert as_tuples(compare("x", RAISED, value)) == [
        ("x", "error", "raised RuntimeError: boom", "[1.] (dtype=float32, shape=(1,))")]
    assert compare("x", RAISED, RAISED) == []


def test_kinds_tuples_and_python_values() -> None:
    assert as_tuples(compare("x", py(1), tensor(1, "int64"))) == [
        ("x", "type", "1", "1 (dtype=int64, shape=())")]
    pair = Observed("tuple", [py(1), py(2)])
    assert compare("t", pair, Observed("tuple", [py(1), py(2)])) == []
    assert as_tuples(compare("t", pair, Observed("tuple", [py(1), py(3)]))) == [("t[1]", "value", "2", "3")]
    assert [m.problem for m in compare("t", pair, Observed("tuple", [py(1)]))] == ["type"]
    assert compare("n", py(2), py(2.0)) == []  # int and float are both numbers
    assert as_tuples(compare("n", py(1), py("1"))) == [("n", "value", "1", "'1'")]  # not a number
    assert as_tuples(compare("n", py((1,)), py([1]))) == [("n", "value", "(1,)", "[1]")]
    assert compare("n", Observed("none"), Observed("none")) == []


def test_tensors_report_shape_first_then_dtype_and_value() -> None:
    ref = tensor([1.0, 2.0], "float32", [0.0, 0.0])
    assert as_tuples(compare("x", ref, tensor([1.0], "float32"))) == [("x", "shape", "(2,)", "(1,)")]
    both = compare("x", ref, tensor([1.0, 3.0], "float64"))
    assert [(m.problem, m.expected, m.got) for m in both] == [
        ("dtype", "float32", "float64"), ("value", "2.0 at [1]", "3.0")]


# -- holds -------------------------------------------------------------------------------------
def test_holds_wants_true_itself_or_an_all_true_boolean_tensor() -> None:
    assert holds("h", py(True), None) is None
    assert holds("h", tensor([True, True], "bool"), None) is None
    assert holds("h", tensor([], "bool"), None) is None  # vacuously true, as torch.all
    for false in (py(False), py(1), py("True"), tensor([1, 1], "int64"), tensor([True, False], "bool")):
        m = holds("h", false, None)
        assert m is not None
        assert (m.output, m.problem, m.expected, m.got) == ("h", "relation", "True", false.describe())


def test_holds_forgives_only_the_elements_the_reference_is_unsure_of() -> None:
    got = tensor([True, False], "bool")
    assert holds("h", got, tensor([True, True], "bool", unsure=[False, True])) is None
    assert holds("h", got, tensor([True, True], "bool", unsure=[True, False])) is not None
    assert holds("h", got, tensor([True, True], "bool")) is not None  # no unsure at all
    assert holds("h", got, tensor([True], "bool", unsure=[True])) is not None  # another shape


# -- agree -------------------------------------------------------------------------------------
def test_agree_on_an_error_on_either_side() -> None:
    value = py(1.0)
    for left, right in ((RAISED, value), (value, RAISED), (RAISED, RAISED)):
        assert as_tuples(agree("a", "b", left, right, None, None)) == [
            ("a  ==  b", "error", "values on both sides", f"{left.describe()} vs {right.describe()}")]


def test_agree_on_scalars_within_the_sum_of_both_bounds() -> None:
    ref = tensor(1.0, "float64", 0.5)
    assert agree("a", "b", py(1.0), py(1.0), None, None) == []
    assert agree("a", "b", py(1.0), py(1.9), ref, ref) == []  # within 0.5 + 0.5
    assert as_tuples(agree("a", "b", py(1.0), py(1.9), ref, None)) == [("a  ==  b", "relation", "1.0", "1.9")]
    assert as_tuples(agree("a", "b", py(1.0), py(1.9), None, ref)) == [("a  ==  b", "relation", "1.0", "1.9")]
    wide = tensor([1.0, 1.0], "float64", [9.0, 9.0])  # not one element: no scalar bound
    assert agree("a", "b", py(1.0), py(1.9), wide, wide) != []
    # a 0-d tensor against a Python number: its item
    assert agree("a", "b", tensor(2.0, "float32"), py(2.0), None, None) == []
    assert agree("a", "b", py(2.0), tensor(2.0, "float32"), None, None) == []
    assert as_tuples(agree("a", "b", tensor(2.0, "float32"), py(3), None, None)) == [
        ("a  ==  b", "relation", "2.0", "3")]
    assert agree("a", "b", py("s"), py("s"), None, None) == []
    assert as_tuples(agree("a", "b", py("s"), py("t"), None, None)) == [
        ("a  ==  b", "relation", "'s'", "'t'")]
    assert agree("a", "b", py((1, 2)), py((1, 2)), None, None) == []
    assert agree("a", "b", py((1, 2)), py((1, 3)), None, None) != []


def test_agree_on_tensors_shape_dtype_and_values() -> None:
    left = tensor([1.0, 2.0], "float32")
    assert as_tuples(agree("a", "b", left, tensor([1.0], "float32"), None, None)) == [
        ("a  ==  b", "shape", "(2,)", "(1,)")]
    assert as_tuples(agree("a", "b", left, tensor([1.0, 2.0], "float64"), None, None)) == [
        ("a  ==  b", "dtype", "float32", "float64")]
    (m,) = agree("a", "b", left, tensor([1.0, 2.5], "float32"), None, None)
    assert (m.output, m.problem, m.expected, m.got) == ("a  ==  b", "relation", "2.0 at [1]", "2.5")
    # integers on the left, floats on the right: compared as numbers (the dtypes still differ)
    assert as_tuples(agree("a", "b", tensor([1, 2], "int64"), tensor([1.0, 2.0], "float64"), None, None)) == [
        ("a  ==  b", "dtype", "int64", "float64")]


def test_agree_on_tensors_allows_the_sum_of_both_references_bounds() -> None:
    left, right = tensor([1.0], "float64"), tensor([1.3], "float64")
    ref = tensor([1.0], "float64", [0.2])
    assert agree("a", "b", left, right, ref, ref) == []  # 0.3 <= 0.2 + 0.2
    assert agree("a", "b", left, right, ref, None) != []
    assert agree("a", "b", left, right, None, ref) != []
    other_shape = tensor([1.0, 1.0], "float64", [9.0, 9.0])
    assert agree("a", "b", left, right, other_shape, other_shape) != []


# -- the notes' printed output -------------------------------------------------------------------
FLOAT64 = DtypePolicy(default_float="float64")


def test_printed_lines_against_errors_none_and_types() -> None:
    printed = parse("tensor([1., 2.])")
    assert as_tuples(against_printed("r", printed, RAISED, DOCUMENTED_POLICY, False)) == [
        ("r", "error", "a value (the notes print one)", "raised RuntimeError: boom")]
    assert against_printed("r", None, Observed("none"), DOCUMENTED_POLICY, False) == []
    assert as_tuples(against_printed("r", None, py(0), DOCUMENTED_POLICY, False)) == [
        ("r", "value", "None", "0")]
    assert as_tuples(against_printed("r", printed, py(1.0), DOCUMENTED_POLICY, False)) == [
        ("r", "type", "a tensor", "1.0")]


def test_printed_tensor_dtype_comes_from_the_print_or_from_the_reference() -> None:
    printed = parse("tensor([1., 2.])")  # PyTorch's default float: float32
    wide = tensor([1.0, 2.0], "float64")
    # the reference itself (no reference given): what PyTorch prints
    (m,) = against_printed("r", printed, wide, FLOAT64, False)
    assert (m.problem, m.expected, m.got) == (
        "dtype", "float32 (as PyTorch prints it in the notes)", "float64")
    # another backend: the reference under its policy decides
    assert against_printed("r", printed, wide, FLOAT64, False, wide) == []
    (m,) = against_printed("r", printed, wide, FLOAT64, False, tensor([1.0, 2.0], "float32"))
    assert (m.problem, m.expected) == ("dtype", "float32 (the reference, under this backend's policy)")
    # exact_dtypes: the print decides even with a reference
    (m,) = against_printed("r", printed, wide, FLOAT64, True, wide)
    assert m.expected == "float32 (as PyTorch prints it in the notes)"
    # a reference that is not a tensor does not decide
    (m,) = against_printed("r", printed, wide, FLOAT64, False, py(1))
    assert m.problem == "dtype"
    assert [m.problem for m in against_printed("r", parse("tensor([1, 2])"), tensor([1, 2], "int32"),
                                               DOCUMENTED_POLICY, False)] == ["dtype"]
    assert against_printed("r", parse("tensor([1, 2])"), tensor([1, 2], "int64"),
                           DOCUMENTED_POLICY, False) == []


def test_printed_tensor_values_within_the_printed_digits() -> None:
    printed = parse("tensor([0.1667, 2.0000])")
    assert against_printed("r", printed, tensor([1 / 6, 2.0], "float32"), DOCUMENTED_POLICY, False) == []
    (m,) = against_printed("r", printed, tensor([0.1668, 2.0], "float32"), DOCUMENTED_POLICY, False)
    assert (m.problem, m.expected, m.got[:6]) == ("value", "0.1667 at [0]", "0.1668")
    assert m.tolerance.endswith("(the printed digits, plus 2 u |v|)")
    assert [m.problem for m in against_printed("r", printed, tensor([0.1667], "float32"),
                                               DOCUMENTED_POLICY, False)] == ["shape"]
    ints = parse("tensor([1, 2])")
    (m,) = against_printed("r", ints, tensor([1, 3], "int64"), DOCUMENTED_POLICY, False)
    assert (m.problem, m.expected, m.got, m.tolerance) == ("value", "2 at [1]", "3", "exact")


def test_printed_numbers_and_booleans() -> None:
    three = parse("3.1416")
    assert against_printed("r", three, py(3.14159), DOCUMENTED_POLICY, False) == []
    assert against_printed("r", three, tensor(3.14159, "float32"), DOCUMENTED_POLICY, False) == []
    assert as_tuples(against_printed("r", three, py(3.1418), DOCUMENTED_POLICY, False)) == [
        ("r", "value", "3.1416", "3.1418")]
    assert as_tuples(against_printed("r", three, tensor([3.1416], "float32"), DOCUMENTED_POLICY, False)) == [
        ("r", "type", "3.1416", "[3.1416] (dtype=float32, shape=(1,))")]
    true = parse("True")
    assert against_printed("r", true, py(True), DOCUMENTED_POLICY, False) == []
    assert against_printed("r", true, tensor(True, "bool"), DOCUMENTED_POLICY, False) == []
    assert against_printed("r", true, py(1), DOCUMENTED_POLICY, False) != []  # 1 is not True
    assert against_printed("r", true, py(False), DOCUMENTED_POLICY, False) != []


def test_printed_tuples_item_by_item() -> None:
    printed = parse("(2, 3)")
    assert against_printed("s", printed, py((2, 3)), DOCUMENTED_POLICY, False) == []
    assert as_tuples(against_printed("s", printed, py((2, 4)), DOCUMENTED_POLICY, False)) == [
        ("s[1]", "value", "3", "4")]
    assert as_tuples(against_printed("s", printed, py((2,)), DOCUMENTED_POLICY, False)) == [
        ("s", "type", "2 values", "(2,)")]
    assert [m.problem for m in against_printed("s", printed, tensor([2, 3], "int64"),
                                               DOCUMENTED_POLICY, False)] == ["type"]
    pair = parse("(tensor([1., 2.]), tensor([3.]))")
    got = Observed("tuple", [tensor([1.0, 2.0], "float64"), tensor([3.0], "float64")])
    assert against_printed("p", pair, got, FLOAT64, False, got) == []  # the reference's items decide
    assert [m.output for m in against_printed("p", pair, got, FLOAT64, False)] == ["p[0]", "p[1]"]


@pytest.mark.parametrize(("outputs", "unchecked"), [
    ({}, False),
    ({"x": tensor([1.0], "float64", [np.inf])}, True),
    ({"x": tensor([1.0, 2.0], "float64", [np.inf, 0.0])}, False),
    ({"x": tensor([1.0], "float64", [np.inf]), "y": py(1)}, False),
    ({"x": tensor([1.0], "float64")}, False),
])
def test_an_example_is_unchecked_only_when_every_element_has_an_infinite_bound(
    outputs: dict[str, Observed], unchecked: bool
) -> None:
    assert all_unchecked(outputs) is unchecked


# -- written against the survivors of the first mutation run ---------------------------------------
def test_every_item_of_a_tuple_is_reported_and_a_numpy_integer_is_not_a_python_int() -> None:
    pair = Observed("tuple", [py(1), py(2)])
    assert as_tuples(compare("t", pair, Observed("tuple", [py(0), py(3)]))) == [
        ("t[0]", "value", "1", "0"), ("t[1]", "value", "2", "3")]
    assert as_tuples(compare("t", pair, Observed("tuple", [py(1)]))) == [("t", "type", "(1, 2)", "(1)")]
    assert as_tuples(compare("n", py(1), py(np.int64(1)))) == [("n", "value", "1", "np.int64(1)")]


def test_tensors_use_the_references_bounds_and_unsure_elements() -> None:
    ref = tensor([1.0], "float64", [0.1])
    assert compare("x", ref, tensor([1.05], "float64")) == []
    assert as_tuples(compare("x", ref, tensor([1.0], "float32")))[0][:2] == ("x", "dtype")
    unsure = tensor([True, True], "bool", unsure=[False, True])
    assert compare("x", unsure, tensor([True, False], "bool")) == []


def test_value_mismatch_rules_for_mixed_kinds_huge_integers_and_overflow() -> None:
    from tensor_conformance.compare import value_mismatch

    # a float reference and an integer backend: compared as floats, within the bound
    assert value_mismatch("x", np.array([1.5]), np.array([1]), np.array([1.0]), None) is None
    # integers beyond 2^53 are compared exactly, not as float64
    big = np.array([2**53 + 1], dtype=np.int64)
    m = value_mismatch("x", big, np.array([2**53], dtype=np.int64), None, None)
    assert m is not None
    assert (m.output, m.expected, m.got, m.difference) == (
        "x", f"{2**53 + 1} at [0]", f"{2**53}", "1 of 1 elements differ")
    # |got - expected| overflows to inf without a warning (warnings are errors here)
    m = value_mismatch("x", np.array([1e308]), np.array([-1e308]), np.zeros(1), None)
    assert m is not None and m.expected == "1e+308 at [0]"
    # a 0-d value and a 2-d position are named as such
    m = value_mismatch("x", np.array(1.0), np.array(2.0), np.zeros(()), None)
    assert m is not None and m.expected == "1.0 at the value"
    m = value_mismatch("x", np.array([[1, 2]]), np.array([[1, 3]]), None, None)
    assert m is not None and m.expected == "2 at [0, 1]"


def test_value_mismatch_shows_the_element_furthest_outside_its_bound() -> None:
    from tensor_conformance.compare import value_mismatch

    # NaN where a number was expected is the worst of all
    m = value_mismatch("x", np.array([np.nan, 1.0]), np.array([1.0, 2.0]), np.zeros(2), None)
    assert m is not None and m.expected == "nan at [0]"
    # by the excess over the bound, not by the raw difference: 1 - 0 > 1.5 - 1
    m = value_mismatch("x", np.array([0.0, 0.0]), np.array([1.0, 1.5]), np.array([0.0, 1.0]), None)
    assert m is not None and m.expected == "0.0 at [0]" and "2 of 2 elements outside" in m.difference


def test_agree_on_a_vector_against_a_number_and_exactly_at_the_bound() -> None:
    vector = tensor([1.0, 2.0], "float64")
    assert as_tuples(agree("a", "b", vector, py(1.0), None, None))[0][:2] == ("a  ==  b", "relation")
    assert as_tuples(agree("a", "b", py(1.0), vector, None, None))[0][:2] == ("a  ==  b", "relation")
    assert as_tuples(agree("a", "b", py(2.0), tensor(3.0, "float32"), None, None)) == [
        ("a  ==  b", "relation", "2.0", "3.0")]
    quarter = tensor([1.0], "float64", [0.25])  # a one-element bound of shape (1,)
    assert agree("a", "b", py(1.0), py(1.5), quarter, quarter) == []  # |1 - 1.5| == 0.25 + 0.25


def test_printed_values_use_the_backends_unit_roundoff() -> None:
    # more digits printed than float32 holds: the bound is 2 u |v| with the got dtype's u
    printed = parse("tensor([16777216.0000])")
    f32 = Observed("tensor", np.array([16777216.0 + 2.0]), "float32", (1,))  # within 2 u |v| = 2
    assert [m.problem for m in against_printed("r", printed, f32, DOCUMENTED_POLICY, False)] == []
    over = Observed("tensor", np.array([16777216.0 + 2.5]), "float32", (1,))  # 2.5 > 2
    (m,) = against_printed("r", printed, over, DOCUMENTED_POLICY, False)
    assert (m.output, m.problem) == ("r", "value")
    f64 = parse("tensor([0.1666666666666667])")
    close = Observed("tensor", np.array([1 / 6 + 1e-10]), "float64", (1,))
    assert [m.problem for m in against_printed("r", f64, close, FLOAT64, False, close)] == ["value"]
    # an integer tensor where floats are printed: the dtype differs, the values are compared
    ints = Observed("tensor", np.array([1, 2]), "int64", (2,))
    assert [m.problem for m in against_printed("r", parse("tensor([1., 2.])"), ints,
                                               DOCUMENTED_POLICY, False)] == ["dtype"]


def test_printed_matrices_shapes_and_names() -> None:
    printed = parse("tensor([[1., 2.],\n        [3., 4.]])")
    good = tensor([[1.0, 2.0], [3.0, 4.0]], "float32")
    assert against_printed("m", printed, good, DOCUMENTED_POLICY, False) == []
    off = tensor([[1.0, 2.0], [3.0, 5.0]], "float32")
    (m,) = against_printed("m", printed, off, DOCUMENTED_POLICY, False)
    assert (m.output, m.expected) == ("m", "4.0 at [1, 1]")
    assert as_tuples(against_printed("m", printed, tensor([1.0, 2.0, 3.0, 4.0], "float32"),
                                     DOCUMENTED_POLICY, False)) == [("m", "shape", "(2, 2)", "(4,)")]
    (m,) = against_printed("v", parse("tensor([1, 2])"), tensor([1, 3], "int64"), DOCUMENTED_POLICY, False)
    assert m.output == "v"


def test_printed_booleans_accept_numpy_booleans_and_tuples_keep_exact_dtypes() -> None:
    assert against_printed("r", parse("True"), py(np.bool_(True)), DOCUMENTED_POLICY, False) == []
    pair = parse("(tensor([1., 2.]), tensor([3.]))")
    got = Observed("tuple", [tensor([1.0, 2.0], "float64"), tensor([3.0], "float64")])
    exact = against_printed("p", pair, got, FLOAT64, True, got)
    assert [(m.output, m.problem) for m in exact] == [("p[0]", "dtype"), ("p[1]", "dtype")]


def test_value_mismatch_equal_integers_past_2_to_53_agree_exactly() -> None:
    from tensor_conformance.compare import value_mismatch
    big = np.array([2**53 + 1, 3], dtype=np.int64)
    assert value_mismatch("x", big, big.copy(), None, None) is None  # not rounded through float64


def test_value_mismatch_a_difference_exactly_at_the_bound_is_within() -> None:
    from tensor_conformance.compare import value_mismatch
    want, got = np.array([1.0, 2.0]), np.array([1.0, 2.5])
    assert value_mismatch("x", want, got, np.array([0.0, 0.5]), None) is None
    assert value_mismatch("x", want, got, np.array([0.0, 0.25]), None) is not None


def test_value_mismatch_where_the_references_bound_is_nan_names_the_reference() -> None:
    from tensor_conformance.compare import value_mismatch
    m = value_mismatch("A.sum()", np.array([[1.0, 4.0]]), np.array([[1.0, 6.0]]),
                       np.array([[0.0, np.nan]]), None)
    assert m is not None
    assert (m.output, m.problem, m.expected, m.got) == ("A.sum()", "value", "4.0 at [0, 1]", "6.0")
    assert m.difference.startswith("|got - expected| = 2;")
    assert "a problem of the reference" in m.difference
    assert m.tolerance == ("undefined (the reference's bound is NaN; "
                           "see adapters/reference/bounds.py)")
