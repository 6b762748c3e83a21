"""The reference as an adapter: it runs the same programs as every backend.

Used two ways: as a backend in its own right (``--backend reference``, checked
against the notes' literal examples and the claims' relations), and as the oracle
for every other backend, then constructed with *that* backend's dtype policy so
that the expected dtypes are the ones the backend documents for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, NOT_GIVEN, DtypeArg, DtypePolicy
from tensor_conformance.adapters.reference import autograd, ops
from tensor_conformance.adapters.reference.dtypes import SMALLEST_NORMAL, narrowed
from tensor_conformance.adapters.reference.tensor import Tensor

Scalar = bool | int | float


def _named(dtype: DtypeArg) -> str | None:
    """The dtype the program named, or None for the policy's default (``dtype=None`` and
    no ``dtype=`` both mean the default)."""
    return None if dtype is NOT_GIVEN else dtype


class ReferenceAdapter:
    name: ClassVar[str] = "reference"
    capabilities: ClassVar[frozenset[str]] = frozenset({"in_place", "autograd", "random"})
    missing: ClassVar[dict[str, str]] = {
        "compile": "the reference interprets the notes' eager semantics; compiling whole "
                   "programs is a backend's own behaviour",
    }
    namespace: ClassVar[str] = "torch"
    imports: ClassVar[str] = "import torch  # the reference follows the documented PyTorch semantics"

    def __init__(self, policy: DtypePolicy = DOCUMENTED_POLICY) -> None:
        self.policy = policy

    def versions(self) -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return {"reference": version("tensor-conformance")}
        except PackageNotFoundError:
            return {"reference": "source tree"}

    # -- crossing the boundary -------------------------------------------
    def from_host(self, array: Any) -> Tensor:
        # a NumPy array from hypothesis: only its values, dtype and shape are read
        dtype = "bool" if array.dtype.kind == "b" else str(array.dtype)
        held = narrowed(dtype, self.policy)
        t = ops.make(tuple(array.shape), held, array.reshape(-1).tolist())
        tiny = SMALLEST_NORMAL.get(held, 0.0)
        if held != dtype and any(0 < abs(v) < tiny for v in t.values):
            # a normal float64 input may be subnormal once narrowed to float32, and a
            # backend that flushes subnormals (XLA's CPU backend does) reads it as 0
            t.bounds = [abs(v) if abs(v) < tiny else 0.0 for v in t.values]
        return t

    def to_host(self, value: Tensor) -> Any:
        import numpy as np

        return np.array(value.nested(), dtype=value.dtype).reshape(value.shape)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, Tensor)

    def to_bool(self, value: Tensor) -> bool:
        if value.numel != 1:
            raise RuntimeError(f"bool() of a tensor with {value.numel} elements is ambiguous")
        if value.unsure and value.unsure[0]:
            from tensor_conformance.adapters.reference.tensor import Indeterminate

            raise Indeterminate("a branch depends on a comparison within rounding error")
        return bool(value.values[0])

    # -- creation ----------------------------------------------------------
    def tensor(self, data: Any, dtype: DtypeArg) -> Tensor:
        return ops.tensor(data, _named(dtype), self.policy)

    def arange(self, end: int | float, dtype: DtypeArg) -> Tensor:
        return ops.arange(end, _named(dtype), self.policy)

    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor:
        return ops.full(shape, 0, _named(dtype), self.policy)

    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor:
        return ops.full(shape, 1, _named(dtype), self.policy)

    def zeros_like(self, x: Tensor) -> Tensor:
        return ops.full(x.shape, 0, x.dtype, self.policy)

    def randn(self, shape: tuple[int, ...], seed: int) -> Tensor:
        return ops.randn(shape, seed, self.policy)

    # -- shape -------------------------------------------------------------
    def shape(self, x: Tensor) -> tuple[int, ...]:
        return x.shape

    def numel(self, x: Tensor) -> int:
        return x.numel

    def length(self, x: Tensor) -> int:
        if not x.shape:
            raise TypeError("len() of a 0-d tensor")
        return x.shape[0]

    def reshape(self, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        return autograd.reshape(x, shape)

    def transpose(self, x: Tensor) -> Tensor:
        return autograd.transpose(x)

    def cat(self, tensors: Sequence[Tensor], axis: int) -> Tensor:
        return autograd.cat(tensors, axis, self.policy)

    # -- elementwise -------------------------------------------------------
    def add(self, x: Any, y: Any) -> Tensor:
        return autograd.add(x, y, self.policy)

    def sub(self, x: Any, y: Any) -> Tensor:
        return autograd.sub(x, y, self.policy)

    def mul(self, x: Any, y: Any) -> Tensor:
        return autograd.mul(x, y, self.policy)

    def div(self, x: Any, y: Any) -> Tensor:
        return autograd.div(x, y, self.policy)

    def pow(self, x: Any, y: Any) -> Tensor:
        return autograd.pow_(x, y, self.policy)

    def eq(self, x: Any, y: Any) -> Tensor:
        return ops.eq(x, y, self.policy)

    def lt(self, x: Any, y: Any) -> Tensor:
        return ops.lt(x, y, self.policy)

    def gt(self, x: Any, y: Any) -> Tensor:
        return ops.gt(x, y, self.policy)

    def neg(self, x: Tensor) -> Tensor:
        return autograd.neg(x, self.policy)

    def exp(self, x: Tensor) -> Tensor:
        return autograd.exp(x, self.policy)

    def abs(self, x: Tensor) -> Tensor:
        return autograd.abs_(x, self.policy)

    # -- reductions --------------------------------------------------------
    def sum(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
        return autograd.sum_(x, axis, keepdims, self.policy)

    def mean(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
        return autograd.mean(x, axis, keepdims, self.policy)

    def cumsum(self, x: Tensor, axis: int) -> Tensor:
        return autograd.cumsum(x, axis, self.policy)

    def norm(self, x: Tensor, p: float) -> Tensor:
        return autograd.norm(x, p, self.policy)

    # -- products ----------------------------------------------------------
    def dot(self, x: Tensor, y: Tensor) -> Tensor:
        return autograd.dot(x, y, self.policy)

    def mv(self, a: Tensor, x: Tensor) -> Tensor:
        return autograd.mv(a, x, self.policy)

    def mm(self, a: Tensor, b: Tensor) -> Tensor:
        return autograd.mm(a, b, self.policy)

    # -- indexing and memory -------------------------------------------------
    def getitem(self, x: Tensor, key: Any) -> Tensor:
        return autograd.getitem(x, key, self.policy)

    def setitem(self, x: Tensor, key: Any, value: Any) -> None:
        autograd.setitem(x, key, value, self.policy)

    def iadd(self, x: Tensor, y: Any) -> Tensor:
        return autograd.iadd(x, y, self.policy)

    # -- autograd ------------------------------------------------------------
    def requires_grad_(self, x: Tensor) -> Tensor:
        return autograd.requires_grad_(x)

    def grad(self, x: Tensor) -> Tensor | None:
        return x.grad

    def backward(self, y: Tensor) -> None:
        autograd.backward(y, self.policy)

    def detach(self, x: Tensor) -> Tensor:
        return autograd.detach(x)

    def zero_(self, x: Tensor) -> Tensor:
        return autograd.zero_(x)
