"""What the deterministic profile actually draws, case by case: does each case reach the
inputs of the coverage model (conformance/strategies.py) that its claim needs?

    python -m tensor_conformance.input_coverage                 # every case, ci profile (100 examples)
    python -m tensor_conformance.input_coverage -k mean --profile quick

Draws only (no backend runs): for every generated case, hypothesis draws its ``given:``
block as the suite's shared examples do (corpus.py; structures repeat, values are new
each time: ``strategies.draw_sharing_structure``) and the table counts, over those examples,
the draws with a vector of two or more elements, a square matrix (sides >= 2), a
non-square one, a negative axis, an axis longer than 3, a 0-d array, a size-0 axis, a
repeated value, a negative zero, and values of both signs.
The draws approximate the suite's own (hypothesis derandomizes per test function).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tensor_conformance import locations
from tensor_conformance.activation import register_profiles
from tensor_conformance.spec import Case, load_all
from tensor_conformance.strategies import Sharing, draw_sharing_structure

FEATURES = ("vector", "square", "non_square", "negative_axis", "long_axis", "zero_d", "size_0",
            "repeated", "negative_zero", "both_signs")


#: the ci profile's draws (conformance/conftest.py): deterministic, 100 examples
CI = settings(derandomize=True, database=None, max_examples=100)


def draws(case: Case, base: settings = CI) -> list[dict[str, Any]]:
    """The variables hypothesis draws for ``case`` under ``base`` (a profile's settings)."""
    seen: list[dict[str, Any]] = []
    sharing = Sharing.of(base.max_examples)

    @settings(base, max_examples=sharing.test_cases, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        seen.extend(draw_sharing_structure(data, case.given, lambda variables: variables,
                                          sharing))

    collect()
    return seen[:base.max_examples]


def axis_names(case: Case) -> set[str]:
    """The variables drawn as an axis of an array (``axis_of``)."""
    return {name for name, entry in case.given_spec.items() if "axis_of" in entry}


def features(variables: dict[str, Any], axis_names: set[str]) -> set[str]:
    """The coverage-model features one example's draws have."""
    found: set[str] = set()
    for name, value in variables.items():
        if name in axis_names and isinstance(value, int) and value < 0:
            found.add("negative_axis")
        if not isinstance(value, np.ndarray):
            continue
        shape = value.shape
        if len(shape) == 1 and shape[0] >= 2:
            found.add("vector")
        if len(shape) == 2 and shape[0] == shape[1] >= 2:
            found.add("square")
        if len(shape) == 2 and shape[0] != shape[1] and min(shape) >= 2:
            found.add("non_square")
        if any(n > 3 for n in shape):
            found.add("long_axis")
        if value.ndim == 0:
            found.add("zero_d")
        if 0 in shape:
            found.add("size_0")
        flat = value.reshape(-1)
        if flat.size > 1 and len(np.unique(flat)) < flat.size:
            found.add("repeated")
        if value.dtype.kind == "f":
            if np.any((flat == 0) & np.signbit(flat)):
                found.add("negative_zero")
            if np.any(flat > 0) and np.any(flat < 0):
                found.add("both_signs")
        elif value.dtype.kind in "iu" and np.any(flat > 0) and np.any(flat < 0):
            found.add("both_signs")
    return found


def measure(case: Case, base: settings = CI) -> tuple[int, Counter[str]]:
    examples = draws(case, base)
    counts: Counter[str] = Counter()
    for variables in examples:
        counts.update(features(variables, axis_names(case)))
    return len(examples), counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only specs/cases whose id contains this")
    parser.add_argument("--profile", default="ci")
    args = parser.parse_args()
    register_profiles()

    base = settings.get_profile(args.profile)
    specs, _ = load_all(locations.SPECS)
    print(f"{'case':<58}{'n':>4}" + "".join(f"{f[:8]:>9}" for f in FEATURES))
    for spec in specs:
        for case in spec.cases:
            cid = f"{spec.id}/{case.id}"
            if args.k not in cid:
                continue
            n, counts = measure(case, base)
            print(f"{cid:<58}{n:>4}" + "".join(f"{counts[f]:>9}" for f in FEATURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
