"""JAX (``jax.numpy``) as a backend under test, in its default 32-bit mode and with x64.

Each method is the ``jax.numpy`` spelling of one operation of the
documentation's PyTorch subset, called by its public name as JAX users write it
(``jnp.sum(A, axis=0)``, ``jnp.linalg.norm(X)``, ``X.T``), with the library's
own operators so that its scalar promotion applies.  Arguments the notes leave
out are left out (``jnp.arange(12)``, ``jnp.sum(A)``): a default is part of the
call under test.  Where the library's function for a call has another name
(``norm`` with an explicit ``p``: ``linalg.vector_norm``; ``mv``/``mm``: ``matmul``)
a comment at the method says why; no method composes a result.

JAX arrays are immutable, so specs that need ``in_place`` are "not applicable"
here, with the reason in ``missing``.  Its autograd is functional: the notes'
stateful autograd runs through ``jax.grad`` and
``jax.lax.stop_gradient`` (``differentiate`` and ``stop_gradient`` below, used by
adapters/functional_autograd.py).

Two adapters share this code:

* ``jax``: JAX's default mode.  64-bit types do not exist: integer literals and
  ``arange`` give int32, float literals give float32, and a request for
  ``int64`` / ``float64`` is narrowed to 32 bits (done here, before calling
  ``jnp``, so that JAX does not warn about it).
* ``jax-x64``: ``jax_enable_x64`` on: int64 and float64 defaults.

``jax_enable_x64`` is a configuration flag, and one process may run both
adapters, so neither adapter touches the global value.  ``context()`` returns a
context manager that sets the flag *thread-locally* (``jax.enable_x64(bool)``,
the flag's own context manager) and makes the CPU the default device
(``jax.default_device``); every method also runs inside that context, so an
adapter behaves the same whether or not its caller entered it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

from tensor_conformance.adapters.functional_autograd import with_functional_autograd
from tensor_conformance.adapters.protocol import NOT_GIVEN, DtypeArg, DtypePolicy, NotApplicable, NotStageable
from tensor_conformance.adapters.registry import Unavailability
from tensor_conformance.adapters.spelling import numpy_like, spelled

_F = TypeVar("_F", bound=Callable[..., Any])

#: what a 64-bit dtype request becomes when x64 is off
_NARROW: dict[str, str] = {
    "int64": "int32",
    "uint64": "uint32",
    "float64": "float32",
    "complex128": "complex64",
}


def _scoped(method: _F) -> _F:
    """Run ``method`` inside its adapter's ``context()``."""

    @functools.wraps(method)
    def wrapper(self: JaxAdapter, *args: Any, **kwargs: Any) -> Any:
        if jax.enable_x64.value is self.x64 and jax.default_device.value is self._cpu:
            return method(self, *args, **kwargs)  # already inside (the engine's case)
        with self.context():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: JAX compiles every operation for every new shape and dtype (tens of ms each on a
#: CPU); its persistent cache keeps those compilations across processes and runs
#: (xdist workers, the jax and jax-x64 adapters, CI re-runs on one machine).
CACHE_DIR_ENV = "TENSOR_CONFORMANCE_JAX_CACHE"


#: resident memory above which after_cell() drops JAX's in-memory caches
MEMORY_LIMIT_BYTES = 1_500_000_000
#: ... once it has also grown this much since the last drop.  A compiled executable
#: holds about 2 MB (measured: 400 shapes of 4 operations, 155 -> 3062 MiB); dropped,
#: its memory stays with the process unless the C allocator hands it back
#: (``_release_freed_memory``: 3044 -> 431 MiB).  Where it cannot, resident memory does
#: not fall, and without this every later cell would drop the caches again and
#: recompile every operation.
REGROWTH_BYTES = 128_000_000
#: resident memory just after the last drop (the caches are the process's, shared by
#: both adapters)
_dropped_at = 0


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: never clear
        return 0


def _release_freed_memory() -> None:
    """Hand memory freed by dropped executables back to the system (glibc's
    ``malloc_trim``); elsewhere nothing to do."""
    gc.collect()
    # AttributeError: a C library without malloc_trim (macOS, musl); TypeError, OSError:
    # no C library to open by None (Windows)
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)


def _enable_compilation_cache() -> None:
    if jax.config.jax_compilation_cache_dir:  # type: ignore[attr-defined]  # the user chose one: keep it
        return
    default = Path.home() / ".cache" / "tensor-conformance" / "jax"
    jax.config.update("jax_compilation_cache_dir", os.environ.get(CACHE_DIR_ENV, str(default)))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def _reduction(axis: int | None, keepdims: bool) -> dict[str, Any]:
    """The notes' keywords: ``sum(A)``, ``sum(A, axis=0)``, ``sum(A, axis=1, keepdims=True)``."""
    return {**({} if axis is None else {"axis": axis}), **({"keepdims": True} if keepdims else {})}


class JaxAdapter:
    name: ClassVar[str] = "jax"
    capabilities: ClassVar[frozenset[str]] = frozenset({"random", "compile"})
    missing: ClassVar[dict[str, str]] = {
        "in_place": (
            "JAX arrays are immutable: X[i] = v raises and X += Y rebinds X to a new "
            "array; the functional equivalent is X.at[i].set(v)"
        ),
        "autograd": (
            "JAX's autograd is functional (jax.grad, jax.vjp): there is no .grad "
            "attribute, requires_grad_ or backward()"
        ),
    }
    #: for reproducers: how this backend spells the notes' ``torch.`` namespace
    namespace: ClassVar[str] = "jnp"
    imports: ClassVar[str] = "import jax\nimport jax.numpy as jnp"
    #: for reproducers: the notes' spelling -> jax.numpy's (applied in order, then torch. -> jnp.)
    spelling: ClassVar[dict[str, str]] = {
        "torch.cat": "jnp.concatenate", "torch.mv": "jnp.matmul", "torch.mm": "jnp.matmul",
        "torch.tensor": "jnp.array", "torch.norm": "jnp.linalg.norm", "torch.bool": "jnp.bool_",
        ".numel()": ".size", "keepdim=": "keepdims=", "(dim=": "(axis=", " dim=": " axis=",
    }

    def translate(self, code: str) -> str:
        """For reproducers: the calls a text substitution cannot spell (methods the arrays
        lack, ``p=`` norms, sizes as arguments: spelling.py), then
        ``spelling`` and the namespace."""
        return spelled(self, numpy_like(code))
    #: the value of ``jax_enable_x64`` inside ``context()``
    x64: ClassVar[bool] = False

    def __init__(self) -> None:
        _enable_compilation_cache()
        try:
            self._cpu = jax.devices("cpu")[0]
        except RuntimeError as exc:  # e.g. JAX_PLATFORMS names no cpu
            raise Unavailability(f"JAX has no CPU backend here: {exc}") from exc
        # measured with jax 0.10.2, x64 off: jnp.array([1]) int32, jnp.array([1.0])
        # float32, jnp.arange(3) int32, int32 array + float32 array -> float32
        self.policy = DtypePolicy(
            default_int="int32",
            default_float="float32",
            max_bits=32,
            int_float_promotion="float_operand",
            # jnp.sum of bool/int8/int16/int32 -> int32 (64-bit types cannot be made)
            int_accumulator="at_least_default",
        )

    def versions(self) -> dict[str, str]:
        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}

    def after_cell(self) -> None:
        """JAX keeps every compiled executable in memory (one per operation, shape and
        dtype); over a whole suite that grows to gigabytes.  Past a limit, and then each
        time resident memory has grown by ``REGROWTH_BYTES``, drop them: the persistent
        compilation cache on disk still saves most of the recompiling."""
        global _dropped_at
        if _resident_bytes() > max(MEMORY_LIMIT_BYTES, _dropped_at + REGROWTH_BYTES):
            jax.clear_caches()
            _release_freed_memory()
            _dropped_at = _resident_bytes()

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """This adapter's x64 mode and the CPU device, for the current thread only."""
        with jax.enable_x64(self.x64), jax.default_device(self._cpu):
            yield

    def _dtype(self, name: str | None) -> str | None:
        if name is None or self.x64:
            return name
        return _NARROW.get(str(name), name)

    def _dtype_keyword(self, name: DtypeArg) -> dict[str, Any]:
        """``dtype=`` as the program wrote it (``dtype=None`` included); no keyword where
        it wrote none, so that the library's own default is what runs."""
        if name is NOT_GIVEN:
            return {}
        return {"dtype": None if name is None else self._dtype(name)}

    def stage(self, program: Callable[..., list[jax.Array]]) -> Callable[..., list[jax.Array]]:
        """A whole case program compiled as one function (``jax.jit``): one compilation
        per new input signature instead of one per operation (see conformance/staging.py).

        Empty arrays are declined: XLA's CPU compiler (jaxlib 0.10.2) aborts the whole
        process compiling a slice of a concatenation of empty arrays
        (``jax.jit(lambda x, y: jnp.concatenate([x, y])[1:])`` on shapes (1, 0) and
        (0, 0)); operation by operation each compiles alone and works."""
        compiled = jax.jit(program)

        def run(seed: Any, *arrays: jax.Array) -> list[jax.Array]:
            if any(0 in a.shape for a in arrays):
                raise NotStageable("empty arrays: XLA's CPU compiler can abort on them")
            return compiled(seed, *arrays)

        return run

    def jvp(self, fn: Any, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        """Forward mode (``jax.jvp``): the gradient oracles compare it with reverse mode."""
        return jax.jvp(fn, primals, tangents)

    # -- the library's autograd transformations (adapters/functional_autograd.py) ---
    @_scoped
    def differentiate(self, fn: Callable[..., Any], argnums: tuple[int, ...], *args: Any) -> Any:
        """``jax.grad(fn, argnums)(*args)``: JAX refuses non-float inputs and non-scalar
        outputs itself (TypeError)."""
        return jax.grad(fn, argnums=argnums)(*args)

    @_scoped
    def stop_gradient(self, x: jax.Array) -> jax.Array:
        """The notes' ``y.detach()``: ``jax.lax.stop_gradient(y)``."""
        return jax.lax.stop_gradient(x)

    # -- crossing the boundary -------------------------------------------
    @_scoped
    def from_host(self, array: Any) -> jax.Array:
        host = np.asarray(array)
        if not self.x64:
            host = host.astype(self._dtype(host.dtype.name), copy=False)
        # a transfer, not an operation under test: jnp.array(host) would compile a
        # copy for every new shape and dtype (3,680 of a JAX-only run's 16,638)
        return jax.device_put(host)

    @_scoped
    def to_host(self, value: Any) -> Any:
        if isinstance(value, jax.Array):
            return np.array(value, copy=True)
        if isinstance(value, list | tuple) and any(isinstance(v, jax.Array) for v in value):
            return np.asarray([self.to_host(v) for v in value])
        return np.asarray(value)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, jax.Array)

    @_scoped
    def to_bool(self, value: Any) -> bool:
        return bool(value)

    # -- creation ----------------------------------------------------------
    @_scoped
    def tensor(self, data: Any, dtype: DtypeArg) -> jax.Array:
        return jnp.array(data, **self._dtype_keyword(dtype))

    @_scoped
    def arange(self, end: float, dtype: DtypeArg) -> jax.Array:
        return jnp.arange(end, **self._dtype_keyword(dtype))

    @_scoped
    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> jax.Array:
        return jnp.zeros(tuple(shape), **self._dtype_keyword(dtype))

    @_scoped
    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> jax.Array:
        return jnp.ones(tuple(shape), **self._dtype_keyword(dtype))

    @_scoped
    def zeros_like(self, x: jax.Array) -> jax.Array:
        return jnp.zeros_like(x)

    @_scoped
    def randn(self, shape: tuple[int, ...], seed: int) -> jax.Array:
        # torch.randn(3, 4) is jax.random.normal(key, (3, 4)): JAX's sampler takes a key
        return jax.random.normal(jax.random.key(seed), tuple(shape))

    # -- shape -------------------------------------------------------------
    def shape(self, x: jax.Array) -> tuple[int, ...]:
        return tuple(x.shape)

    def numel(self, x: jax.Array) -> int:
        return int(x.size)

    def length(self, x: jax.Array) -> int:
        return len(x)

    @_scoped
    def reshape(self, x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return x.reshape(tuple(shape))

    @_scoped
    def transpose(self, x: jax.Array) -> jax.Array:
        return x.T

    @_scoped
    def cat(self, tensors: Sequence[jax.Array], axis: int) -> jax.Array:
        return jnp.concatenate(list(tensors), axis=axis)

    # -- elementwise -------------------------------------------------------
    @_scoped
    def add(self, x: Any, y: Any) -> Any:
        return x + y

    @_scoped
    def sub(self, x: Any, y: Any) -> Any:
        return x - y

    @_scoped
    def mul(self, x: Any, y: Any) -> Any:
        return x * y

    @_scoped
    def div(self, x: Any, y: Any) -> Any:
        return x / y

    @_scoped
    def pow(self, x: Any, y: Any) -> Any:
        return x**y

    @_scoped
    def eq(self, x: Any, y: Any) -> Any:
        return x == y

    @_scoped
    def lt(self, x: Any, y: Any) -> Any:
        return x < y

    @_scoped
    def gt(self, x: Any, y: Any) -> Any:
        return x > y

    @_scoped
    def neg(self, x: Any) -> Any:
        return -x

    @_scoped
    def exp(self, x: Any) -> Any:
        return jnp.exp(x)

    @_scoped
    def abs(self, x: Any) -> Any:
        return jnp.abs(x)

    # -- reductions --------------------------------------------------------
    @_scoped
    def sum(self, x: jax.Array, axis: int | None, keepdims: bool) -> Any:
        return jnp.sum(x, **_reduction(axis, keepdims))

    @_scoped
    def mean(self, x: jax.Array, axis: int | None, keepdims: bool) -> Any:
        return jnp.mean(x, **_reduction(axis, keepdims))

    @_scoped
    def cumsum(self, x: jax.Array, axis: int) -> jax.Array:
        return jnp.cumsum(x, axis=axis)

    @_scoped
    def norm(self, x: jax.Array, p: float) -> Any:
        if p == 2:
            # the notes' torch.norm(u) / torch.norm(X): jnp.linalg.norm on the array as
            # given (for a matrix its Frobenius path; for any rank, with no ord, JAX's
            # own sqrt of the sum of squares of all entries)
            return jnp.linalg.norm(x)
        # another function than the notes' norm: torch.norm(X, p=p) is the L_p norm of
        # all entries, while linalg.norm(X, ord=p) of a matrix is an induced matrix norm
        # (ord=1: the largest column sum) and refuses other ranks; JAX's own call for
        # the entrywise norm is linalg.vector_norm over all axes
        return jnp.linalg.vector_norm(x, ord=p)  # type: ignore[arg-type]  # any p > 0 works

    # -- products ----------------------------------------------------------
    @_scoped
    def dot(self, x: jax.Array, y: jax.Array) -> Any:
        return jnp.dot(x, y)

    @_scoped
    def mv(self, a: jax.Array, x: jax.Array) -> jax.Array:
        # jax.numpy has no mv: matmul (the @ operator) of a matrix and a vector
        return jnp.matmul(a, x)

    @_scoped
    def mm(self, a: jax.Array, b: jax.Array) -> jax.Array:
        # jax.numpy has no mm: matmul (the @ operator) of two matrices
        return jnp.matmul(a, b)

    # -- indexing and memory -------------------------------------------------
    @_scoped
    def getitem(self, x: jax.Array, key: Any) -> Any:
        return x[key]

    def setitem(self, x: jax.Array, key: Any, value: Any) -> None:
        raise NotApplicable(self.missing["in_place"])

    @_scoped
    def iadd(self, x: jax.Array, y: Any) -> jax.Array:
        x += y  # no __iadd__ on jax.Array: Python rebinds x to x + y, a new array
        return x


#: JAX has no .grad, requires_grad_ or backward(): the notes' stateful autograd is
#: checked through jax.grad and jax.lax.stop_gradient (adapters/functional_autograd.py)
JaxAdapter = with_functional_autograd(  # type: ignore[misc]
    JaxAdapter, library="JAX", grad="jax.grad", stop_gradient="jax.lax.stop_gradient")


class JaxX64Adapter(JaxAdapter):  # type: ignore[valid-type,misc]
    name: ClassVar[str] = "jax-x64"
    x64: ClassVar[bool] = True
    imports: ClassVar[str] = ('import jax\njax.config.update("jax_enable_x64", True)\n'
                              "import jax.numpy as jnp")

    def __init__(self) -> None:
        super().__init__()
        # measured with jax 0.10.2 inside jax.enable_x64(True): jnp.array([1]) int64,
        # jnp.array([1.0]) float64, jnp.arange(3) int64, jnp.zeros(3) float64,
        # int32 array + float32 array -> float32 (and int64 + float32 -> float32)
        self.policy = DtypePolicy(
            default_int="int64",
            default_float="float64",
            max_bits=64,
            int_float_promotion="float_operand",
            # jnp.sum of bool/int8/int16/int32 -> int64, int64 stays int64; jnp.cumsum
            # keeps an int32 input's dtype (a registered divergence: jax-x64-cumsum-int32)
            int_accumulator="at_least_default",
        )
