"""The coverage model (conformance/strategies.py): the deterministic profile's inputs
reach what the notes' behaviours need, so that faults there can show.

The shape pool is checked requirement by requirement (``SHAPE_COVERAGE``); then the
draws of the cases whose claims need a feature are measured as the ci profile makes
them (conformance/input_coverage.py): a square matrix for axis and transpose
confusions, a negative axis, an axis longer than 3, negative zero, cancelling signs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tensor_conformance.input_coverage import draws, measure
from tensor_conformance.spec import Case, load_all
from tensor_conformance.strategies import SHAPE_COVERAGE, SHAPE_POOL
from tests.conftest import SPECS

Shape = tuple[int, ...]


def _ranks(pool: tuple[Shape, ...], test: Callable[[Shape], bool]) -> set[int]:
    return {len(s) for s in pool if test(s)}


#: each requirement of SHAPE_COVERAGE as a check on the pool
CHECKS: dict[str, Callable[[tuple[Shape, ...]], bool]] = {
    "0-d": lambda pool: () in pool,
    "size-0 axis at every rank 1-4": lambda pool: _ranks(pool, lambda s: 0 in s) >= {1, 2, 3, 4},
    "size-1 axis at every rank 2-4": lambda pool: _ranks(pool, lambda s: 1 in s) >= {2, 3, 4},
    "every rank 1-4": lambda pool: {len(s) for s in pool} >= {0, 1, 2, 3, 4},
    "square matrices of side 2 and 3": lambda pool: {(2, 2), (3, 3)} <= set(pool),
    "non-square matrices of sides >= 2": lambda pool: any(
        len(s) == 2 and s[0] != s[1] and min(s) >= 2 for s in pool),
    "an axis longer than 3 at rank 1 and rank 3": lambda pool: _ranks(
        pool, lambda s: max(s, default=0) > 3) >= {1, 3},
    "a 3-d shape with all sides distinct": lambda pool: any(
        len(s) == 3 and len(set(s)) == 3 and min(s) >= 2 for s in pool),
}


def test_every_requirement_has_a_check() -> None:
    assert set(CHECKS) == set(SHAPE_COVERAGE)


@pytest.mark.parametrize("requirement", sorted(SHAPE_COVERAGE))
def test_the_shape_pool_meets_the_coverage_model(requirement: str) -> None:
    assert CHECKS[requirement](SHAPE_POOL), f"SHAPE_POOL lacks: {requirement}"


def test_the_pool_is_ordered_simplest_first_and_has_no_duplicates() -> None:
    assert len(set(SHAPE_POOL)) == len(SHAPE_POOL)
    assert SHAPE_POOL[0] == ()  # hypothesis shrinks towards the front


#: spec/case -> what its draws must include within the ci profile's 100 examples
NEEDS: dict[str, set[str]] = {
    # the wrong axis on a square input keeps the shape: only the values show it
    "tensors/mean/mean_axis": {"square", "negative_axis", "long_axis", "size_0"},
    "tensors/sum_axis/keepdims": {"square", "negative_axis", "long_axis"},
    "tensors/cumsum/any_axis": {"negative_axis", "long_axis", "square"},
    "tensors/cat/any_axis": {"negative_axis", "square"},
    "linear_algebra/transpose/elements": {"square", "non_square"},
    "linear_algebra/mv/rows": {"square", "non_square"},
    "linear_algebra/mm/entries": {"square", "non_square"},
    "tensors/sum_all/any_tensor": {"zero_d", "size_0", "repeated", "both_signs"},
    "tensors/elementwise/same_dtype": {"negative_zero", "repeated", "both_signs"},
    "calculus/scalar_by_vector/abs_at_its_kink": {"negative_zero"},
    "tensors/indexing/any_index": {"long_axis"},
    # an L1 norm that is the largest |x_i| is right on one element: only vectors show it
    "linear_algebra/norms/vectors": {"vector", "negative_zero", "both_signs"},
    # a norm that drops a tall matrix's rows past its square part: X and X.T of a
    # non-square X (both sides >= 2) are a tall and a wide matrix
    "linear_algebra/norms/frobenius": {"non_square", "square"},
}


def _case(path: str) -> Case:
    spec_id, _, case_id = path.rpartition("/")
    specs, _ = load_all(SPECS)
    return next(c for s in specs if s.id == spec_id for c in s.cases if c.id == case_id)


@pytest.mark.parametrize("path", sorted(NEEDS))
def test_the_ci_profile_draws_what_each_claim_needs(path: str) -> None:
    examples, counts = measure(_case(path))
    missing = sorted(f for f in NEEDS[path] if counts[f] == 0)
    assert not missing, f"{path}: none of {examples} ci examples has {missing} ({dict(counts)})"


def test_indexing_from_the_end_draws_an_index_that_is_neither_the_last_nor_the_first() -> None:
    # X[-k] for 2 <= k < n: an off-by-one that spares X[-1] and X[-n] shows only there
    # (the any_index case, whose axes are short, drew none in the ci profile when measured)
    case = _case("tensors/indexing/from_end")
    inside = [d for d in draws(case)
              if 2 <= 1 + (d["j"] - 1) % d["X"].shape[0] < d["X"].shape[0]]
    assert len(inside) >= 4, f"{len(inside)} of the ci draws index inside from the end"
