"""The adapter a user would write for faultynp: NumPy's, with faultynp's namespace."""

from __future__ import annotations

from typing import Any

import faultynp  # type: ignore[import-not-found]

from tensor_conformance.adapters.numpy_backend import NumpyAdapter


class FaultyNpAdapter(NumpyAdapter):
    name = "faultynp"
    namespace = "faultynp"
    imports = "import faultynp"

    def from_host(self, array: Any) -> Any:
        return faultynp.asarray(array.copy())

    def cumsum(self, x: Any, axis: int) -> Any:
        return x.cumsum(axis=axis)
