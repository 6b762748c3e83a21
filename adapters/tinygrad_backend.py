"""tinygrad as a backend under test, on its CPU device, written as a plug-in author would.

Each method is tinygrad's own spelling of one operation of the notes' PyTorch subset:
``Tensor([...])``, ``Tensor.arange(12)``, ``Tensor.zeros(3, 4)``, the ``Tensor`` methods
(``A.sum(axis=0)``, ``A.cumsum(axis=0)``, ``x.dot(y)``, ``X.T``, ``x.exp()``), the
operators, ``X[1, 2] = 9`` and ``X += Y``.  Arguments the notes leave out are left out
(``Tensor.arange(12)``, ``A.sum()``): a default is part of the call under test.  No
method composes a result; where tinygrad's call has another name a comment says so.

What tinygrad is, measured with tinygrad 0.14.0 (each difference from the notes that
shows in a spec is registered in specs/divergences/tinygrad.yaml):

* lazy: every operation builds a graph; nothing runs until a value is read
  (``.numpy()``, ``.item()``), when the graph is compiled to kernels.  Its CPU device
  compiles every kernel with the ``clang`` binary (Debian package ``clang``): without it
  no device can be opened ("no usable devices") and this backend is not applicable with
  that reason.
* default dtypes: int32 for Python ints and ``arange`` (``dtypes.int``), float32 for
  Python floats, ``zeros`` and ``ones``; int64 and float64 exist when asked for.
* autograd is stateful with implicit tracking: there is no ``requires_grad`` flag nor
  ``requires_grad_`` (0.14 removed both); ``y.backward()`` fills ``.grad`` of every
  floating-point tensor in y's graph that is still alive, and ``.grad`` accumulates.
  ``requires_grad_(x)`` is therefore ``x`` itself (the protocol's "implicit tracking").
* in place: ``X[key] = v`` and ``X += Y`` write into the same Python object through
  tinygrad's ``assign``.
* no ``norm`` function and no ``zero_`` method: the cells that need them are not
  applicable, with the reason in ``missing``.

Every tensor is made on tinygrad's CPU device: the adapter's methods run inside
``Context(DEV="CPU")``, tinygrad's own way of choosing the device (a tinygrad tensor
built from Python constants has no device until it is realized, on the default one,
which on a machine with a GPU would be the GPU).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import version
from typing import Any, ClassVar, TypeVar

import numpy as np
from tinygrad import Context, Device, Tensor, dtypes

from tensor_conformance.adapters.protocol import NOT_GIVEN, DtypeArg, DtypePolicy
from tensor_conformance.adapters.registry import Unavailability

#: the device every tensor of this backend lives on
DEVICE = "CPU"

_F = TypeVar("_F", bound=Callable[..., Any])


def _on_cpu(method: _F) -> _F:
    """Run ``method`` with tinygrad's default device set to the CPU."""

    @functools.wraps(method)
    def wrapper(self: TinygradAdapter, *args: Any, **kwargs: Any) -> Any:
        with Context(DEV=DEVICE):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _dtype_keyword(name: DtypeArg) -> dict[str, Any]:
    """``dtype=`` as the program wrote it (``dtype=None`` included: tinygrad's creation
    functions take it for their default); no keyword where it wrote none."""
    if name is NOT_GIVEN:
        return {}
    if name is None:
        return {"dtype": None}
    return {"dtype": getattr(dtypes, str(name))}


def _reduction(axis: int | None, keepdims: bool) -> dict[str, Any]:
    """The notes' keywords in tinygrad's spelling: ``A.sum()``, ``A.sum(axis=0)``,
    ``A.sum(axis=1, keepdim=True)`` (tinygrad's keyword is ``keepdim``)."""
    return {**({} if axis is None else {"axis": axis}), **({"keepdim": True} if keepdims else {})}


def _check_device() -> str:
    """Why tinygrad's CPU device cannot run here, or "" when it can."""
    try:
        with Context(DEV=DEVICE):
            device = Device[DEVICE]
            renderer = type(device.renderer).__name__
    except Exception as exc:  # tinygrad: RuntimeError("no usable devices") and others
        return (f"tinygrad's CPU device cannot be opened here ({type(exc).__name__}: {exc}); it "
                "compiles its kernels with the clang binary: install clang (Debian: apt-get "
                "install clang)")
    compiler = os.environ.get("CC", "clang")
    if renderer == "ClangRenderer" and shutil.which(compiler) is None:
        # a warm kernel cache (~/.cache/tinygrad/cache.db) can open the device without
        # clang, but every kernel not cached yet then fails to compile
        return (f"tinygrad's CPU device compiles its kernels with the {compiler} binary, which "
                "is not on PATH: install clang (Debian: apt-get install clang)")
    return ""


class TinygradAdapter:
    name: ClassVar[str] = "tinygrad"
    capabilities: ClassVar[frozenset[str]] = frozenset({"in_place", "autograd", "random"})
    #: why each missing capability, and each notes' call tinygrad has no function for, is
    #: missing (conformance/requirements.py shows the reason in those cells)
    missing: ClassVar[dict[str, str]] = {
        "compile": "this adapter runs tinygrad lazily operation by operation, as its users "
                   "write it (each value is compiled when it is read); TinyJit is not wired in",
        "norm": "tinygrad has no norm function: Tensor has no .norm() and tinygrad has no "
                "linalg namespace (users write (x * x).sum().sqrt() themselves)",
        "zero_": "tinygrad's Tensor has no zero_() method; its optimizers' zero_grad() sets "
                 ".grad to None instead of zeroing it in place",
    }
    namespace: ClassVar[str] = "Tensor"
    imports: ClassVar[str] = "from tinygrad import Tensor, dtypes"
    #: the notes' spelling -> tinygrad's, replaced in order (then torch. -> Tensor.)
    spelling: ClassVar[dict[str, str]] = {
        "torch.tensor(": "Tensor(", "torch.cat(": "Tensor.cat(*", "torch.mv(": "Tensor.matmul(",
        "torch.mm(": "Tensor.matmul(", "keepdims=": "keepdim=",
        ".requires_grad_(True)": "", ", requires_grad=True": "",
        **{f"torch.{d}": f"dtypes.{d}" for d in ("float32", "float64", "int32", "int64", "bool",
                                                  "long", "float")},
    }

    def __init__(self) -> None:
        problem = _check_device()
        if problem:
            raise Unavailability(problem)
        # measured with tinygrad 0.14.0: Tensor([1, 2]) and Tensor.arange(3) are int32,
        # Tensor([1.0]), zeros, ones float32; int64 and float64 exist; int32 + float32 ->
        # float32; sum and cumsum of bool/int8/int16/int32 -> int32, int64 stays int64
        self.policy = DtypePolicy(default_int="int32", default_float="float32", max_bits=64,
                                  int_float_promotion="float_operand",
                                  int_accumulator="at_least_default")

    def versions(self) -> dict[str, str]:
        return {"tinygrad": version("tinygrad"), "device": DEVICE}

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """tinygrad's default device set to the CPU, around every program run."""
        with Context(DEV=DEVICE):
            yield

    # -- crossing the boundary -------------------------------------------
    @_on_cpu
    def from_host(self, array: Any) -> Tensor:
        # a copy: writes into the tensor must not reach the caller's array
        return Tensor(np.array(array, copy=True, order="C"))

    @_on_cpu
    def to_host(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            return np.array(value.numpy(), copy=True)  # realizes the lazy graph
        if isinstance(value, list | tuple) and any(isinstance(v, Tensor) for v in value):
            return np.asarray([self.to_host(v) for v in value])
        return np.asarray(value)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, Tensor)

    @_on_cpu
    def to_bool(self, value: Any) -> bool:
        # another name: tinygrad's Tensor.__bool__ raises TypeError ("__bool__ on Tensor is
        # not defined": a lazy tensor has no value until realized); its users read a
        # one-element tensor's value with .item(), as `if (x > 0).item():`
        return bool(value.item())

    # -- creation ----------------------------------------------------------
    @_on_cpu
    def tensor(self, data: Any, dtype: DtypeArg) -> Tensor:
        return Tensor(data, **_dtype_keyword(dtype))

    @_on_cpu
    def arange(self, end: int | float, dtype: DtypeArg) -> Tensor:
        return Tensor.arange(end, **_dtype_keyword(dtype))

    @_on_cpu
    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor:
        return Tensor.zeros(*shape, **_dtype_keyword(dtype))

    @_on_cpu
    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor:
        return Tensor.ones(*shape, **_dtype_keyword(dtype))

    @_on_cpu
    def zeros_like(self, x: Tensor) -> Tensor:
        return Tensor.zeros_like(x)

    @_on_cpu
    def randn(self, shape: tuple[int, ...], seed: int) -> Tensor:
        # tinygrad's sampler is seeded process-wide (Tensor.manual_seed), its only way
        Tensor.manual_seed(seed)
        return Tensor.randn(*shape)

    # -- shape -------------------------------------------------------------
    def shape(self, x: Tensor) -> tuple[int, ...]:
        return tuple(int(n) for n in x.shape)  # tinygrad types a side as int or symbolic

    def numel(self, x: Tensor) -> int:
        return int(x.numel())

    def length(self, x: Tensor) -> int:
        return len(x)

    @_on_cpu
    def reshape(self, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        return x.reshape(tuple(shape))

    @_on_cpu
    def transpose(self, x: Tensor) -> Tensor:
        return x.T

    @_on_cpu
    def cat(self, tensors: Sequence[Tensor], axis: int) -> Tensor:
        # tinygrad's Tensor.cat takes the tensors as arguments: Tensor.cat(X, Y, dim=0)
        return Tensor.cat(*tensors, dim=axis)

    # -- elementwise (tinygrad's operators, so that its scalar promotion applies) -------
    @_on_cpu
    def add(self, x: Any, y: Any) -> Any:
        return x + y

    @_on_cpu
    def sub(self, x: Any, y: Any) -> Any:
        return x - y

    @_on_cpu
    def mul(self, x: Any, y: Any) -> Any:
        return x * y

    @_on_cpu
    def div(self, x: Any, y: Any) -> Any:
        return x / y

    @_on_cpu
    def pow(self, x: Any, y: Any) -> Any:
        return x**y

    @_on_cpu
    def eq(self, x: Any, y: Any) -> Any:
        return x == y

    @_on_cpu
    def lt(self, x: Any, y: Any) -> Any:
        return x < y

    @_on_cpu
    def gt(self, x: Any, y: Any) -> Any:
        return x > y

    @_on_cpu
    def neg(self, x: Any) -> Any:
        return -x

    @_on_cpu
    def exp(self, x: Tensor) -> Tensor:
        return x.exp()

    @_on_cpu
    def abs(self, x: Tensor) -> Tensor:
        return x.abs()

    # -- reductions --------------------------------------------------------
    @_on_cpu
    def sum(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
        return x.sum(**_reduction(axis, keepdims))

    @_on_cpu
    def mean(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
        return x.mean(**_reduction(axis, keepdims))

    @_on_cpu
    def cumsum(self, x: Tensor, axis: int) -> Tensor:
        return x.cumsum(axis=axis)

    # norm: tinygrad has none (``missing["norm"]``); the cells that call it are not applicable

    # -- products ----------------------------------------------------------
    @_on_cpu
    def dot(self, x: Tensor, y: Tensor) -> Tensor:
        return x.dot(y)

    @_on_cpu
    def mv(self, a: Tensor, x: Tensor) -> Tensor:
        # tinygrad has no mv: matmul (the @ operator) is its spelling
        return a.matmul(x)

    @_on_cpu
    def mm(self, a: Tensor, b: Tensor) -> Tensor:
        # tinygrad has no mm: matmul (the @ operator) is its spelling
        return a.matmul(b)

    # -- indexing and memory -------------------------------------------------
    @_on_cpu
    def getitem(self, x: Tensor, key: Any) -> Any:
        return x[key]

    @_on_cpu
    def setitem(self, x: Tensor, key: Any, value: Any) -> None:
        x[key] = value

    @_on_cpu
    def iadd(self, x: Tensor, y: Any) -> Tensor:
        x += y  # Tensor.__iadd__: x.assign(x + y), the same object
        return x

    # -- autograd (the ``Autograd`` protocol, implicit tracking) ---------------------------
    def requires_grad_(self, x: Tensor) -> Tensor:
        # tinygrad tracks every floating-point tensor: there is nothing to mark (no
        # requires_grad flag, no requires_grad_), x itself is the tracked leaf
        return x

    def grad(self, x: Tensor) -> Tensor | None:
        return x.grad

    @_on_cpu
    def backward(self, y: Tensor) -> None:
        y.backward()

    @_on_cpu
    def detach(self, x: Tensor) -> Tensor:
        return x.detach()

    # zero_: tinygrad has none (``missing["zero_"]``)

    # -- reproducers ----------------------------------------------------------
    def literal(self, array: np.ndarray) -> str:
        """``Tensor([...], dtype=dtypes.float32)``; an empty array of rank other than 1 is
        ``Tensor.zeros(shape, dtype=...)`` (a nested empty list has no shape)."""
        dtype = f"dtypes.{'bool' if array.dtype == np.bool_ else array.dtype}"
        if array.size == 0 and array.ndim != 1:
            return f"Tensor.zeros({', '.join(map(str, array.shape))}, dtype={dtype})"
        return f"Tensor({_nested(array.tolist())}, dtype={dtype})"


def _nested(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return f"float('{v}')" if isinstance(v, float) and not math.isfinite(v) else repr(v)
