"""The torch, jax and jax-x64 adapters against values the PyTorch documentation shows.

Each test runs inside the adapter's ``context()``, as the engine does.  A backend
whose library is not installed is skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from adapters import registry
from adapters.protocol import (
    CAPABILITIES,
    Adapter,
    Autograd,
    DtypePolicy,
    NotApplicable,
)

BACKENDS = ("torch", "jax", "jax-x64")

#: what each backend picks when the program names no dtype
EXPECTED_DEFAULTS = {
    "torch": ("int64", "float32"),
    "jax": ("int32", "float32"),
    "jax-x64": ("int64", "float64"),
}


def _make(name: str) -> Any:
    pytest.importorskip("jax" if name.startswith("jax") else "torch")
    adapter = registry.load(name)
    assert not isinstance(adapter, registry.Unavailable), adapter
    return adapter


@contextlib.contextmanager
def _inside(adapter: Any) -> Iterator[Any]:
    context = getattr(adapter, "context", contextlib.nullcontext)
    with context():
        yield adapter


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    with _inside(_make(request.param)) as adapter:
        yield adapter


def host(adapter: Any, value: Any) -> np.ndarray:
    return adapter.to_host(value)


def dtype_of(adapter: Any, value: Any) -> str:
    return host(adapter, value).dtype.name


# -- the protocol ------------------------------------------------------------------


def test_is_an_adapter(backend: Any) -> None:
    assert isinstance(backend, Adapter)
    assert isinstance(backend.policy, DtypePolicy)
    assert backend.capabilities <= set(CAPABILITIES)
    # every capability is either present or explained
    assert set(CAPABILITIES) <= backend.capabilities | set(backend.missing)
    assert all(backend.missing[c] for c in set(CAPABILITIES) - backend.capabilities)
    assert backend.namespace in {"torch", "jnp"}
    assert backend.imports.startswith("import ")
    versions = backend.versions()
    assert versions and all(isinstance(v, str) and v for v in versions.values())


def test_names_and_capabilities() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    torch_adapter, jax_adapter, x64_adapter = (_make(n) for n in BACKENDS)
    assert (torch_adapter.name, jax_adapter.name, x64_adapter.name) == BACKENDS
    assert torch_adapter.capabilities == {"in_place", "autograd", "random"}
    assert isinstance(torch_adapter, Autograd)
    for adapter in (jax_adapter, x64_adapter):
        # autograd is there through a functional equivalent (jax.grad), and says so
        assert adapter.capabilities == {"random", "autograd", "compile"}
        assert "X.at[i].set(v)" in adapter.missing["in_place"]
        assert "jax.grad" in adapter.functional["autograd"]
        assert isinstance(adapter, Autograd)
        assert set(adapter.versions()) == {"jax", "jaxlib"}
    assert torch_adapter.versions().keys() == {"torch"}


def test_torch_cuda_unavailable_without_a_device() -> None:
    torch = pytest.importorskip("torch")
    loaded = registry.load("torch-cuda")
    if torch.cuda.is_available():
        assert loaded.name == "torch-cuda"
        assert host(loaded, loaded.arange(3, None)).tolist() == [0, 1, 2]
    else:
        assert isinstance(loaded, registry.Unavailable)
        assert loaded.reason == "no CUDA device: torch.cuda.is_available() is False"


# -- values from the documentation -------------------------------------------------


def test_arange_and_reshape(backend: Any) -> None:
    x = backend.arange(12, None)
    assert host(backend, x).tolist() == list(range(12))
    assert backend.shape(x) == (12,)
    assert backend.numel(x) == 12
    assert backend.length(x) == 12
    X = backend.reshape(x, (3, 4))
    assert backend.shape(X) == (3, 4)
    assert host(backend, X).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert backend.shape(backend.transpose(X)) == (4, 3)


def test_sum_along_axes(backend: Any) -> None:
    A = backend.reshape(backend.arange(20, "float32"), (5, 4))
    assert host(backend, backend.sum(A, 0, False)).tolist() == [40.0, 45.0, 50.0, 55.0]
    assert host(backend, backend.sum(A, 1, False)).tolist() == [6.0, 22.0, 38.0, 54.0, 70.0]
    assert host(backend, backend.sum(A, None, False)).tolist() == 190.0
    assert backend.shape(backend.sum(A, 1, True)) == (5, 1)
    assert backend.shape(backend.sum(A, None, True)) == (1, 1)
    assert host(backend, backend.mean(A, None, False)).tolist() == 9.5
    assert host(backend, backend.mean(A, 0, False)).tolist() == [8.0, 9.0, 10.0, 11.0]


def test_cumsum(backend: Any) -> None:
    A = backend.reshape(backend.arange(20, "float32"), (5, 4))
    assert host(backend, backend.cumsum(A, 0)).tolist() == [
        [0.0, 1.0, 2.0, 3.0],
        [4.0, 6.0, 8.0, 10.0],
        [12.0, 15.0, 18.0, 21.0],
        [24.0, 28.0, 32.0, 36.0],
        [40.0, 45.0, 50.0, 55.0],
    ]


def test_products(backend: Any) -> None:
    A = backend.reshape(backend.arange(20, "float32"), (5, 4))
    x = backend.arange(4, "float32")
    y = backend.ones((4,), "float32")
    assert host(backend, backend.dot(x, y)).tolist() == 6.0
    assert host(backend, backend.mv(A, x)).tolist() == [14.0, 38.0, 62.0, 86.0, 110.0]
    B = backend.ones((4, 3), None)
    assert host(backend, backend.mm(A, B)).tolist() == [[6.0] * 3, [22.0] * 3, [38.0] * 3,
                                                      [54.0] * 3, [70.0] * 3]


def test_norms(backend: Any) -> None:
    u = backend.tensor([3.0, -4.0], None)
    assert host(backend, backend.norm(u, 2)).tolist() == pytest.approx(5.0)
    assert host(backend, backend.norm(u, 1)).tolist() == pytest.approx(7.0)
    frobenius = backend.norm(backend.ones((4, 9), None), 2)
    assert host(backend, frobenius).tolist() == pytest.approx(6.0)
    assert host(backend, backend.abs(u)).tolist() == [3.0, 4.0]


def test_cat_shapes(backend: Any) -> None:
    X = backend.reshape(backend.arange(12, "float32"), (3, 4))
    Y = backend.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]], None)
    assert backend.shape(backend.cat([X, Y], 0)) == (6, 4)
    assert backend.shape(backend.cat((X, Y), 1)) == (3, 8)
    assert host(backend, backend.cat([X, Y], 0))[3:].tolist() == host(backend, Y).tolist()


def test_elementwise(backend: Any) -> None:
    x = backend.tensor([1.0, 2, 4, 8], None)
    y = backend.tensor([2, 2, 2, 2], None)
    assert host(backend, backend.add(x, y)).tolist() == [3.0, 4.0, 6.0, 10.0]
    assert host(backend, backend.sub(x, y)).tolist() == [-1.0, 0.0, 2.0, 6.0]
    assert host(backend, backend.mul(x, y)).tolist() == [2.0, 4.0, 8.0, 16.0]
    assert host(backend, backend.div(x, y)).tolist() == [0.5, 1.0, 2.0, 4.0]
    assert host(backend, backend.pow(x, y)).tolist() == [1.0, 4.0, 16.0, 64.0]
    assert host(backend, backend.eq(x, 2)).tolist() == [False, True, False, False]
    assert host(backend, backend.lt(x, y)).tolist() == [True, False, False, False]
    assert host(backend, backend.gt(x, y)).tolist() == [False, False, True, True]
    assert host(backend, backend.neg(x)).tolist() == [-1.0, -2.0, -4.0, -8.0]
    assert host(backend, backend.exp(backend.zeros((2,), None))).tolist() == [1.0, 1.0]
    # a Python scalar on either side
    assert host(backend, backend.add(1, x)).tolist() == [2.0, 3.0, 5.0, 9.0]
    assert host(backend, backend.sub(10, y)).tolist() == [8, 8, 8, 8]
    assert host(backend, backend.pow(2, y)).tolist() == [4, 4, 4, 4]
    # true division of integers
    assert host(backend, backend.div(backend.arange(3, None), 2)).tolist() == [0.0, 0.5, 1.0]


def test_indexing(backend: Any) -> None:
    X = backend.reshape(backend.arange(12, None), (3, 4))
    assert host(backend, backend.getitem(X, -1)).tolist() == [8, 9, 10, 11]
    assert host(backend, backend.getitem(X, slice(1, 3))).tolist() == [[4, 5, 6, 7],
                                                                        [8, 9, 10, 11]]
    assert host(backend, backend.getitem(X, (1, 2))).tolist() == 6
    assert backend.shape(backend.getitem(X, (1, 2))) == ()
    assert backend.to_bool(backend.gt(backend.getitem(X, (1, 2)), 5)) is True
    assert backend.is_tensor(X) and not backend.is_tensor(np.zeros(2))


def test_boundary_round_trip(backend: Any) -> None:
    narrow = backend.policy.max_bits == 32
    for array in (
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([1, -2, 3], dtype=np.int64),
        np.array([True, False]),
        np.array(2.5, dtype=np.float64),
    ):
        value = backend.from_host(array)
        assert backend.is_tensor(value)
        back = host(backend, value)
        assert isinstance(back, np.ndarray)
        assert back.shape == array.shape
        assert back.tolist() == array.tolist()
        expected = array.dtype.name
        if narrow:
            expected = {"int64": "int32", "float64": "float32"}.get(expected, expected)
        assert back.dtype.name == expected


def test_explicit_dtypes(backend: Any) -> None:
    narrow = backend.policy.max_bits == 32
    wide = {"int64": "int32", "float64": "float32"} if narrow else {}
    for dtype in ("int32", "int64", "float32", "float64", "bool"):
        expected = wide.get(dtype, dtype)
        assert dtype_of(backend, backend.tensor([1, 0], dtype)) == expected
        assert dtype_of(backend, backend.zeros((2,), dtype)) == expected
        assert dtype_of(backend, backend.ones((2,), dtype)) == expected
        assert dtype_of(backend, backend.zeros_like(backend.ones((2,), dtype))) == expected
    assert dtype_of(backend, backend.arange(4, "float64")) == wide.get("float64", "float64")


# -- dtype policies ------------------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_policy_defaults(name: str) -> None:
    with _inside(_make(name)) as adapter:
        default_int, default_float = EXPECTED_DEFAULTS[name]
        policy = adapter.policy
        assert (policy.default_int, policy.default_float) == (default_int, default_float)
        assert policy.int_float_promotion == "float_operand"
        assert policy.max_bits == (32 if name == "jax" else 64)
        assert dtype_of(adapter, adapter.arange(3, None)) == default_int
        assert dtype_of(adapter, adapter.tensor([1, 2], None)) == default_int
        assert dtype_of(adapter, adapter.tensor([1.0], None)) == default_float
        assert dtype_of(adapter, adapter.tensor(1.5, None)) == default_float
        assert dtype_of(adapter, adapter.zeros((2,), None)) == default_float
        assert dtype_of(adapter, adapter.ones((2,), None)) == default_float
        assert dtype_of(adapter, adapter.arange(3.0, None)) == default_float
        assert dtype_of(adapter, adapter.randn((2,), 0)) == default_float
        # int array op float32 array -> the float operand's dtype
        i32 = adapter.tensor([1, 2], "int32")
        f32 = adapter.tensor([1.0, 2.0], "float32")
        assert dtype_of(adapter, adapter.add(i32, f32)) == "float32"
        assert dtype_of(adapter, adapter.mul(f32, i32)) == "float32"


def test_jax_and_jax_x64_alternate_in_one_process() -> None:
    pytest.importorskip("jax")
    import jax

    plain, x64 = _make("jax"), _make("jax-x64")
    global_flag = jax.config.jax_enable_x64
    for _ in range(3):
        for adapter, (default_int, default_float) in (
            (plain, EXPECTED_DEFAULTS["jax"]),
            (x64, EXPECTED_DEFAULTS["jax-x64"]),
        ):
            with adapter.context():
                assert jax.config.jax_enable_x64 is adapter.x64
                assert dtype_of(adapter, adapter.arange(5, None)) == default_int
                assert dtype_of(adapter, adapter.tensor([1.0], None)) == default_float
                total = adapter.sum(adapter.reshape(adapter.arange(20, None), (5, 4)), 0, False)
                assert host(adapter, total).tolist() == [40, 45, 50, 55]
                assert dtype_of(adapter, adapter.from_host(np.ones(2))) == default_float
            # the methods keep their mode even outside the context ...
            assert dtype_of(adapter, adapter.arange(5, None)) == default_int
            # ... and the global flag is never touched
            assert jax.config.jax_enable_x64 is global_flag


def test_jax_context_turns_x64_off_inside_an_x64_context() -> None:
    pytest.importorskip("jax")
    plain, x64 = _make("jax"), _make("jax-x64")
    with x64.context(), plain.context():
        assert dtype_of(plain, plain.arange(3, None)) == "int32"
        assert dtype_of(plain, plain.tensor([1, 2], "int64")) == "int32"
    with plain.context(), x64.context():
        assert dtype_of(x64, x64.tensor([1, 2], "int64")) == "int64"


def test_jax_contexts_override_the_global_flag() -> None:
    pytest.importorskip("jax")
    import jax

    plain, x64 = _make("jax"), _make("jax-x64")
    saved = jax.config.jax_enable_x64
    try:
        for flag in (True, False):
            jax.config.update("jax_enable_x64", flag)
            with plain.context():
                assert dtype_of(plain, plain.arange(3, None)) == "int32"
                assert dtype_of(plain, plain.from_host(np.zeros(2))) == "float32"
            with x64.context():
                assert dtype_of(x64, x64.arange(3, None)) == "int64"
                assert dtype_of(x64, x64.from_host(np.zeros(2))) == "float64"
    finally:
        jax.config.update("jax_enable_x64", saved)


def test_jax_arrays_live_on_the_cpu() -> None:
    pytest.importorskip("jax")
    for name in ("jax", "jax-x64"):
        with _inside(_make(name)) as adapter:
            for value in (adapter.arange(3, None), adapter.from_host(np.ones(2)),
                          adapter.randn((2,), 1)):
                assert {d.platform for d in value.devices()} == {"cpu"}


# -- memory semantics ------------------------------------------------------------------


def test_torch_in_place() -> None:
    torch_adapter = _make("torch")
    X = torch_adapter.reshape(torch_adapter.arange(12, None), (3, 4))
    before = id(X)
    result = torch_adapter.iadd(X, torch_adapter.ones((3, 4), "int64"))
    assert result is X and id(result) == before
    assert host(torch_adapter, X)[0].tolist() == [1, 2, 3, 4]
    torch_adapter.setitem(X, (1, 2), 9)
    assert host(torch_adapter, X)[1].tolist() == [5, 6, 9, 8]
    torch_adapter.setitem(X, slice(0, 2), 12)
    assert host(torch_adapter, X)[:2].tolist() == [[12] * 4, [12] * 4]


def test_torch_to_host_is_a_snapshot() -> None:
    torch_adapter = _make("torch")
    X = torch_adapter.zeros((3,), None)
    snapshot = host(torch_adapter, X)
    torch_adapter.setitem(X, 0, 5.0)
    assert snapshot.tolist() == [0.0, 0.0, 0.0]
    source = np.zeros(2, dtype=np.float32)
    Y = torch_adapter.from_host(source)
    torch_adapter.setitem(Y, 0, 1.0)
    assert source.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", ["jax", "jax-x64"])
def test_jax_is_immutable(name: str) -> None:
    with _inside(_make(name)) as adapter:
        X = adapter.arange(4, None)
        result = adapter.iadd(X, 1)
        assert result is not X
        assert host(adapter, result).tolist() == [1, 2, 3, 4]
        assert host(adapter, X).tolist() == [0, 1, 2, 3]
        with pytest.raises(NotApplicable, match="immutable"):
            adapter.setitem(X, 0, 9)
        assert host(adapter, X).tolist() == [0, 1, 2, 3]


# -- random ----------------------------------------------------------------------------


def test_randn_is_deterministic_per_seed(backend: Any) -> None:
    a = host(backend, backend.randn((3, 4), 7))
    b = host(backend, backend.randn((3, 4), 7))
    c = host(backend, backend.randn((3, 4), 8))
    assert a.shape == (3, 4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.isfinite(a))


# -- autograd --------------------------------------------------------------------------


def test_torch_autograd() -> None:
    torch_adapter = _make("torch")
    x = torch_adapter.requires_grad_(torch_adapter.arange(4.0, None))
    assert torch_adapter.grad(x) is None
    y = torch_adapter.mul(2, torch_adapter.dot(x, x))
    assert host(torch_adapter, y).tolist() == 28.0
    torch_adapter.backward(y)
    grad = torch_adapter.grad(x)
    assert host(torch_adapter, grad).tolist() == [0.0, 4.0, 8.0, 12.0]
    assert host(torch_adapter, grad).tolist() == host(torch_adapter, torch_adapter.mul(4, x)).tolist()
    # gradients accumulate until zeroed
    torch_adapter.backward(torch_adapter.sum(x, None, False))
    assert host(torch_adapter, torch_adapter.grad(x)).tolist() == [1.0, 5.0, 9.0, 13.0]
    torch_adapter.zero_(torch_adapter.grad(x))
    assert host(torch_adapter, torch_adapter.grad(x)).tolist() == [0.0] * 4
    u = torch_adapter.detach(torch_adapter.mul(x, x))
    assert not u.requires_grad
    assert host(torch_adapter, u).tolist() == [0.0, 1.0, 4.0, 9.0]
