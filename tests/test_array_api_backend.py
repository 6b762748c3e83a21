"""``--backend array-api:MODULE`` (adapters/array_api_backend.py): an adapter built from the
Array API standard's own functions, checked on NumPy and on array_api_strict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tensor_conformance.adapters import registry
from tensor_conformance.adapters.array_api_backend import ArrayApiAdapter
from tensor_conformance.reproducer import reproducer
from tests.test_suite_runs import cumsum_specs, run_suite  # noqa: F401

MODULES = ("numpy", "array_api_strict")


@pytest.fixture(params=MODULES)
def adapter(request: pytest.FixtureRequest) -> Any:
    pytest.importorskip(request.param)
    loaded = registry.load(f"array-api:{request.param}")
    assert isinstance(loaded, ArrayApiAdapter)
    return loaded


def test_it_is_named_after_the_module_and_declares_what_the_standard_guarantees(adapter: Any) -> None:
    assert adapter.name == f"array-api:{adapter.module}"
    assert adapter.imports == f"import {adapter.module} as xp"
    assert adapter.capabilities == frozenset()
    assert set(adapter.missing) == {"in_place", "autograd", "random", "compile"}
    assert "does not guarantee that arrays are mutable" in adapter.missing["in_place"]
    versions = adapter.versions()
    assert versions[adapter.module] and versions["array API"] == adapter.xp.__array_api_version__
    # the policy is the namespace's own inspection API
    defaults = adapter.xp.__array_namespace_info__().default_dtypes()
    assert adapter.policy.default_float == str(np.dtype(str(defaults["real floating"]).split(".")[-1]))
    assert adapter.policy.default_int == "int64"


def test_mixed_kind_promotion_is_read_from_the_library() -> None:
    pytest.importorskip("array_api_strict")
    assert ArrayApiAdapter("numpy").policy.int_float_promotion == "widest"  # int32 + float32 -> float64
    # array_api_strict refuses int32 + float32: either rule expects the same failure
    assert ArrayApiAdapter("array_api_strict").policy.int_float_promotion == "float_operand"


def test_values_cross_the_boundary_both_ways(adapter: Any) -> None:
    for host in (np.arange(6, dtype=np.int32).reshape(2, 3), np.array(2.5), np.array([True, False])):
        value = adapter.from_host(host)
        assert adapter.is_tensor(value)
        back = adapter.to_host(value)
        assert back.dtype == host.dtype and back.shape == host.shape and np.array_equal(back, host)
    assert not adapter.is_tensor(3) and not adapter.is_tensor([1, 2])


def test_the_notes_operations_are_the_standards_functions(
    adapter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    xp = adapter.xp
    called: list[str] = []
    for name in ("cumulative_sum", "concat", "vecdot", "matmul"):
        original = getattr(xp, name)
        monkeypatch.setattr(xp, name, lambda *a, _o=original, _n=name, **k: (called.append(_n),
                                                                           _o(*a, **k))[1])
    for name in ("matrix_norm", "vector_norm"):
        original = getattr(xp.linalg, name)
        monkeypatch.setattr(xp.linalg, name, lambda *a, _o=original, _n=name, **k: (called.append(_n),
                                                                                  _o(*a, **k))[1])
    A = adapter.from_host(np.arange(6, dtype=np.float64).reshape(2, 3))
    v = adapter.from_host(np.array([3.0, 4.0]))
    host = adapter.to_host
    assert host(adapter.cumsum(A, 1)).tolist() == [[0, 1, 3], [3, 7, 12]]
    assert host(adapter.cat([A, A], 0)).shape == (4, 3)
    assert host(adapter.dot(v, v)) == 25.0
    assert host(adapter.mv(adapter.transpose(A), v)).tolist() == [12.0, 19.0, 26.0]
    assert host(adapter.norm(A, 2)) == pytest.approx(np.sqrt(55.0))   # a matrix: matrix_norm
    assert host(adapter.norm(v, 2)) == 5.0                             # a vector: vector_norm
    assert host(adapter.norm(A, 1)) == 15.0                            # explicit p: entrywise
    assert called == ["cumulative_sum", "concat", "vecdot", "matmul", "matrix_norm",
                      "vector_norm", "vector_norm"]
    assert adapter.length(A) == 2 and adapter.numel(A) == 6 and adapter.shape(A) == (2, 3)
    assert host(adapter.sum(A, 0, True)).tolist() == [[3.0, 5.0, 7.0]]
    assert host(adapter.div(1, v)).tolist() == [1 / 3, 0.25]          # a Python scalar on the left
    # no dtype named: the library's default; named: that dtype
    assert host(adapter.arange(3, None)).dtype == np.int64
    assert host(adapter.zeros((2,), "float32")).dtype == np.float32


def test_a_reproducer_runs_in_the_namespace(adapter: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The notes' methods become the standard's functions: the pasted reproducer runs."""
    code = ("B = A.reshape(2, 3)\nB.sum(axis=0, keepdim=True)\nB.cumsum(dim=1)\nlen(B) + B.numel()\n"
            "torch.norm(B, p=1)\nB[-1, ...]")
    text = reproducer(adapter, code, {"A": np.arange(6, dtype=np.float32)})
    assert text.splitlines()[1] == f"import {adapter.module} as xp"
    assert "A = xp.asarray([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], dtype=xp.float32)" in text
    assert "print(xp.sum(B, axis=0, keepdims=True))" in text
    assert "print(xp.cumulative_sum(B, axis=1))" in text
    assert "print(B.shape[0] + B.size)" in text
    assert "print(xp.linalg.vector_norm(B, ord=1))" in text
    exec(compile(text, "<reproducer>", "exec"), {})
    assert "15" in capsys.readouterr().out


def test_a_module_that_is_no_array_api_namespace_is_a_usage_error_and_a_missing_one_unavailable() -> None:
    with pytest.raises(registry.AdapterError, match=r"--backend 'array-api:json': module 'json' is not "
                                                     "an Array API namespace"):
        registry.load("array-api:json")
    missing = registry.load("array-api:library_that_is_not_installed")
    assert isinstance(missing, registry.Unavailable)
    assert missing.reason.startswith("library_that_is_not_installed is not installed")


def test_the_suite_runs_on_array_api_strict(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    pytest.importorskip("array_api_strict")
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "array-api:array_api_strict")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert {(c["case"], c["backend"], c["outcome"]) for c in cells} == {
        ("notes", "array-api:array_api_strict", "pass"),
        ("any_axis", "array-api:array_api_strict", "pass"),
        # the standard has no autograd: the gradient cell says so and checks nothing
        ("any_axis/gradient", "array-api:array_api_strict", "not_applicable")}
    (gradient,) = [c for c in cells if c["kind"] == "gradient"]
    assert "autograd" in gradient["reason"], gradient
    assert all(c["checked_examples"] for c in cells if c["kind"] != "gradient")
