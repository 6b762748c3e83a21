"""Turning a case's ``given:`` block into hypothesis draws.

Every entry draws one named value, in the order written, so later entries can
refer to earlier ones by name (``dtype: dtype``, ``shape: [n, k]``,
``shape: shapes.0``, ``axis_of: A``).  Everything is built from hypothesis's own
strategies (``hypothesis.extra.numpy.arrays``, ``array_shapes``,
``mutually_broadcastable_shapes``, ``from_dtype``); draws are labelled with the
variable's name, so a falsifying example reads ``A = ...``.

Default value ranges keep every documented operation away from overflow (the
notes say nothing about it) while still reaching large and negative values:
integers in [-1000, 1000], floats in [-1e6, 1e6], no NaN or infinity unless a
case asks for them, no subnormals (a backend may flush them to zero), not even after
narrowing a float64 to float32.

Coverage model: what generated inputs must include so that a fault in the notes'
behaviours shows (tests/test_coverage_model.py checks the deterministic profile
against it; ``python -m tensor_conformance.input_coverage`` measures every case's draws):

* shapes (``SHAPE_POOL``, ``SHAPE_COVERAGE``): 0-d; size-0 and size-1 axes; every
  rank 1-4; square matrices (side 2 and 3: an axis or transpose confusion keeps the
  shape, only the values show it) and non-square ones (the same confusion changes
  the shape); axes longer than three (off-by-one in cumsum, slicing, vector tails).
  Each cell's draws are derandomized per test id and repeat earlier examples, so a
  combination (a float32 square matrix, a vector of two or more elements) can be
  missed by one cell and not another: the pool is drawn in strata, every allowed rank
  equally often and, at rank 2, square and non-square matrices equally often;
* axes (``axis_of``): every axis, negative ones included, each drawn within 100
  examples for the arrays that take an axis;
* sizes drawn as integers (``shape: [n, k]``): equal and distinct, zero included;
* values: repeated and symmetric values (hypothesis fills arrays with repeats) and
  asymmetric ones; exact zeros and negative zero where the claim involves them
  (``zeros: true``: ``abs`` and ``norm`` at their kink, ``exp`` at 0, elementwise
  ``==``); values of both signs whose sums cancel (the default ranges are symmetric
  around zero);
* structures and values (``STRUCTURES``, ``Sharing``): the shared examples of the
  deterministic profiles (corpus.py) are at most 25 structures per case (the shapes,
  dtypes, sizes, axes and choices of a draw: what a compiling backend compiles for),
  each filled with new values as often as the profile's examples allow (four times
  in the ci profile); the structures must still reach everything above (the tests
  measure the shared draws, not single ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from hypothesis import reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DEFAULT_INT_RANGE = (-1000, 1000)
DEFAULT_FLOAT_RANGE = (-1e6, 1e6)
#: float32's smallest normal: no float64 draw lies between it and zero (see _normal_in_float32)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)

T = TypeVar("T")

#: given the values drawn so far, the strategy for the next one
Draw = Callable[[dict[str, Any]], st.SearchStrategy[Any]]


def _ref(value: Any, drawn: dict[str, Any]) -> Any:
    """An int, or a reference to a drawn value: 'n' or 'shapes.0'."""
    if not isinstance(value, str):
        return value
    name, _, index = value.partition(".")
    found = drawn[name]
    return found[int(index)] if index else found


#: the dtype names a spec may write literally (``array: {dtype: float32}``)
DTYPE_NAMES = ("bool", "int32", "int64", "float32", "float64")


def _dtype_of(value: str, drawn: dict[str, Any]) -> np.dtype:
    """A literal dtype name, or the name of a drawn one."""
    return np.dtype(value if value in DTYPE_NAMES else _ref(value, drawn))


def _shape_of(value: Any, drawn: dict[str, Any]) -> tuple[int, ...]:
    if isinstance(value, list):
        return tuple(int(_ref(v, drawn)) for v in value)
    return tuple(_ref(value, drawn))


def _representable(bound: float, dtype: np.dtype, *, up: bool) -> float:
    """The nearest value of ``dtype`` on the inside of a bound (0.001 is not a float32)."""
    value = dtype.type(bound)
    if (up and float(value) < bound) or (not up and float(value) > bound):
        value = np.nextafter(value, dtype.type(np.inf if up else -np.inf))
    return float(value)


def _normal_in_float32(value: Any) -> Any:
    """``value`` (a float or a float64 array) with every nonzero element closer to zero
    than float32's smallest normal moved out to it, sign kept.

    A backend without 64-bit types narrows float64 to float32 (JAX with x64 off), and a
    Python float to its default float: a value below float32's smallest normal becomes a
    subnormal there, which XLA flushes to zero (explore seed 2026: ``1.4e-45 * inf`` gave
    nan on JAX).  Applied to whole drawn values, not as a filter or an element map: the
    choice sequence, and so every derandomized draw and its shrinking, is unchanged.
    """
    if isinstance(value, np.ndarray):
        tiny = (value != 0) & (np.abs(value) < FLOAT32_TINY)
        return np.where(tiny, np.copysign(FLOAT32_TINY, value), value) if tiny.any() else value
    if isinstance(value, float) and value != 0 and abs(value) < FLOAT32_TINY:
        return math.copysign(FLOAT32_TINY, value)
    return value


def _elements(dtype: np.dtype, spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        lo = int(spec.get("min_value", DEFAULT_INT_RANGE[0]))
        hi = int(spec.get("max_value", DEFAULT_INT_RANGE[1]))
        return hnp.from_dtype(dtype, min_value=lo, max_value=hi)
    lo_f = _representable(float(spec.get("min_value", DEFAULT_FLOAT_RANGE[0])), dtype, up=True)
    hi_f = _representable(float(spec.get("max_value", DEFAULT_FLOAT_RANGE[1])), dtype, up=False)
    allow_nan = bool(spec.get("allow_nan", False))
    allow_inf = bool(spec.get("allow_infinity", False))
    finite = hnp.from_dtype(dtype, min_value=lo_f, max_value=hi_f, allow_nan=False,
                            allow_infinity=False, allow_subnormal=False)
    options = [finite]
    if spec.get("zeros"):
        options.insert(0, st.sampled_from([0.0, -0.0]))
    if allow_nan:
        options.append(st.just(float("nan")))
    if allow_inf:
        options.append(st.sampled_from([float("inf"), float("-inf")]))
    return st.one_of(*options) if len(options) > 1 else finite


def _array(spec: dict[str, Any]) -> Draw:
    def strategy(drawn: dict[str, Any]) -> st.SearchStrategy[Any]:
        dtype = _dtype_of(spec["dtype"], drawn)
        if "shape" in spec:
            return _values(spec, dtype, _shape_of(spec["shape"], drawn))
        shapes = shapes_strategy(spec.get("min_dims", 0), spec.get("max_dims", 4),
                                 spec.get("min_side", 0), spec.get("max_side", 5))
        return shapes.flatmap(lambda shape: _values(spec, dtype, shape))

    def values_like(like: np.ndarray) -> st.SearchStrategy[Any]:
        return _values(spec, like.dtype, like.shape)

    return _ValueDraw(strategy, values_like)


def _values(spec: dict[str, Any], dtype: np.dtype,
            shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays of one shape and dtype, their elements as the entry asks."""
    arrays = hnp.arrays(dtype, shape, elements=_elements(dtype, spec))
    return arrays.map(_normal_in_float32) if dtype == np.float64 else arrays


class _ValueDraw:
    """A draw that holds values (an array's elements, a float): ``values_like(drawn)``
    draws new values of the same structure (shape and dtype) as an earlier draw."""

    def __init__(self, strategy: Draw,
                 values_like: Callable[[Any], st.SearchStrategy[Any]]) -> None:
        self.strategy = strategy
        self.values_like = values_like

    def __call__(self, drawn: dict[str, Any]) -> st.SearchStrategy[Any]:
        return self.strategy(drawn)


#: The shapes the deterministic profiles draw from, simplest first (hypothesis shrinks
#: towards the front).  ``SHAPE_COVERAGE`` below says what the pool must contain and why;
#: tests/test_coverage_model.py checks it.  A bounded pool lets backends that compile per
#: shape (JAX: ~30-70 ms per operation and new shape) reuse their compilations across
#: examples; the ``explore`` profile draws any shape instead.
SHAPE_POOL: tuple[tuple[int, ...], ...] = (
    (), (1,), (0,), (4,), (2, 3), (2, 2), (1, 5), (3, 1), (3, 0), (3, 3), (2, 1, 4),
    (2, 3, 2), (1, 0, 2), (2, 2, 1, 3), (1, 3, 2, 2), (2, 0, 1, 2), (3, 4, 5), (5,),
)

#: The coverage model for shapes: what every bounded draw of the deterministic profiles
#: can reach, each with the class of fault it is there to expose (see the module docstring).
SHAPE_COVERAGE: dict[str, str] = {
    "0-d": "scalars: reductions to 0-d, 0-d cumsum and indexing edge cases",
    "size-0 axis at every rank 1-4": "empty inputs: identities of sums, empty slices and cats",
    "size-1 axis at every rank 2-4": "broadcasting and keepdims: a length-1 axis is copied",
    "every rank 1-4": "axis arithmetic: the last axis, negative axes, keepdims at each rank",
    "square matrices of side 2 and 3": "equal sides catch axis and transpose confusions by value",
    "non-square matrices of sides >= 2": "distinct sides catch the same confusions by shape",
    "an axis longer than 3 at rank 1 and rank 3": "off-by-one and blocked-loop faults "
                                                   "(cumsum, slicing, dot tails)",
    "a 3-d shape with all sides distinct": "every axis of a 3-d reduction is told apart by shape",
}

UNBOUNDED_PROFILES = ("explore",)


def _is_square(shape: tuple[int, ...]) -> bool:
    return len(shape) == 2 and shape[0] == shape[1] >= 2


def _rank_strata(pool: list[tuple[int, ...]]) -> list[list[tuple[int, ...]]]:
    """The pool split by rank, simplest rank first; within rank 2, square and
    non-square matrices weighted equally (each listed as often as the other kind has
    members, so that sampling a stratum picks either kind half the time)."""
    by_rank: dict[int, list[tuple[int, ...]]] = {}
    for shape in pool:
        by_rank.setdefault(len(shape), []).append(shape)
    strata = []
    for _, shapes in sorted(by_rank.items()):
        squares = [s for s in shapes if _is_square(s)]
        others = [s for s in shapes if not _is_square(s)]
        balanced = others * len(squares) + squares * len(others) if squares and others else shapes
        strata.append(balanced)
    return strata


def shapes_strategy(min_dims: int, max_dims: int, min_side: int,
                    max_side: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes within the bounds: from ``SHAPE_POOL`` in the deterministic profiles,
    any shape in the ``explore`` profile.

    From the pool, every allowed rank is drawn equally often, and at rank 2 square and
    non-square matrices equally often (the coverage model's strata).  Sampling the
    pool as one list let one kind of input starve another: with "half the draws
    square" the L1-norm case drew a vector of two or more elements in few of its 100
    examples, and with the pool alone the torch mean_axis cell drew no float square.
    Hypothesis's derandomized draws repeat earlier examples, so each stratum needs a
    share of the draws, not just a place in the pool."""
    pool = [s for s in SHAPE_POOL if min_dims <= len(s) <= max_dims
            and all(min_side <= n <= max_side for n in s)]
    if pool and settings.get_current_profile_name() not in UNBOUNDED_PROFILES:
        strata = [st.sampled_from(stratum) for stratum in _rank_strata(pool)]
        return st.one_of(*strata) if len(strata) > 1 else strata[0]
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _integers(spec: dict[str, Any]) -> Draw:
    return lambda drawn: st.integers(min_value=_ref(spec.get("min_value"), drawn),
                                     max_value=_ref(spec.get("max_value"), drawn))


def _axis_of(name: str) -> Draw:
    """An axis of a drawn array, negative ones included (axis -1 is the last); a 0-d
    array has axes 0 and -1, as in PyTorch."""

    def strategy(drawn: dict[str, Any]) -> st.SearchStrategy[Any]:
        ndim = max(np.ndim(drawn[name]), 1)
        return st.integers(min_value=-ndim, max_value=ndim - 1)

    return strategy


def _fixed(strategy: st.SearchStrategy[Any]) -> Draw:
    return lambda drawn: strategy


def build(name: str, entry: dict[str, Any]) -> Draw:
    """The strategy maker for one ``given:`` entry (already schema-validated)."""
    (kind, spec), = entry.items()
    if kind == "array":
        return _array(spec)
    if kind == "integers":
        return _integers(spec)
    if kind == "axis_of":
        return _axis_of(spec)
    if kind == "floats":
        floats = st.floats(min_value=spec.get("min_value"), max_value=spec.get("max_value"),
                           allow_nan=spec.get("allow_nan", False),
                           allow_infinity=spec.get("allow_infinity", False)
                           ).map(_normal_in_float32)
        return _ValueDraw(_fixed(floats), lambda like: floats)
    if kind == "booleans":
        return _fixed(st.booleans())
    if kind in ("sampled_from", "dtypes"):
        return _fixed(st.sampled_from(spec))
    if kind == "shape":
        return lambda drawn: shapes_strategy(spec.get("min_dims", 0), spec.get("max_dims", 4),
                                             spec.get("min_side", 0), spec.get("max_side", 5))
    if kind == "broadcastable_shapes":
        return _fixed(
            hnp.mutually_broadcastable_shapes(
                num_shapes=spec["num_shapes"], min_dims=spec.get("min_dims", 0),
                max_dims=spec.get("max_dims", 4), min_side=spec.get("min_side", 0),
                max_side=spec.get("max_side", 5),
            ).map(lambda bs: bs.input_shapes)
        )
    raise ValueError(f"{name}: unknown draw {kind!r}")  # pragma: no cover - schema rejects


def draw_all(data: st.DataObject, given: dict[str, Draw]) -> dict[str, Any]:
    """Draw every variable in order; each draw is labelled with its name."""
    drawn: dict[str, Any] = {}
    for name, strategy_for in given.items():
        drawn[name] = data.draw(strategy_for(drawn), label=name)
    return drawn


def draw_values_like(data: st.DataObject, given: dict[str, Draw],
                     like: dict[str, Any]) -> dict[str, Any]:
    """Another example of the same structure as ``like`` (an earlier ``draw_all``): every
    array's elements and every float drawn anew, every other variable (shapes, dtypes,
    sizes, axes, booleans, choices) as in ``like``."""
    drawn: dict[str, Any] = {}
    for name, strategy_for in given.items():
        if isinstance(strategy_for, _ValueDraw):
            drawn[name] = data.draw(strategy_for.values_like(like[name]), label=name)
        else:
            drawn[name] = like[name]
    return drawn


#: The coverage model for the shared examples of the deterministic profiles (corpus.py):
#: a case draws at most this many structures (the shapes, dtypes, sizes, axes and
#: choices of one draw), each filled with values ``examples // STRUCTURES`` times.  A
#: backend that compiles per input signature (JAX: about 10 ms of lowering each)
#: compiles once per structure; values, where the arithmetic faults show, stay as many
#: as the examples.  A profile with fewer examples draws a structure for each.
STRUCTURES = 25
#: structures drawn by one hypothesis test case: its generator often repeats the start
#: of an earlier test case's choices, so test cases of one structure each repeated
#: structures (13 distinct of 25 on average over the specs, and some case never drew a
#: square matrix); the second structure of a test case, drawn after the first's values,
#: is repeated less (17 distinct of 26, every need of tests/test_coverage_model.py met)
STRUCTURES_PER_TEST_CASE = 2


@dataclass(frozen=True)
class Sharing:
    """How ``examples`` shared examples are drawn: ``test_cases`` hypothesis test cases
    of ``structures`` structures, each filled with values ``values`` times."""

    test_cases: int
    structures: int
    values: int

    @classmethod
    def of(cls, examples: int) -> Sharing:
        values = max(1, examples // STRUCTURES)
        structures = STRUCTURES_PER_TEST_CASE if values > 1 else 1
        return cls(-(-examples // (structures * values)), structures, values)


def draw_sharing_structure(data: st.DataObject, given: dict[str, Draw],
                           keep: Callable[[dict[str, Any]], T | None],
                           sharing: Sharing) -> list[T]:
    """One test case's examples: for each of ``sharing.structures`` structures, a new
    draw (``draw_all``), then new values for it (``draw_values_like``) until
    ``sharing.values`` examples are kept.  ``keep`` turns drawn variables into an
    example, or None where it cannot be used (it may draw more, a seed); unusable
    draws are replaced, at most ``2 * sharing.values`` draws per structure; a test
    case that keeps nothing is rejected.

    What is drawn depends only on the test case's own choices, as hypothesis requires
    (it replays choice sequences): no state is kept across test cases."""
    kept: list[T] = []
    for _ in range(sharing.structures):
        structure = draw_all(data, given)
        variables = structure
        found = 0
        for _ in range(2 * sharing.values):
            example = keep(variables)
            if example is not None:
                kept.append(example)
                found += 1
                if found == sharing.values:
                    break
            variables = draw_values_like(data, given, structure)
    if not kept:
        reject()
    return kept
