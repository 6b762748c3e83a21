"""Backends with one planted fault each: the suite must catch every one of them.

Each is the NumPy adapter with one method wrong, so a failing cell can only be
explained by that fault.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.numpy_backend import NumpyAdapter


class CumsumOffByOne(NumpyAdapter):
    name = "numpy-cumsum-off-by-one"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return super().cumsum(x, axis) + 1


class SumDropsKeepdims(NumpyAdapter):
    name = "numpy-sum-drops-keepdims"

    def sum(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        return super().sum(x, axis, False)


class AddIgnoresBroadcasting(NumpyAdapter):
    name = "numpy-add-broadcasts-wrong"

    def add(self, x: Any, y: Any) -> Any:
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape != y.shape:
            return np.add(x, np.broadcast_to(y.reshape(-1)[:1], y.shape) if y.size else y)
        return super().add(x, y)


class SumInFloat16(NumpyAdapter):
    """A value error far below what a human would notice: float32 sums rounded to float16."""

    name = "numpy-sum-float16"

    def sum(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        result = super().sum(x, axis, keepdims)
        if result.dtype == np.float32:
            return np.asarray(result).astype(np.float16).astype(np.float32)
        return result


class IaddCopies(NumpyAdapter):
    name = "numpy-iadd-copies"

    def iadd(self, x: np.ndarray, y: Any) -> np.ndarray:
        return x + y


class MeanIntGivesInt(NumpyAdapter):
    name = "numpy-mean-int-dtype"

    def mean(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        result = super().mean(x, axis, keepdims)
        return np.asarray(result).astype(x.dtype) if x.dtype.kind in "iu" else result
