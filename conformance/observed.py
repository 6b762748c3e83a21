"""What a backend produced for one output, in a form every comparison can read.

Backend tensors are read through their adapter's ``to_host`` into NumPy arrays
(values, dtype name, shape); the reference's tensors also bring their error
bounds and "unsure" masks.  Python values (ints, tuples from ``.shape``, ``id``
comparisons) stay Python.  An operation that raised is an ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tensor_conformance.adapters.protocol import Adapter
from tensor_conformance.adapters.reference.tensor import Tensor as RefTensor
from tensor_conformance.hooks import host_array
from tensor_conformance.program import Raised


@dataclass
class Observed:
    kind: str  # "tensor" | "python" | "tuple" | "none" | "error"
    value: Any = None  # np.ndarray for tensors, the Python value, or the items of a tuple
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    error: str | None = None
    #: reference only: per-element bound on |backend - reference|, and unsure booleans
    bounds: np.ndarray | None = None
    unsure: np.ndarray | None = None

    def describe(self, limit: int = 400) -> str:
        if self.kind == "error":
            return f"raised {self.error}"
        if self.kind == "tensor":
            text = np.array2string(self.value, precision=8, threshold=64, separator=", ")
            out = f"{text} (dtype={self.dtype}, shape={self.shape})"
        elif self.kind == "tuple":
            out = "(" + ", ".join(item.describe(limit) for item in self.value) + ")"
        else:
            out = repr(self.value)
        return out if len(out) <= limit else out[: limit - 3] + "..."

    def to_json(self) -> dict[str, Any]:
        return {
            "value": None if self.kind == "error" else self.describe(),
            "dtype": self.dtype,
            "shape": list(self.shape) if self.shape is not None else None,
            "error": self.error,
        }


def _dtype_name(array: np.ndarray) -> str:
    return "bool" if array.dtype == np.bool_ else str(array.dtype)


def observe(adapter: Adapter, value: Any) -> Observed:
    if isinstance(value, Raised):
        return Observed("error", error=value.describe())
    if value is None:
        return Observed("none")
    if isinstance(value, RefTensor):
        host = np.array(value.nested(), dtype=value.dtype).reshape(value.shape)
        bounds = None if value.bounds is None else np.array(value.bounds).reshape(value.shape)
        unsure = None if value.unsure is None else np.array(value.unsure).reshape(value.shape)
        return Observed("tensor", host, value.dtype, value.shape, bounds=bounds, unsure=unsure)
    if adapter.is_tensor(value):
        host = host_array(adapter, value)
        return Observed("tensor", host, _dtype_name(host), tuple(host.shape))
    if isinstance(value, tuple | list) and any(
        adapter.is_tensor(v) or isinstance(v, RefTensor | Raised) or v is None for v in value
    ):
        return Observed("tuple", [observe(adapter, v) for v in value])
    if isinstance(value, tuple | list):
        return Observed("python", tuple(int(v) if isinstance(v, int) else v for v in value))
    return Observed("python", value)
