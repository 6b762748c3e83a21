"""The torch, jax and jax-x64 adapters against values the PyTorch documentation shows.

Each test runs inside the adapter's ``context()``, as the engine does.  A backend
whose library is not installed is skipped.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tensor_conformance import engine
from tensor_conformance.adapters import registry
from tensor_conformance.adapters.protocol import (
    CAPABILITIES,
    NOT_GIVEN,
    Adapter,
    Autograd,
    DtypePolicy,
    NotApplicable,
)
from tensor_conformance.plugin import functional_reason
from tensor_conformance.spec import load_all
from tests.conftest import SPECS

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
        # no dtype= and dtype=None both mean the library's default
        for given in (NOT_GIVEN, None):
            assert dtype_of(adapter, adapter.arange(3, given)) == default_int
            assert dtype_of(adapter, adapter.tensor([1, 2], given)) == default_int
            assert dtype_of(adapter, adapter.tensor([1.0], given)) == default_float
            assert dtype_of(adapter, adapter.tensor(1.5, given)) == default_float
            assert dtype_of(adapter, adapter.zeros((2,), given)) == default_float
            assert dtype_of(adapter, adapter.ones((2,), given)) == default_float
            assert dtype_of(adapter, adapter.arange(3.0, given)) == default_float
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
                assert dtype_of(adapter, adapter.arange(5, NOT_GIVEN)) == default_int
                assert dtype_of(adapter, adapter.tensor([1.0], NOT_GIVEN)) == default_float
                total = adapter.sum(adapter.reshape(adapter.arange(20, NOT_GIVEN), (5, 4)), 0, False)
                assert host(adapter, total).tolist() == [40, 45, 50, 55]
                assert dtype_of(adapter, adapter.from_host(np.ones(2))) == default_float
            # the methods keep their mode even outside the context ...
            assert dtype_of(adapter, adapter.arange(5, NOT_GIVEN)) == default_int
            # ... and the global flag is never touched
            assert jax.config.jax_enable_x64 is global_flag


def test_jax_context_turns_x64_off_inside_an_x64_context() -> None:
    pytest.importorskip("jax")
    plain, x64 = _make("jax"), _make("jax-x64")
    with x64.context(), plain.context():
        assert dtype_of(plain, plain.arange(3, NOT_GIVEN)) == "int32"
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
                assert dtype_of(plain, plain.arange(3, NOT_GIVEN)) == "int32"
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


# -- each adapter calls the library's own function for the notes' call ------------------
#
# A fault planted in the library (a patched function, as a bug in it would be) must reach
# the adapter's result: each test patches the library's function for the documented call
# and checks that the adapter, and where it matters the suite, sees the fault.

ALL_BACKENDS = ("numpy", *BACKENDS)
SPECS_BY_ID = {spec.id: spec for spec in load_all(SPECS)[0]}


def _library(name: str) -> Any:
    """The module whose functions the adapter ``name`` calls: np, torch or jax.numpy."""
    if name == "numpy":
        return np
    if name == "torch":
        return pytest.importorskip("torch")
    pytest.importorskip("jax")
    import jax.numpy as jnp
    return jnp


def _make_any(name: str) -> Any:
    return registry.load("numpy") if name == "numpy" else _make(name)


def _wrong_on_matrices(original: Any) -> Any:
    """``original`` with a bug that only shows on 2-D input: the result is 1 too high."""
    def norm(x: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(x, *args, **kwargs)
        return result + 1 if len(x.shape) == 2 else result
    return norm


def _example(spec_id: str, example_id: str) -> Any:
    return next(e for e in SPECS_BY_ID[spec_id].examples if e.id == example_id)


def _case(spec_id: str, case_id: str) -> Any:
    return next(c for c in SPECS_BY_ID[spec_id].cases if c.id == case_id)


def _run_example(adapter: Any, spec_id: str, example_id: str) -> None:
    engine.run_example(SPECS_BY_ID[spec_id], _example(spec_id, example_id), adapter, [],
                       engine.CellRun())


def _run_case(adapter: Any, spec_id: str, case_id: str, **variables: Any) -> None:
    engine.run_case_example(SPECS_BY_ID[spec_id], _case(spec_id, case_id), adapter, variables,
                            0, [], engine.CellRun())


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_the_norm_of_a_matrix_is_the_librarys_norm_of_that_matrix(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes' torch.norm(X) on a matrix: torch.norm(X), np.linalg.norm(X),
    jnp.linalg.norm(X), not the norm of a flattened copy."""
    lib = _library(name)
    owner = lib if name == "torch" else lib.linalg
    adapter = _make_any(name)
    with _inside(adapter):
        _run_example(adapter, "linear_algebra/norms", "notes_frobenius")  # passes unpatched
        monkeypatch.setattr(owner, "norm", _wrong_on_matrices(owner.norm))
        assert host(adapter, adapter.norm(adapter.ones((4, 9), None), 2)) == pytest.approx(7.0)
        assert host(adapter, adapter.norm(adapter.tensor([3.0, -4.0], None), 2)) == 5.0
        with pytest.raises(engine.ConformanceFailure, match="notes_frobenius"):
            _run_example(adapter, "linear_algebra/norms", "notes_frobenius")


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_an_explicit_p_is_the_librarys_entrywise_norm(name: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.norm(X, p=p) is the L_p norm of all entries; NumPy and JAX spell it
    vector_norm(X, ord=p) (their linalg.norm(X, ord=1) of a matrix is the induced norm)."""
    lib = _library(name)
    owner, function = (lib, "norm") if name == "torch" else (lib.linalg, "vector_norm")
    adapter = _make_any(name)
    with _inside(adapter):
        X = adapter.tensor([[1.0, -2.0], [3.0, 4.0]], None)
        assert host(adapter, adapter.norm(X, 1)) == 10.0  # entrywise; induced would be 6
        monkeypatch.setattr(owner, function, _wrong_on_matrices(getattr(owner, function)))
        assert host(adapter, adapter.norm(X, 1)) == 11.0


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_defaults_the_notes_leave_out_are_left_to_the_library(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.arange(12) and A.sum() as written: no dtype=None, axis=None or keepdims=False;
    torch.zeros(3, dtype=None) as written too (a library whose default differs from its
    explicit None must be seen, on either spelling)."""
    lib = _library(name)
    calls: list[dict[str, Any]] = []

    def recording(original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return original(*args, **kwargs)
        return call

    adapter = _make_any(name)
    sum_owner = lib.Tensor if name == "torch" else lib  # the notes' A.sum() is a method
    for owner, function in [(lib, "arange"), (lib, "zeros"), (lib, "ones"), (sum_owner, "sum")]:
        monkeypatch.setattr(owner, function, recording(getattr(owner, function)))
    with _inside(adapter):
        x = adapter.arange(6, NOT_GIVEN)
        adapter.zeros((2, 3), NOT_GIVEN)
        adapter.ones((2, 3), NOT_GIVEN)
        adapter.sum(x, None, False)
        adapter.sum(x, 0, False)
        adapter.sum(x, 0, True)
        # ... and what the program writes is passed on: torch.zeros(3, dtype=None)
        adapter.arange(6, None)
        adapter.zeros((2, 3), None)
    device = {"device"} if name == "torch" else set()
    assert [set(c) - device for c in calls] == [set(), set(), set(), set(), {"axis"},
                                                {"axis", "keepdims"}, {"dtype"}, {"dtype"}]
    assert calls[-1]["dtype"] is None and calls[-2]["dtype"] is None


def test_torch_reductions_are_the_notes_tensor_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes write A.sum(axis=0), A.mean(), A.cumsum(axis=0): torch.Tensor's methods."""
    torch = pytest.importorskip("torch")
    adapter = _make("torch")
    A = adapter.reshape(adapter.arange(6.0, None), (2, 3))
    for method in ("sum", "mean", "cumsum"):
        original = getattr(torch.Tensor, method)
        monkeypatch.setattr(torch.Tensor, method,
                            lambda x, *a, _f=original, **k: _f(x, *a, **k) + 100)
    assert host(adapter, adapter.sum(A, 0, False)).tolist() == [103.0, 105.0, 107.0]
    assert host(adapter, adapter.mean(A, None, False)).tolist() == 102.5
    assert host(adapter, adapter.cumsum(A, 1)).tolist() == [[100.0, 101.0, 103.0],
                                                            [103.0, 107.0, 112.0]]


# -- JAX: the functional cells exercise JAX's own transformations -----------------------


@pytest.mark.parametrize("name", ["jax", "jax-x64"])
def test_jax_detach_is_jax_stop_gradient(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jax = pytest.importorskip("jax")
    adapter = _make(name)
    with _inside(adapter):
        _run_example(adapter, "autograd/detach", "notes")  # passes with JAX as it is
        monkeypatch.setattr(jax.lax, "stop_gradient", lambda x: x)  # a stop_gradient that does not
        with pytest.raises(engine.ConformanceFailure, match="autograd/detach"):
            _run_example(adapter, "autograd/detach", "notes")


@pytest.mark.parametrize("name", ["jax", "jax-x64"])
def test_jax_grad_decides_which_inputs_can_require_grad(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jax = pytest.importorskip("jax")
    adapter = _make(name)
    x = np.array([1, 2, 3], dtype=np.int32)
    with _inside(adapter):
        _run_case(adapter, "autograd/errors", "integer_tensors_cannot_require_grad",
                  dtype="int32", x=x)  # jax.grad refuses an int input: the cell passes
        original = jax.grad
        monkeypatch.setattr(jax, "grad", lambda f, argnums=0, **kw: original(
            f, argnums=argnums, **{**kw, "allow_int": True}))  # a grad that takes ints
        with pytest.raises(engine.ConformanceFailure, match="integer_tensors_cannot_require_grad"):
            _run_case(adapter, "autograd/errors", "integer_tensors_cannot_require_grad",
                      dtype="int32", x=x)


@pytest.mark.parametrize("name", ["jax", "jax-x64"])
def test_jax_grad_decides_that_a_vector_has_no_implicit_gradient(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jax = pytest.importorskip("jax")
    adapter = _make(name)
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    with _inside(adapter):
        _run_case(adapter, "autograd/errors", "backward_of_a_vector_raises",
                  dtype="float32", x=x)  # jax.grad refuses a non-scalar output
        original = jax.grad

        def grad_of_anything(f: Any, argnums: Any = 0, **kw: Any) -> Any:
            return original(lambda *a: f(*a).sum(), argnums=argnums, **kw)

        monkeypatch.setattr(jax, "grad", grad_of_anything)
        with pytest.raises(engine.ConformanceFailure, match="backward_of_a_vector_raises"):
            _run_case(adapter, "autograd/errors", "backward_of_a_vector_raises",
                      dtype="float32", x=x)


def test_functional_cells_say_what_jax_did_and_what_the_bridge_emulated() -> None:
    pytest.importorskip("jax")
    adapter = _make("jax")

    def reason(spec_id: str, case_id: str) -> str:
        case = _case(spec_id, case_id)
        text = functional_reason(adapter, case.needs, case.operations)
        assert text is not None
        return text

    detach = reason("autograd/detach", "detached_factor_is_a_constant")
    library, emulated = detach.split("Emulated by the bridge")
    assert "jax.lax.stop_gradient" in library and "jax.grad of y's recorded" in library
    assert "sum of the jax.grad results (accumulation)" in emulated
    assert "zero_" not in detach  # the cell does not zero a gradient
    refused = reason("autograd/errors", "integer_tensors_cannot_require_grad")
    assert "hands x to jax.grad, whose own input check refuses non-float" in refused
    assert "backward" not in refused
    zeroed = reason("autograd/accumulation", "zero_then_sum")
    assert "x.grad.zero_() replaces" in zeroed.split("Emulated by the bridge")[1]


@pytest.mark.parametrize("name", ["jax", "jax-x64"])
def test_jax_grad_differentiates_the_programs_graph_not_a_copy_per_use(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``r = torch.mv(X, w) - y; z = (r * r).sum(); z.backward()`` uses r twice: jax.grad
    must see one r, as the user's code has it.  The bridge used to recompute r once per
    use, so jax.grad differentiated two copies of mv and transposed each on its own:
    with float32 X = y = [1.06e-19, 1.06e-19] the products X_i r_i (1.1e-38) of each
    copy fell below the smallest normal number, XLA flushed them, and w.grad was -0.0
    instead of -4.46e-38, a failure of the bridge reported as JAX's."""
    jnp = pytest.importorskip("jax.numpy")
    adapter = _make(name)
    matmuls = []
    original = jnp.matmul
    monkeypatch.setattr(jnp, "matmul", lambda *a, **kw: matmuls.append(1) or original(*a, **kw))
    tiny = 1.0555525134757889e-19
    with _inside(adapter):
        _run_case(adapter, "calculus/chain_rule", "squared_norm_of_a_residual", dtype="float32",
                  m=2, n=1, X=np.full((2, 1), tiny, np.float32), w=np.zeros(1, np.float32),
                  y=np.full(2, tiny, np.float32))
        matmuls.clear()
        w = adapter.requires_grad_(adapter.from_host(np.ones(1, np.float32)))
        r = adapter.sub(adapter.mv(adapter.from_host(np.ones((2, 1), np.float32)), w),
                        adapter.from_host(np.zeros(2, np.float32)))
        matmuls.clear()
        adapter.backward(adapter.sum(adapter.mul(r, r), None, False))
        assert len(matmuls) == 1  # the backward replays mv once, not once per use of r
        np.testing.assert_allclose(host(adapter, adapter.grad(w)), [4.0])


def _jax_cache_drops(monkeypatch: pytest.MonkeyPatch, residents: list[tuple[int, str]],
                     freed_to: int | None) -> list[int]:
    """The resident memory at which after_cell() dropped JAX's caches, each cell ending
    with ``residents``' (bytes, adapter); a drop brings resident memory down to
    ``freed_to`` (None: it stays where it was)."""
    pytest.importorskip("jax")
    import jax

    from tensor_conformance.adapters import jax_backend

    resident = [0]
    drops: list[int] = []

    def drop() -> None:
        drops.append(resident[0])
        resident[0] = resident[0] if freed_to is None else freed_to

    monkeypatch.setattr(jax_backend, "_resident_bytes", lambda: resident[0])
    monkeypatch.setattr(jax_backend, "_dropped_at", 0)
    monkeypatch.setattr(jax, "clear_caches", drop)
    adapters = {name: _make(name) for name in ("jax", "jax-x64")}
    for size, name in residents:
        resident[0] = size
        adapters[name].after_cell()
    return drops


def test_jax_drops_its_caches_past_the_limit_and_again_when_memory_grew_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where resident memory does not fall when JAX's caches are dropped, they are dropped
    again only once it has grown: otherwise every later cell would recompile."""
    from tensor_conformance.adapters.jax_backend import MEMORY_LIMIT_BYTES as limit
    from tensor_conformance.adapters.jax_backend import REGROWTH_BYTES as regrowth

    cells = [(limit - 1, "jax"), (limit, "jax"), (limit + 1, "jax-x64"), (limit + 1, "jax"),
             (limit + regrowth, "jax-x64"), (limit + regrowth + 2, "jax"),
             (limit + regrowth + 2, "jax-x64"), (limit + 2 * regrowth + 2, "jax"),
             (limit + 2 * regrowth + 3, "jax-x64")]
    # both adapters share the process's caches: one drop counts for both
    assert _jax_cache_drops(monkeypatch, cells, freed_to=None) == [
        limit + 1, limit + regrowth + 2, limit + 2 * regrowth + 3]
    # where the drop hands the memory back, the limit alone decides
    assert _jax_cache_drops(monkeypatch, cells, freed_to=limit // 4) == [
        limit + 1, limit + 1, limit + regrowth, limit + regrowth + 2, limit + regrowth + 2,
        limit + 2 * regrowth + 2, limit + 2 * regrowth + 3]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                    reason="memory is handed back through glibc's malloc_trim")
def test_jax_hands_the_memory_of_dropped_caches_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured, not assumed: after_cell() past the limit leaves resident memory lower."""
    pytest.importorskip("jax")
    import jax.numpy as jnp

    from tensor_conformance.adapters import jax_backend

    adapter = _make("jax")
    with _inside(adapter):
        for n in range(1, 120):  # ~2 MB per compiled executable
            jnp.cumsum(jnp.ones((n, 2)), axis=1).block_until_ready()
    before = jax_backend._resident_bytes()
    monkeypatch.setattr(jax_backend, "MEMORY_LIMIT_BYTES", before - 1)
    monkeypatch.setattr(jax_backend, "_dropped_at", 0)
    adapter.after_cell()
    assert jax_backend._dropped_at < before - 100_000_000, (before, jax_backend._dropped_at)


def test_jax_brings_inputs_in_without_compiling(caplog: pytest.LogCaptureFixture) -> None:
    """Inputs cross into JAX as a transfer: jnp.array(host) compiled a copy for every new
    shape and dtype, a third of a run's compilations."""
    pytest.importorskip("jax")
    import jax

    for name in ("jax", "jax-x64"):
        adapter = _make(name)
        with jax.log_compiles(True), caplog.at_level("DEBUG", logger="jax"):
            for shape in ((7, 1, 3), (0, 5), ()):
                for dtype in ("float64", "int32", "bool"):
                    value = adapter.from_host(np.zeros(shape, dtype=dtype))
                    assert adapter.is_tensor(value) and value.shape == shape
        assert not [r for r in caplog.records if "ompil" in r.getMessage()], name
