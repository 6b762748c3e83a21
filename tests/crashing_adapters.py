"""Backends that kill or hang their own process on one spec each: the run must go on.

``cumsum`` dies of SIGSEGV (as a library with a memory bug would, or tinygrad of SIGFPE
on an integer division by zero); ``sum`` over an axis never returns.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np

from tensor_conformance.adapters.numpy_backend import NumpyAdapter


class SegfaultsOnCumsumHangsOnSum(NumpyAdapter):
    name = "numpy-segv-hang"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        os.kill(os.getpid(), signal.SIGSEGV)
        return super().cumsum(x, axis)

    def sum(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        if axis is not None:
            while True:
                time.sleep(1)
        return super().sum(x, axis, keepdims)


class ExitsOnCumsum(NumpyAdapter):
    name = "numpy-exits"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        os._exit(3)


class HangsOnSum(NumpyAdapter):
    """Hangs in ``sum`` over an axis, after touching the file ``$HANG_MARKER`` (so a test
    knows when to interrupt the run)."""

    name = "numpy-hangs"

    def sum(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        if axis is not None:
            with open(os.environ["HANG_MARKER"], "w"):
                pass
            while True:
                time.sleep(1)
        return super().sum(x, axis, keepdims)


class FloatingPointExceptionOnIntegerCumsum(NumpyAdapter):
    """Dies of SIGFPE in ``cumsum`` of an integer array, as tinygrad does on an integer
    floor division by zero; float arrays are summed."""

    name = "numpy-fpe"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        if np.issubdtype(x.dtype, np.integer):
            os.kill(os.getpid(), signal.SIGFPE)
        return super().cumsum(x, axis)


class FixedIntegerCumsum(NumpyAdapter):
    """The same library after its fix: ``cumsum`` of integers returns."""

    name = "numpy-fpe-fixed"
