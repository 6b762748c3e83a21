"""What ``given:`` draws (conformance/strategies.py), as its docstrings document it.

Draws are collected from hypothesis itself (derandomized, so each test is repeatable),
and the tests check properties of the whole collection: every value within its
bounds, the documented defaults reached, the shape pool drawn in rank strata (every
allowed rank equally often, square and non-square matrices equally often at rank 2),
never one particular draw sequence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, Unsatisfiable

from tensor_conformance.strategies import (
    DEFAULT_FLOAT_RANGE,
    DEFAULT_INT_RANGE,
    SHAPE_POOL,
    STRUCTURES,
    Sharing,
    _rank_strata,
    _ref,
    _representable,
    build,
    draw_all,
    draw_sharing_structure,
    draw_values_like,
    shapes_strategy,
)


def draws(strategy: st.SearchStrategy[Any], n: int = 300) -> list[Any]:
    """``n`` values of ``strategy`` as hypothesis generates them (paired with a wide
    integer so that a small space is not exhausted early)."""
    seen: list[Any] = []

    @settings(max_examples=n, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy, st.integers(0, 2**30))
    def collect(value: Any, _: int) -> None:
        seen.append(value)

    collect()
    return seen


def given_draws(entries: dict[str, dict[str, Any]], n: int = 200) -> list[dict[str, Any]]:
    """``n`` draws of a whole ``given:`` block, in order."""
    given_ = {name: build(name, entry) for name, entry in entries.items()}
    seen: list[dict[str, Any]] = []

    @settings(max_examples=n, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data(), st.integers(0, 2**30))
    def collect(data: st.DataObject, _: int) -> None:
        seen.append(draw_all(data, given_))

    collect()
    return seen


def array_draws(spec: dict[str, Any], n: int = 300) -> list[np.ndarray]:
    return [d["A"] for d in given_draws({"A": {"array": spec}}, n)]


def element_values(spec: dict[str, Any], n: int = 50) -> np.ndarray:
    """The elements of ``n`` drawn arrays of 20 elements each."""
    return np.concatenate([a.ravel() for a in array_draws({"shape": [20], **spec}, n)])


def is_square(shape: tuple[int, ...]) -> bool:
    return len(shape) == 2 and shape[0] == shape[1] >= 2


@pytest.fixture
def explore_profile() -> Iterator[None]:
    """The ``explore`` profile loaded (registered here, as the default's copy, where
    conformance/conftest.py has not registered it in this process)."""
    previous = settings.get_current_profile_name()
    try:
        settings.get_profile("explore")
    except InvalidArgument:
        settings.register_profile("explore", settings.get_profile(previous))
    settings.load_profile("explore")
    try:
        yield
    finally:
        settings.load_profile(previous)


# -- references to earlier draws -------------------------------------------------------

def test_a_reference_names_a_drawn_value_or_one_of_its_items() -> None:
    drawn = {"n": 4, "shapes": [(1,), (2, 3)]}
    assert _ref(3, drawn) == 3
    assert _ref("n", drawn) == 4
    assert _ref("shapes.1", drawn) == (2, 3)
    assert _ref("shapes.0", drawn) == (1,)


def test_later_entries_use_earlier_draws() -> None:
    block = {
        "dtype": {"dtypes": ["int32", "float64"]},
        "n": {"integers": {"min_value": 0, "max_value": 3}},
        "k": {"integers": {"min_value": "n", "max_value": 4}},
        "j": {"integers": {"min_value": -1, "max_value": "n"}},
        "A": {"array": {"dtype": "dtype", "shape": ["n", "k"]}},
        "B": {"array": {"dtype": "float32", "shape": "A_shape"}},
    }
    block["A_shape"] = {"shape": {"min_dims": 1, "max_dims": 1}}
    block = {k: block[k] for k in ("dtype", "n", "k", "j", "A", "A_shape", "B")}
    for d in given_draws(block, 100):
        assert list(d) == ["dtype", "n", "k", "j", "A", "A_shape", "B"]
        assert d["n"] <= d["k"] <= 4 and -1 <= d["j"] <= d["n"]
        assert d["A"].shape == (d["n"], d["k"]) and d["A"].dtype == np.dtype(d["dtype"])
        assert d["B"].shape == d["A_shape"] and d["B"].dtype == np.float32


def test_a_shape_can_be_an_item_of_drawn_broadcastable_shapes() -> None:
    block = {
        "shapes": {"broadcastable_shapes": {"num_shapes": 2}},
        "A": {"array": {"dtype": "float32", "shape": "shapes.0"}},
        "B": {"array": {"dtype": "float32", "shape": "shapes.1"}},
    }
    for d in given_draws(block, 100):
        assert (d["A"].shape, d["B"].shape) == tuple(d["shapes"])
        np.broadcast_shapes(d["A"].shape, d["B"].shape)  # raises if they are not


def test_each_draw_is_labelled_with_its_name() -> None:
    """A falsifying example reads ``Draw 1 (A): ...``, not an anonymous draw."""
    given_ = {"A": build("A", {"integers": {"min_value": 0, "max_value": 3}})}

    @settings(max_examples=5, derandomize=True, database=None)
    @given(st.data())
    def fails(data: st.DataObject) -> None:
        draw_all(data, given_)
        raise AssertionError("planted")

    with pytest.raises(AssertionError, match="planted") as info:
        fails()
    assert any(note.startswith("Draw 1 (A): ") for note in getattr(info.value, "__notes__", []))


# -- element values ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integers_span_the_default_range(dtype: str) -> None:
    values = element_values({"dtype": dtype})
    assert values.dtype == np.dtype(dtype)
    assert DEFAULT_INT_RANGE == (-1000, 1000)  # the module docstring's default
    assert -1000 <= values.min() < -900 and 900 < values.max() <= 1000


def test_integer_elements_follow_the_given_range() -> None:
    values = element_values({"dtype": "int64", "min_value": -3, "max_value": 7})
    assert values.min() >= -3 and values.max() <= 7 and set(values.tolist()) >= {-2, 6}


def test_booleans_are_both_values() -> None:
    values = element_values({"dtype": "bool"}, 20)
    assert values.dtype == np.bool_ and set(values.tolist()) == {False, True}


def test_a_bool_array_ignores_the_float_options() -> None:
    """An entry whose dtype is drawn (``dtypes: [bool, float64]``) may ask for zeros, NaN
    and infinity: a bool array is plain booleans all the same, half of them True."""
    block = {"dtype": {"dtypes": ["bool", "float64"]},
             "A": {"array": {"dtype": "dtype", "shape": [20], "zeros": True,
                             "allow_nan": True, "allow_infinity": True}}}
    bools = [d["A"] for d in given_draws(block, 100) if d["dtype"] == "bool"]
    values = np.concatenate(bools)
    assert len(bools) > 10 and values.dtype == np.bool_
    assert 0.3 < values.mean() < 0.7


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floats_are_finite_normal_and_span_the_default_range(dtype: str) -> None:
    values = element_values({"dtype": dtype})
    assert values.dtype == np.dtype(dtype)
    assert np.isfinite(values).all()
    assert DEFAULT_FLOAT_RANGE == (-1e6, 1e6)  # the module docstring's default
    assert -1e6 <= values.min() < -9e5 and 9e5 < values.max() <= 1e6
    tiny = np.finfo(np.dtype(dtype)).tiny
    assert not ((values != 0) & (np.abs(values) < tiny)).any()  # no subnormals


def test_zeros_true_draws_both_signed_zeros_often() -> None:
    values = element_values({"dtype": "float32", "zeros": True})
    zeros = values[values == 0]
    assert set(np.signbit(zeros).tolist()) == {False, True}
    assert np.isfinite(values).all()
    plain = element_values({"dtype": "float32"})
    assert zeros.size / values.size > 1.5 * (plain == 0).sum() / plain.size


def test_nan_and_infinity_only_where_allowed() -> None:
    nan = element_values({"dtype": "float64", "allow_nan": True})
    assert np.isnan(nan).any() and not np.isinf(nan).any()
    inf = element_values({"dtype": "float64", "allow_infinity": True})
    assert set(inf[np.isinf(inf)].tolist()) == {math.inf, -math.inf} and not np.isnan(inf).any()


def test_zeros_true_makes_zero_the_simplest_draw() -> None:
    """A falsifying example shrinks to an exact zero (the kink the entry asks for), before
    any value of the range: hypothesis shrinks towards the first of its options."""
    draw = build("A", {"array": {"dtype": "float32", "shape": [1], "zeros": True,
                                 "min_value": 1, "max_value": 2}})({})
    simplest = find(draw, lambda a: True, settings=settings(database=None, derandomize=True))
    assert simplest.tolist() == [0.0] and not np.signbit(simplest[0])


def test_float32_draws_near_zero_are_never_subnormal() -> None:
    """A range around zero holds float32 subnormals: none is drawn (a backend may flush
    them to zero)."""
    values = element_values({"dtype": "float32", "min_value": -1e-36, "max_value": 1e-36})
    assert values.dtype == np.float32 and (values != 0).any()
    assert not ((values != 0) & (np.abs(values) < np.finfo(np.float32).tiny)).any()


def test_a_narrow_float32_range_reaches_its_inner_ends_and_never_passes_them() -> None:
    """[0.0999999, 0.1] holds about a dozen float32 values: the draws reach the first above
    the lower bound and the last below the upper one, and nothing beyond either."""
    values = element_values({"dtype": "float32", "min_value": 0.0999999, "max_value": 0.1})
    # neither bound is a float32: the nearest float32 is below the lower, above the upper
    assert float(np.float32(0.0999999)) < 0.0999999 and float(np.float32(0.1)) > 0.1
    lo = np.nextafter(np.float32(0.0999999), np.float32(1))
    hi = np.nextafter(np.float32(0.1), np.float32(0))
    assert values.min() == lo and values.max() == hi


def test_float_bounds_that_the_dtype_cannot_hold_stay_inside() -> None:
    """min 0.001 is not a float32: the draws start at the first float32 above it."""
    values = element_values({"dtype": "float32", "min_value": 0.001, "max_value": 0.1})
    assert values.min() >= 0.001 and values.max() <= 0.1


@pytest.mark.parametrize(("bound", "up"), [(0.001, True), (0.001, False), (-0.1, True),
                                           (-0.1, False), (1e6, True), (1e6, False),
                                           (-1e6, True)])
def test_representable_is_the_nearest_dtype_value_inside_the_bound(bound: float, up: bool) -> None:
    f32 = np.dtype("float32")
    got = _representable(bound, f32, up=up)
    assert float(np.float32(got)) == got  # a float32
    if float(np.float32(bound)) == bound:
        assert got == bound
    elif up:
        assert got > bound and float(np.nextafter(np.float32(got), np.float32(-np.inf))) < bound
    else:
        assert got < bound and float(np.nextafter(np.float32(got), np.float32(np.inf))) > bound


# -- shapes ------------------------------------------------------------------------------

def test_an_array_without_a_shape_draws_the_whole_pool_by_default() -> None:
    """min_dims 0, max_dims 4, min_side 0, max_side 5: 0-d, size-0, rank-4 and side-5
    shapes all come."""
    shapes = {a.shape for a in array_draws({"dtype": "bool"}, 300)}
    assert shapes <= set(SHAPE_POOL)
    assert () in shapes and any(0 in s for s in shapes)
    assert any(len(s) == 4 for s in shapes) and any(5 in s for s in shapes)


def pool_within(min_dims: int, max_dims: int, min_side: int, max_side: int) -> set[tuple[int, ...]]:
    return {s for s in SHAPE_POOL if min_dims <= len(s) <= max_dims
            and all(min_side <= n <= max_side for n in s)}


@pytest.mark.parametrize("bounds", [(1, 2, 0, 5), (0, 4, 1, 3), (3, 4, 0, 5), (2, 2, 2, 3)])
def test_pool_draws_are_exactly_the_pool_shapes_within_the_bounds(bounds: tuple[int, ...]) -> None:
    assert set(draws(shapes_strategy(*bounds), 300)) == pool_within(*bounds)


def test_arrays_and_shapes_pass_their_bounds_on() -> None:
    bounds = {"min_dims": 2, "max_dims": 3, "min_side": 1, "max_side": 3}
    within = pool_within(2, 3, 1, 3)
    assert {a.shape for a in array_draws({"dtype": "bool", **bounds}, 100)} == within
    assert {d["s"] for d in given_draws({"s": {"shape": bounds}}, 100)} == within
    named = {d["s"] for d in given_draws({"s": {"shape": {}}}, 300)}
    assert named <= set(SHAPE_POOL) and () in named and any(0 in s for s in named)
    assert any(len(s) == 4 for s in named) and any(5 in s for s in named)


@pytest.mark.parametrize("bounds", [(0, 4, 0, 5), (1, 2, 0, 5), (1, 3, 1, 5)])
def test_every_allowed_rank_is_drawn_equally_often(bounds: tuple[int, ...]) -> None:
    ranks = Counter(len(s) for s in draws(shapes_strategy(*bounds), 500))
    assert sorted(ranks) == list(range(max(bounds[0], 0), bounds[1] + 1))
    share = 1 / len(ranks)
    for rank, count in ranks.items():
        assert abs(count / 500 - share) < 0.4 * share, (rank, dict(ranks))


def test_square_and_non_square_matrices_are_drawn_equally_often() -> None:
    shapes = draws(shapes_strategy(2, 2, 0, 5), 500)
    squares = [s for s in shapes if is_square(s)]
    assert 0.42 < len(squares) / len(shapes) < 0.58
    assert set(squares) == {(2, 2), (3, 3)}


def test_rank_strata_split_the_pool_by_rank_and_balance_squares() -> None:
    strata = _rank_strata(list(SHAPE_POOL))
    assert [len(s[0]) for s in strata] == sorted({len(s) for s in SHAPE_POOL})
    assert all(len({len(shape) for shape in stratum}) == 1 for stratum in strata)
    assert {s for stratum in strata for s in stratum} == set(SHAPE_POOL)
    for stratum in strata:
        squares = Counter(s for s in stratum if is_square(s))
        others = Counter(s for s in stratum if not is_square(s))
        if squares:  # rank 2: each kind half the stratum, each member of a kind equally often
            assert sum(squares.values()) == sum(others.values())
            assert len(set(squares.values())) == 1 and len(set(others.values())) == 1
        else:
            assert set(Counter(stratum).values()) == {1}


def test_a_stratum_of_squares_only_is_drawn() -> None:
    assert set(draws(shapes_strategy(2, 2, 2, 2), 50)) == {(2, 2)}
    assert _rank_strata([(2, 2), (3, 3)]) == [[(2, 2), (3, 3)]]
    assert _rank_strata([(2, 3)]) == [[(2, 3)]]


def test_bounds_outside_the_pool_draw_any_shape_within_them() -> None:
    shapes = draws(shapes_strategy(1, 2, 6, 7), 200)
    assert {len(s) for s in shapes} == {1, 2}
    assert all(6 <= n <= 7 for s in shapes for n in s)


@pytest.mark.usefixtures("explore_profile")
def test_the_explore_profile_draws_shapes_outside_the_pool() -> None:
    shapes = [a.shape for a in array_draws({"dtype": "int32"}, 300)]
    assert set(shapes) - set(SHAPE_POOL)
    assert max(len(s) for s in shapes) <= 4 and max(max(s, default=0) for s in shapes) <= 5
    assert min(len(s) for s in shapes) == 0 and any(0 in s for s in shapes)
    bounded = draws(shapes_strategy(1, 2, 0, 5), 200)
    assert set(bounded) - set(SHAPE_POOL) and {len(s) for s in bounded} == {1, 2}
    named = [d["s"] for d in given_draws({"s": {"shape": {}}}, 300)]
    assert max(len(s) for s in named) <= 4 and max(max(s, default=0) for s in named) <= 5
    assert min(len(s) for s in named) == 0 and any(0 in s for s in named)


def test_broadcastable_shapes_use_the_default_bounds() -> None:
    drawn = [d["b"] for d in given_draws({"b": {"broadcastable_shapes": {"num_shapes": 3}}}, 300)]
    shapes = [s for group in drawn for s in group]
    assert all(len(group) == 3 for group in drawn)
    assert {len(s) for s in shapes} == {0, 1, 2, 3, 4}
    assert min(min(s, default=1) for s in shapes) == 0 and max(max(s, default=0) for s in shapes) == 5


def test_broadcastable_shapes_follow_the_given_bounds() -> None:
    drawn = [d["b"] for d in given_draws({"b": {"broadcastable_shapes": {
        "num_shapes": 2, "min_dims": 1, "max_dims": 2, "min_side": 1, "max_side": 3}}}, 200)]
    shapes = [s for group in drawn for s in group]
    assert {len(s) for s in shapes} == {1, 2}
    assert {n for s in shapes for n in s} == {1, 2, 3}


# -- the other draws ---------------------------------------------------------------------

@pytest.mark.parametrize(("ndim", "axes"), [(0, {-1, 0}), (1, {-1, 0}), (3, {-3, -2, -1, 0, 1, 2})])
def test_axis_of_draws_every_axis_negative_ones_included(ndim: int, axes: set[int]) -> None:
    block = {"A": {"array": {"dtype": "int32", "shape": [1] * ndim}}, "axis": {"axis_of": "A"}}
    assert {d["axis"] for d in given_draws(block, 200)} == axes


def test_integers_span_their_bounds() -> None:
    values = [d["n"] for d in given_draws({"n": {"integers": {"min_value": -2, "max_value": 2}}})]
    assert set(values) == {-2, -1, 0, 1, 2}


def test_floats_are_finite_unless_allowed() -> None:
    plain = [d["x"] for d in given_draws({"x": {"floats": {"min_value": -1.0, "max_value": 1.0}}})]
    assert all(-1.0 <= x <= 1.0 for x in plain) and min(plain) < -0.5 and max(plain) > 0.5
    free = [d["x"] for d in given_draws({"x": {"floats": {}}}, 300)]
    assert all(math.isfinite(x) for x in free)
    wild = [d["x"] for d in given_draws({"x": {"floats": {"allow_nan": True,
                                                            "allow_infinity": True}}}, 300)]
    assert any(math.isnan(x) for x in wild) and any(math.isinf(x) for x in wild)


def test_booleans_sampled_values_and_dtypes() -> None:
    block = {"b": {"booleans": {}}, "s": {"sampled_from": [1, "two", 3.0]},
             "dtype": {"dtypes": ["int32", "float64"]}}
    drawn = given_draws(block, 100)
    assert {d["b"] for d in drawn} == {False, True}
    assert {d["s"] for d in drawn} == {1, "two", 3.0}
    assert {d["dtype"] for d in drawn} == {"int32", "float64"}


def test_an_unknown_draw_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="A: unknown draw 'matrix'"):
        build("A", {"matrix": {}})


def test_float64_draws_stay_normal_when_narrowed_to_float32() -> None:
    """JAX with x64 off narrows float64 to float32: a drawn float64 below float32's
    smallest normal would be a subnormal there, which XLA flushes to zero (explore
    seed 2026: 1.4e-45 * inf gave nan)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tensor_conformance import strategies

    seen: list[float] = []
    draw = strategies.build("A", {"array": {"dtype": "float64", "shape": [8],
                                            "min_value": -1e-30, "max_value": 1e-30}})

    @settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        seen.extend(float(v) for v in data.draw(draw({})).reshape(-1))

    collect()
    tiny = float(np.finfo(np.float32).tiny)
    assert all(v == 0 or abs(v) >= tiny for v in seen)
    assert any(abs(v) == tiny for v in seen)


def test_values_below_float32s_smallest_normal_move_out_to_it_with_their_sign() -> None:
    from tensor_conformance.strategies import FLOAT32_TINY, _normal_in_float32

    drawn = np.array([0.0, -0.0, 1.4e-45, -1e-300, 2.5, -FLOAT32_TINY, 1e-38])
    moved = _normal_in_float32(drawn)
    assert moved.dtype == np.float64
    assert list(moved) == [0.0, 0.0, FLOAT32_TINY, -FLOAT32_TINY, 2.5, -FLOAT32_TINY,
                           FLOAT32_TINY]
    assert np.signbit(moved[1])  # -0.0 stays -0.0
    assert _normal_in_float32(-1e-40) == -FLOAT32_TINY
    assert _normal_in_float32(0.5) == 0.5
    # a Python float zero stays zero, its sign kept
    assert _normal_in_float32(0.0) == 0.0 and not math.copysign(1.0, _normal_in_float32(0.0)) < 0
    assert math.copysign(1.0, _normal_in_float32(-0.0)) < 0
    # narrowed to float32, nothing is subnormal
    narrowed = np.abs(moved.astype(np.float32))
    assert np.all((narrowed == 0) | (narrowed >= np.finfo(np.float32).tiny))


def test_python_float_draws_stay_normal_in_float32() -> None:
    """A Python float is a weakly typed scalar: JAX with x64 off makes it float32."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tensor_conformance import strategies

    seen: list[float] = []
    draw = strategies.build("a", {"floats": {"min_value": -1e-30, "max_value": 1e-30}})

    @settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        seen.append(data.draw(draw({})))

    collect()
    tiny = float(np.finfo(np.float32).tiny)
    assert all(v == 0 or abs(v) >= tiny for v in seen)
    assert any(abs(v) == tiny for v in seen)


def shared_draws(entries: dict[str, dict[str, Any]], sharing: Sharing,
                 keep: Any = lambda variables: variables) -> list[list[Any]]:
    """The examples of each hypothesis test case, drawn as the shared corpus draws a
    ``given:`` block."""
    given_ = {name: build(name, entry) for name, entry in entries.items()}
    groups: list[list[Any]] = []

    @settings(max_examples=sharing.test_cases, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        groups.append(draw_sharing_structure(data, given_, keep, sharing))

    collect()
    return groups


STRUCTURED = {"dtype": {"dtypes": ["int32", "float32", "float64"]},
              "A": {"array": {"dtype": "dtype", "min_dims": 1}},
              "axis": {"axis_of": "A"},
              "k": {"integers": {"min_value": 0, "max_value": 9}},
              "x": {"floats": {"min_value": -10, "max_value": 10}},
              "B": {"array": {"dtype": "float32", "shape": [2, "k"]}}}


def structure(example: dict[str, Any]) -> tuple[Any, ...]:
    return (example["dtype"], example["A"].shape, example["A"].dtype, example["axis"],
            example["k"], example["B"].shape)


def test_the_ci_profile_shares_25_structures_and_a_small_profile_none() -> None:
    """100 examples: 13 test cases of two structures, each filled four times (25
    structures are used); 10 examples: a structure for each, as without sharing."""
    assert STRUCTURES == 25
    assert Sharing.of(100) == Sharing(test_cases=13, structures=2, values=4)
    assert Sharing.of(10) == Sharing(test_cases=10, structures=1, values=1)
    assert Sharing.of(25) == Sharing(25, 1, 1) and Sharing.of(49) == Sharing(49, 1, 1)
    assert Sharing.of(50) == Sharing(13, 2, 2)


def structures(groups: list[list[dict[str, Any]]], values: int) -> list[list[dict[str, Any]]]:
    return [g[i:i + values] for g in groups for i in range(0, len(g), values)]


def test_shared_examples_repeat_each_structure_with_new_values() -> None:
    """Each structure (shapes, dtypes, sizes, axes) is drawn once, then filled with new
    array elements and floats: four examples of one structure, two per test case."""
    groups = shared_draws(STRUCTURED, Sharing(5, 2, 4))
    assert len(groups) == 5 and all(len(g) == 8 for g in groups)
    alike = structures(groups, 4)
    for same in alike:
        assert {structure(e) for e in same} == {structure(same[0])}
    assert len({structure(s[0]) for s in alike}) > 5  # the structures themselves vary
    firsts = {id(s[0]["A"]) for s in alike}
    assert all(id(e["A"]) not in firsts for s in alike for e in s[1:])  # new arrays
    # values are drawn anew: somewhere a refill differs from its structure's first draw
    assert any(not np.array_equal(s[0]["A"], e["A"]) for s in alike for e in s[1:])
    assert any(s[0]["x"] != e["x"] for s in alike for e in s[1:])


def test_refilled_values_follow_the_entry_like_a_fresh_draw() -> None:
    """Elements drawn for a repeated structure keep the entry's range and float32's
    smallest normal (no subnormals after narrowing a float64)."""
    entries = {"A": {"array": {"dtype": "float64", "min_value": -2, "max_value": 3}},
               "B": {"array": {"dtype": "int32", "min_value": 5, "max_value": 7}}}
    examples = [e for g in shared_draws(entries, Sharing(8, 2, 4)) for e in g]
    assert len(examples) == 64
    for e in examples:
        assert e["A"].dtype == np.float64 and e["B"].dtype == np.int32
        assert ((e["A"] >= -2) & (e["A"] <= 3)).all()
        assert ((e["B"] >= 5) & (e["B"] <= 7)).all()
        nonzero = e["A"][e["A"] != 0]
        assert (np.abs(nonzero) >= np.finfo(np.float32).tiny).all()


def test_draws_that_cannot_be_used_are_replaced_and_a_test_case_of_none_rejected() -> None:
    """``keep`` says None for an example it cannot use: it is replaced by new values for
    the same structure, at most twice the structure's share of draws in all; a test
    case that keeps nothing is rejected (hypothesis draws another)."""
    entries = {"A": {"array": {"dtype": "int32", "shape": [3], "min_value": -5,
                               "max_value": 5}}}

    def positive_sum(variables: dict[str, Any]) -> Any:
        return variables if variables["A"].sum() > 0 else None

    groups = shared_draws(entries, Sharing(10, 2, 4), keep=positive_sum)
    assert len(groups) == 10 and all(e["A"].sum() > 0 for g in groups for e in g)
    assert all(1 <= len(g) <= 8 for g in groups) and sum(map(len, groups)) > 60
    with pytest.raises(Unsatisfiable):
        shared_draws(entries, Sharing(3, 1, 1), keep=lambda variables: None)


def test_a_structure_gets_at_most_twice_its_share_of_draws() -> None:
    """With ``values`` 2 a structure is drawn at most 4 times: a ``keep`` that accepts only
    from the 4th draw on keeps one example, after exactly 4 calls."""
    given_ = {"A": build("A", {"array": {"dtype": "int32", "shape": [2]}}),
              "n": build("n", {"integers": {"min_value": 0, "max_value": 3}})}
    calls: list[int] = []

    def late(variables: dict[str, Any]) -> Any:
        calls[-1] += 1
        return variables if calls[-1] >= 4 else None

    @settings(max_examples=5, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        calls.append(0)
        kept = draw_sharing_structure(data, given_, late, Sharing(5, 1, 2))
        assert len(kept) == 1 and calls[-1] == 4

    collect()
    assert len(calls) == 5


def test_refilled_values_are_labelled_with_their_names() -> None:
    """A falsifying example of a repeated structure reads ``Draw 3 (A): ...`` for the
    array's new values, as the structure's own draws do."""
    given_ = {"A": build("A", {"array": {"dtype": "int32", "shape": [2]}}),
              "n": build("n", {"integers": {"min_value": 0, "max_value": 3}})}

    @settings(max_examples=5, derandomize=True, database=None)
    @given(st.data())
    def fails(data: st.DataObject) -> None:
        like = draw_all(data, given_)
        again = draw_values_like(data, given_, like)
        assert again["n"] == like["n"] and again["A"].shape == (2,)
        raise AssertionError("planted")

    with pytest.raises(AssertionError, match="planted") as info:
        fails()
    notes = getattr(info.value, "__notes__", [])
    assert any(note.startswith("Draw 3 (A): ") for note in notes), notes
