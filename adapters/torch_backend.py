"""PyTorch as a backend under test (CPU, and CUDA where a device exists).

The documentation under test is written in PyTorch, so each method is the
literal spelling the notes use (``x + y``, ``A.sum(axis=0)``, ``X[1, 2] = 9``,
``torch.norm(X)``, ``X.T``, ``y.detach()``), with the operators of the library
itself so that its own scalar promotion applies.  Arguments the notes leave out
are left out here too (``torch.arange(12)``, not ``torch.arange(12, dtype=None)``;
``A.sum()``, not ``A.sum(axis=None, keepdims=False)``): a default is part of the
call under test.  No method composes a result from other calls.

PyTorch has every capability: in-place writes, stateful autograd
(``requires_grad_``, ``.grad``, ``backward()``) and a seeded sampler.

``TorchAdapter(device=...)`` puts every tensor it creates on that device;
``TorchCudaAdapter`` is the same adapter on ``"cuda"``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.func

from tensor_conformance.adapters.protocol import NOT_GIVEN, DtypeArg, DtypePolicy
from tensor_conformance.adapters.registry import Unavailability


def _dtype_keyword(name: DtypeArg) -> dict[str, Any]:
    """``dtype=`` as the program wrote it: ``"float32"`` -> ``{"dtype": torch.float32}``,
    ``None`` -> ``{"dtype": None}``; no dtype -> no keyword, so that the library's own
    default is what runs."""
    if name is NOT_GIVEN:
        return {}
    if name is None:
        return {"dtype": None}
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"torch has no dtype named {name!r}")
    return {"dtype": dtype}


def _reduction(axis: int | None, keepdims: bool) -> dict[str, Any]:
    """The notes' keywords: ``A.sum()``, ``A.sum(axis=0)``, ``A.sum(axis=1, keepdims=True)``
    (PyTorch wants an axis, None for all, with ``keepdims``)."""
    if keepdims:
        return {"axis": axis, "keepdims": True}
    return {} if axis is None else {"axis": axis}


class TorchAdapter:
    name: ClassVar[str] = "torch"
    capabilities: ClassVar[frozenset[str]] = frozenset({"in_place", "autograd", "random"})
    missing: ClassVar[dict[str, str]] = {
        "compile": "this adapter runs PyTorch eagerly, as the notes do; torch.compile is "
                   "not wired in",
    }
    #: for reproducers: how this backend spells the notes' ``torch.`` namespace
    namespace: ClassVar[str] = "torch"
    imports: ClassVar[str] = "import torch"

    def __init__(self, device: str = "cpu") -> None:
        self.device = torch.device(device)
        # int literals and arange: int64; float literals, zeros, ones: float32;
        # int tensor op float32 tensor: float32
        # measured with torch 2.13: sum and cumsum of bool/int8/int16/int32/int64 -> int64
        self.policy = DtypePolicy(int_accumulator="at_least_default")

    def jvp(self, fn: Any, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        """Forward mode (``torch.func.jvp``): the gradient oracles compare it with backward()."""
        with warnings.catch_warnings():  # torch.func's first call uses deprecated torch.jit
            warnings.simplefilter("ignore", DeprecationWarning)
            result = torch.func.jvp(fn, primals, tangents)
        return result[0], result[1]

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__}

    def context(self) -> contextlib.AbstractContextManager[Any]:
        """Entered by the engine around every program run; PyTorch needs no set-up."""
        return contextlib.nullcontext()

    # -- crossing the boundary -------------------------------------------
    def from_host(self, array: Any) -> torch.Tensor:
        # a copy: writes into the tensor must not reach the caller's array
        host = np.array(array, copy=True, order="C")
        return torch.tensor(host, device=self.device)

    def to_host(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            # a copy: a later in-place write must not change a value already read
            value = value.detach().cpu().resolve_conj().resolve_neg()
            return np.array(value.numpy(), copy=True)
        if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
            return np.asarray([self.to_host(v) for v in value])
        return np.asarray(value)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    def to_bool(self, value: Any) -> bool:
        return bool(value)

    # -- creation ----------------------------------------------------------
    def tensor(self, data: Any, dtype: DtypeArg) -> torch.Tensor:
        return torch.tensor(data, **_dtype_keyword(dtype), device=self.device)

    def arange(self, end: float, dtype: DtypeArg) -> torch.Tensor:
        return torch.arange(end, **_dtype_keyword(dtype), device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> torch.Tensor:
        return torch.zeros(tuple(shape), **_dtype_keyword(dtype), device=self.device)

    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> torch.Tensor:
        return torch.ones(tuple(shape), **_dtype_keyword(dtype), device=self.device)

    def zeros_like(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def randn(self, shape: tuple[int, ...], seed: int) -> torch.Tensor:
        # torch.randn(3, 4) with the seed passed as a generator (torch.manual_seed would
        # seed the whole process)
        generator = torch.Generator(device=self.device)
        generator.manual_seed(seed)
        return torch.randn(tuple(shape), generator=generator, device=self.device)

    # -- shape -------------------------------------------------------------
    def shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return tuple(x.shape)

    def numel(self, x: torch.Tensor) -> int:
        return int(x.numel())

    def length(self, x: torch.Tensor) -> int:
        return len(x)

    def reshape(self, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return x.reshape(tuple(shape))

    def transpose(self, x: torch.Tensor) -> torch.Tensor:
        return x.T

    def cat(self, tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(tuple(tensors), dim=axis)

    # -- elementwise -------------------------------------------------------
    def add(self, x: Any, y: Any) -> Any:
        return x + y

    def sub(self, x: Any, y: Any) -> Any:
        return x - y

    def mul(self, x: Any, y: Any) -> Any:
        return x * y

    def div(self, x: Any, y: Any) -> Any:
        return x / y

    def pow(self, x: Any, y: Any) -> Any:
        return x**y

    def eq(self, x: Any, y: Any) -> Any:
        return x == y

    def lt(self, x: Any, y: Any) -> Any:
        return x < y

    def gt(self, x: Any, y: Any) -> Any:
        return x > y

    def neg(self, x: Any) -> Any:
        return -x

    def exp(self, x: Any) -> Any:
        return torch.exp(x)

    def abs(self, x: Any) -> Any:
        return torch.abs(x)

    # -- reductions --------------------------------------------------------
    def sum(self, x: torch.Tensor, axis: int | None, keepdims: bool) -> Any:
        return x.sum(**_reduction(axis, keepdims))

    def mean(self, x: torch.Tensor, axis: int | None, keepdims: bool) -> Any:
        return x.mean(**_reduction(axis, keepdims))

    def cumsum(self, x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.cumsum(axis=axis)  # type: ignore[call-arg]  # torch's alias of dim, as the notes write

    def norm(self, x: torch.Tensor, p: float) -> Any:
        # the notes' torch.norm(u) / torch.norm(X) on the tensor as given (a matrix's
        # Frobenius norm is torch.norm's own matrix path); an explicit p as written
        return torch.norm(x) if p == 2 else torch.norm(x, p=p)

    # -- products ----------------------------------------------------------
    def dot(self, x: torch.Tensor, y: torch.Tensor) -> Any:
        return torch.dot(x, y)

    def mv(self, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.mv(a, x)

    def mm(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.mm(a, b)

    # -- indexing and memory -------------------------------------------------
    def getitem(self, x: torch.Tensor, key: Any) -> Any:
        return x[key]

    def setitem(self, x: torch.Tensor, key: Any, value: Any) -> None:
        x[key] = value

    def iadd(self, x: torch.Tensor, y: Any) -> torch.Tensor:
        x += y
        return x

    # -- autograd (the ``Autograd`` protocol) ----------------------------------
    def requires_grad_(self, x: torch.Tensor) -> torch.Tensor:
        return x.requires_grad_(True)

    def grad(self, x: torch.Tensor) -> torch.Tensor | None:
        return x.grad

    def backward(self, y: torch.Tensor) -> None:
        y.backward()

    def detach(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach()

    def zero_(self, x: torch.Tensor) -> torch.Tensor:
        return x.zero_()


class TorchCudaAdapter(TorchAdapter):
    name: ClassVar[str] = "torch-cuda"

    def __init__(self) -> None:
        if not torch.cuda.is_available():
            raise Unavailability("no CUDA device: torch.cuda.is_available() is False")
        super().__init__(device="cuda")
