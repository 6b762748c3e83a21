"""An adapter's method that breaks its contract hurts only that adapter's cells.

A hook that raises (``after_cell()``, ``versions()``, the constructor) or returns what
the protocol does not allow (``to_host`` returning a list, None or a string) is a bug
of the adapter, not a disagreement of its library: it becomes one line naming the
adapter and the method, on that adapter's cells only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AdapterHookError(Exception):
    """An adapter method broke the adapter protocol (see adapters/protocol.py); the
    message is one line naming the adapter and the method."""

    @classmethod
    def about(cls, adapter: str, method: str, problem: str) -> AdapterHookError:
        return cls(f"adapter {adapter!r}: {method} {problem}")


def raised(exc: BaseException) -> str:
    return f"raised {type(exc).__name__}: {exc}"


def call(adapter: Any, method: str, *args: Any) -> Any:
    """``adapter.method(*args)``, its exception turned into an :class:`AdapterHookError`."""
    try:
        return getattr(adapter, method)(*args)
    except Exception as exc:
        raise AdapterHookError.about(adapter.name, f"{method}()", raised(exc)) from exc


def host_array(adapter: Any, value: Any) -> np.ndarray:
    """``to_host(value)``, which must be a NumPy array (or NumPy scalar): anything else
    would be converted silently and then blamed on the library."""
    host = adapter.to_host(value)
    if not isinstance(host, np.ndarray | np.generic):
        raise AdapterHookError.about(adapter.name, "to_host()",
                                     f"returned {type(host).__name__} {_short(host)}, not a NumPy array")
    return np.asarray(host)


def versions(adapter: Any) -> tuple[dict[str, str], str | None]:
    """``versions()`` and None, or ``{}`` and the one-line problem."""
    try:
        found = adapter.versions()
    except Exception as exc:
        return {}, str(AdapterHookError.about(adapter.name, "versions()", raised(exc)))
    if not isinstance(found, dict):
        return {}, str(AdapterHookError.about(adapter.name, "versions()",
                                              f"returned {type(found).__name__}, not a dict"))
    return {str(k): str(v) for k, v in found.items()}, None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
