"""Integer accumulators follow the backend's declared policy (issue 9, item 7).

Measured: PyTorch, NumPy and JAX (x64 or not) sum bool and integer tensors in the wider
of the input's dtype and their default int; none narrows int64 where it holds int64.
A backend with default int32 and int64 available (a lazy library, as a new user plugged
in) must not be told that sum(int64) should be int32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tensor_conformance.adapters.protocol import DtypePolicy
from tensor_conformance.adapters.reference import ops
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tests.conftest import ROOT

#: default int32, int64 available, accumulators never narrow
LAZY = DtypePolicy(default_int="int32", default_float="float32", max_bits=64)


def _ref(values: list, dtype: str, policy: DtypePolicy) -> ops.Tensor:
    return ReferenceAdapter(policy).from_host(np.array(values, dtype=dtype))


@pytest.mark.parametrize(("dtype", "expected"), [("int64", "int64"), ("int32", "int32"),
                                                  ("bool", "int32")])
def test_sums_never_narrow_under_an_at_least_default_policy(dtype: str, expected: str) -> None:
    x = _ref([1, 0, 1], dtype, LAZY)
    assert ops.sum_(x, None, False, LAZY).dtype == expected
    assert ops.sum_(x, 0, True, LAZY).dtype == expected
    assert ops.cumsum(x, 0, LAZY).dtype == expected


def test_a_policy_may_declare_narrowing_accumulators() -> None:
    narrowing = DtypePolicy(default_int="int32", max_bits=64, int_accumulator="default")
    assert ops.sum_(_ref([1, 2], "int64", narrowing), None, False, narrowing).dtype == "int32"


def test_the_documented_policy_accumulates_every_integer_in_int64() -> None:
    torch_like = DtypePolicy()
    for dtype in ("bool", "int32", "int64"):
        assert ops.sum_(_ref([1, 1], dtype, torch_like), None, False, torch_like).dtype == "int64"


def test_an_unknown_accumulator_rule_is_named() -> None:
    bad = DtypePolicy(int_accumulator="widest")
    with pytest.raises(ValueError, match="int_accumulator 'widest'"):
        ops.sum_(_ref([1], "int32", bad), None, False, bad)


SUMS = """
title: integer sums keep the shape rules of the notes
claims: [T14, T15, T20]
cases:
  - id: integer_sums
    given:
      dtype: {dtypes: [int32, int64, bool]}
      A: {array: {dtype: dtype, min_dims: 1}}
      axis: {axis_of: A}
    code: |
      A.sum()
      A.sum(axis=axis)
      A.cumsum(axis=axis)
    holds:
      - "A.sum().shape == ()"
"""

LAZY_BACKEND = '''
import numpy as np
from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.adapters.protocol import DtypePolicy


class LazyInt32Adapter(NumpyAdapter):
    """NumPy with default int32 and int64 available, accumulating as PyTorch does: in the
    wider of the input's dtype and the default int."""
    name = "lazy-int32"

    def __init__(self):
        self.policy = DtypePolicy(default_int="int32", default_float="float64", max_bits=64,
                                  int_float_promotion="widest", int_accumulator="at_least_default")

    @staticmethod
    def _acc(x):
        return None if x.dtype.kind == "f" else np.result_type(x.dtype, np.int32)

    def sum(self, x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims, dtype=self._acc(x))

    def cumsum(self, x, axis):
        return np.cumsum(x, axis=axis, dtype=self._acc(x))
'''


def test_a_default_int32_backend_with_int64_gives_no_false_alarm(
    pytester: pytest.Pytester, specs_dir: Path, tmp_path: Path
) -> None:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "integer_sums.yaml").write_text(SUMS, encoding="utf-8")
    adapter = tmp_path / "lazy_backend.py"
    adapter.write_text(LAZY_BACKEND, encoding="utf-8")
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"), "--specs", str(specs_dir), "--report-dir", str(reports),
        "--backend", f"{adapter}:LazyInt32Adapter", "--hypothesis-profile=quick",
        "-p", "no:cacheprovider", "--rootdir", str(ROOT),
    )
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert [(c["case"], c["outcome"]) for c in cells] == [("integer_sums", "pass")], \
        result.stdout.str()
    assert result.ret == 0
