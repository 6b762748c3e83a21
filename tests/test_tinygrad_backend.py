"""The tinygrad adapter (adapters/tinygrad_backend.py): a built-in, opt-in backend.

It calls tinygrad's own functions (a patched tinygrad method changes what the adapter
returns), says why the cells it cannot run are not applicable (no clang: no device; no
``norm``, no ``zero_``), and its autograd is tinygrad's implicit tracking.  Skipped where
tinygrad is not installed; the tests that run tinygrad are skipped where clang is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tensor_conformance.adapters import registry
from tensor_conformance.adapters.protocol import REQUIRED
from tensor_conformance.requirements import missing_method
from tensor_conformance.spec import load_all
from tests.conftest import ROOT, SPECS

pytest.importorskip("tinygrad", reason="tinygrad is not installed (pip install -e '.[tinygrad]')")

needs_clang = pytest.mark.skipif(shutil.which(os.environ.get("CC", "clang")) is None,
                                 reason="no clang on PATH: tinygrad's CPU device cannot compile")


@pytest.fixture
def adapter() -> Any:
    loaded = registry.load("tinygrad")
    assert not isinstance(loaded, registry.Unavailable), loaded
    with loaded.context():
        yield loaded


def host(adapter: Any, value: Any) -> np.ndarray:
    return adapter.to_host(value)


def test_is_a_built_in_backend_that_runs_only_when_asked() -> None:
    assert registry.BUILTIN["tinygrad"].endswith("tinygrad_backend:TinygradAdapter")
    assert "tinygrad" not in registry.DEFAULT_BACKENDS


def test_without_clang_the_backend_is_not_applicable_with_that_reason(tmp_path: Path) -> None:
    """A fresh process with no clang on PATH and an empty kernel cache: tinygrad cannot
    open its CPU device, and the backend says so (never a crash or a failure)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    code = ("from tensor_conformance.adapters import registry\n"
            "loaded = registry.load('tinygrad')\n"
            "print(type(loaded).__name__, loaded.reason)\n")
    env = {**os.environ, "PATH": str(empty), "CACHEDB": str(tmp_path / "cache.db"),
           "PYTHONPATH": str(ROOT)}
    env.pop("CC", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.startswith("Unavailable "), out
    assert "clang" in out and "apt-get install clang" in out


@needs_clang
def test_with_a_warm_kernel_cache_but_no_clang_it_is_not_applicable_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    loaded = registry.load("tinygrad")
    assert isinstance(loaded, registry.Unavailable)
    assert "clang binary, which is not on PATH" in loaded.reason


@needs_clang
def test_declares_what_tinygrad_has_and_why_not_the_rest(adapter: Any) -> None:
    assert all(hasattr(adapter, m) for m in REQUIRED)
    assert all(hasattr(adapter, m) for m in ("requires_grad_", "grad", "backward", "detach"))
    assert adapter.capabilities == {"in_place", "autograd", "random"}
    assert set(adapter.missing) == {"compile", "norm", "zero_"}
    assert not hasattr(adapter, "norm") and not hasattr(adapter, "zero_")


@needs_clang
def test_dtype_policy_is_what_tinygrad_picks(adapter: Any) -> None:
    from tensor_conformance.adapters.protocol import NOT_GIVEN

    assert host(adapter, adapter.tensor([1, 2], NOT_GIVEN)).dtype == np.int32
    assert host(adapter, adapter.arange(3, NOT_GIVEN)).dtype == np.int32
    assert host(adapter, adapter.tensor([1.0], NOT_GIVEN)).dtype == np.float32
    assert host(adapter, adapter.zeros((2,), NOT_GIVEN)).dtype == np.float32
    assert host(adapter, adapter.tensor([1], "int64")).dtype == np.int64
    assert (adapter.policy.default_int, adapter.policy.default_float) == ("int32", "float32")


@needs_clang
def test_operations_are_tinygrads_own(adapter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A patched tinygrad method is what the adapter returns: nothing is re-derived."""
    from tinygrad import Tensor

    A = adapter.reshape(adapter.arange(6.0, None), (2, 3))
    v = adapter.from_host(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    checks = [
        ("sum", lambda: adapter.sum(A, 0, False), [103.0, 105.0, 107.0]),
        ("mean", lambda: adapter.mean(A, None, False), 102.5),
        ("cumsum", lambda: adapter.cumsum(A, 1), [[100.0, 101.0, 103.0], [103.0, 107.0, 112.0]]),
        ("dot", lambda: adapter.dot(v, v), 114.0),
        ("matmul", lambda: adapter.mv(A, v), [108.0, 126.0]),
        ("cat", lambda: adapter.cat([v, v], 0), [101.0, 102.0, 103.0] * 2),
        ("abs", lambda: adapter.abs(v), [101.0, 102.0, 103.0]),
    ]
    for method, call, expected in checks:
        with monkeypatch.context() as patch:
            original = getattr(Tensor, method)
            patch.setattr(Tensor, method, lambda *a, _f=original, **k: _f(*a, **k) + 100)
            assert host(adapter, call()).tolist() == expected, method


@needs_clang
def test_in_place_writes_keep_the_object(adapter: Any) -> None:
    X = adapter.zeros((2, 3), "float32")
    before = id(X)
    adapter.setitem(X, (1, 2), 9.0)
    X = adapter.iadd(X, adapter.ones((2, 3), "float32"))
    assert id(X) == before
    assert host(adapter, X).tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 10.0]]


@needs_clang
def test_autograd_is_implicit_tracking(adapter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """requires_grad_ is x itself (tinygrad has nothing to mark); backward() is tinygrad's
    and fills .grad of the float tensors in the graph; gradients accumulate."""
    from tinygrad import Tensor

    x = adapter.from_host(np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32))
    assert adapter.requires_grad_(x) is x
    assert adapter.grad(x) is None
    calls = []
    original = Tensor.backward

    def recorded(y: Any, *a: Any, **k: Any) -> Any:
        calls.append(y)
        return original(y, *a, **k)

    monkeypatch.setattr(Tensor, "backward", recorded)
    y = adapter.mul(2, adapter.dot(x, x))
    adapter.backward(y)
    assert calls == [y]
    assert host(adapter, adapter.grad(x)).tolist() == [0.0, 4.0, 8.0, 12.0]
    adapter.backward(adapter.sum(x, None, False))
    assert host(adapter, adapter.grad(x)).tolist() == [1.0, 5.0, 9.0, 13.0]


@needs_clang
def test_a_truth_value_is_read_with_item(adapter: Any) -> None:
    assert adapter.to_bool(adapter.gt(adapter.tensor([2.0], "float32"), 1)) is True
    with pytest.raises(TypeError):  # tinygrad's own bool() refuses
        bool(adapter.tensor([2.0], "float32"))


def test_cells_that_need_norm_or_zero_say_tinygrad_has_none() -> None:
    from tensor_conformance.adapters.tinygrad_backend import TinygradAdapter

    specs = {s.id: s for s in load_all(SPECS)[0]}
    norms = specs["linear_algebra/norms"].cases[0]
    accumulation = specs["autograd/accumulation"].examples[0]
    norm_reason = missing_method(norms, TinygradAdapter)
    zero_reason = missing_method(accumulation, TinygradAdapter)
    assert norm_reason is not None and "tinygrad has no norm function" in norm_reason
    assert zero_reason is not None and "has no zero_() method" in zero_reason


@needs_clang
def test_reproducers_are_in_tinygrads_spelling(adapter: Any) -> None:
    from tensor_conformance.reproducer import reproducer

    text = reproducer(adapter, "torch.cat((X, X), dim=0)\nX.sum(axis=0, keepdims=True)",
                      {"X": np.array([[1.0, 2.0]], dtype=np.float32),
                       "E": np.zeros((0, 2), dtype=np.int64)})
    assert "from tinygrad import Tensor, dtypes" in text
    assert "X = Tensor([[1.0, 2.0]], dtype=dtypes.float32)" in text
    assert "E = Tensor.zeros(0, 2, dtype=dtypes.int64)" in text
    assert "print(Tensor.cat(*(X, X), dim=0))" in text
    assert "print(X.sum(axis=0, keepdim=True))" in text
