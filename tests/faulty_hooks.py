"""Adapters whose optional hooks or boundary methods break the protocol (one fault each).

Each must cost only its own cells, with one line naming the adapter and the method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensor_conformance.adapters.numpy_backend import NumpyAdapter


class AfterCellRaises(NumpyAdapter):
    name = "numpy-after-cell-raises"

    def after_cell(self) -> None:
        raise RuntimeError("cannot free the cache")


class VersionsRaises(NumpyAdapter):
    name = "numpy-versions-raises"

    def versions(self) -> dict[str, str]:
        raise RuntimeError("no version attribute")


class ConstructorRaises(NumpyAdapter):
    name = "numpy-constructor-raises"

    def __init__(self) -> None:
        raise RuntimeError("device initialisation failed")


class ToHostList(NumpyAdapter):
    name = "numpy-to-host-list"

    def to_host(self, value: Any) -> Any:
        return np.asarray(value).tolist()


class ToHostNone(NumpyAdapter):
    name = "numpy-to-host-none"

    def to_host(self, value: Any) -> Any:
        return None


class ToHostStr(NumpyAdapter):
    name = "numpy-to-host-str"

    def to_host(self, value: Any) -> Any:
        return str(np.asarray(value))
