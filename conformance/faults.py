"""Planted library faults: a real library with exactly one function or method wrong.

A ``Fault`` names one attribute of a library (``torch.sum``, ``torch.Tensor.__setitem__``,
``jax.numpy.exp``, ``numpy.linalg.norm``) and how it goes wrong: ``wrong(original)``
returns the faulty replacement, as a regression in that library would be.  Nothing in
our adapters changes: a fault backend is the library's built-in adapter, unchanged,
running in a process where the library has been patched.  It keeps the built-in
backend's name (``torch``, ``numpy``, ``jax``), so the divergence registry applies to it
exactly as to the unmodified library, and the unmodified library is its control.

Load one as a backend (the patch is planted when the backend is built, before the
adapter's module is imported, so adapters that capture a library function at import,
such as ``jax.grad``, capture the faulty one)::

    pytest conformance/ --backend tensor_conformance.faults:torch-cumsum-exclusive

The suite's own code is shielded from the fault: a call made from the reference, the
comparison, hypothesis (which draw with NumPy) or an adapter's ``from_host``/``to_host``
(the suite's observation, not the call under test) reaches the original.  Every other
caller, our adapters and the library's own Python code included, gets the fault.

Each fault states the claims that must catch it and which outputs it breaks
(``breaks``: a regular expression on the failing output's name, or on the failure
message); ``python -m tensor_conformance.selftest`` runs the whole catalogue
(``conformance/fault_catalogue.py``) and prints the kill matrix.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: callers whose calls always reach the original: the suite's own machinery ...
SHIELDED_MODULES = ("tensor_conformance.", "hypothesis", "_pytest", "pytest")
#: ... except the adapters of the libraries under test, which call the library as its
#: users do (the reference adapter is the suite's own)
UNSHIELDED_MODULES = ("tensor_conformance.adapters.",)
REFERENCE_MODULES = ("tensor_conformance.adapters.reference",)
#: adapter methods that observe values for the suite rather than perform the notes' call
SHIELDED_FUNCTIONS = frozenset({"from_host", "to_host", "observe"})


@dataclass(frozen=True)
class Fault:
    """One wrong function or method in one library, and what must catch it."""

    id: str
    #: the built-in backend whose library is patched: numpy, torch or jax
    library: str
    #: the patched attribute, dotted from the top-level module: "torch.Tensor.__setitem__";
    #: several, space-separated, for one kernel reached through each of its spellings
    #: ("torch.sum torch.Tensor.sum": a bug in the kernel shows in both)
    target: str
    #: the original -> the faulty replacement (called with the original's arguments)
    wrong: Callable[[Any], Any]
    #: one sentence: what is wrong
    what: str
    #: the claims whose specs must fail on it (the self-test runs those specs only)
    claims: tuple[str, ...]
    #: a regular expression that the failing output's name (or the failure message) matches
    breaks: str
    #: why a fault may not be reachable yet (e.g. an adapter path another change adds)
    pending: str | None = None

    def catches(self, cell: dict[str, Any]) -> bool:
        """Whether a failing results.json cell is this fault being caught."""
        if cell["outcome"] != "fail" or not set(self.claims) & set(cell["claims"]):
            return False
        return bool(failing_outputs(cell, self.breaks))


def failing_outputs(cell: dict[str, Any], pattern: str) -> list[str]:
    """The names of a failing cell's outputs (or its message) that match ``pattern``."""
    failure = cell.get("failure") or {}
    names = [o["name"] for o in failure.get("outputs", []) if o.get("problem")]
    found = [n for n in names if re.search(pattern, n)]
    if not found and re.search(pattern, failure.get("message", "")):
        found = ["(message)"]
    return found


def _resolve(target: str) -> tuple[Any, str]:
    """``"torch.Tensor.sum"`` -> (torch.Tensor, "sum"): the longest importable module
    prefix, then attributes."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ValueError(f"cannot import any module of {target!r}")


def _shielded_caller() -> bool:
    frame = sys._getframe(2)  # 0: here, 1: the replacement, 2: its caller
    module = frame.f_globals.get("__name__", "")
    suite = module.startswith(SHIELDED_MODULES) and (
        not module.startswith(UNSHIELDED_MODULES) or module.startswith(REFERENCE_MODULES))
    return suite or frame.f_code.co_name in SHIELDED_FUNCTIONS


def _shield(original: Any, faulty: Callable[..., Any]) -> Any:
    if isinstance(original, property):
        getter = _shield(original.fget, faulty)
        return property(getter, original.fset, original.fdel, original.__doc__)

    def replacement(*args: Any, **kwargs: Any) -> Any:
        if _shielded_caller():
            return original(*args, **kwargs)
        return faulty(*args, **kwargs)

    with contextlib.suppress(AttributeError, TypeError):  # a ufunc: keep our own name
        functools.update_wrapper(replacement, original)
    replacement.__wrapped_fault__ = True  # type: ignore[attr-defined]
    return replacement


def plant(fault: Fault) -> None:
    """Patch the library for the rest of this process (one fault per process)."""
    for target in fault.target.split():
        _plant(target, fault.wrong)


def _plant(target: str, wrong: Callable[[Any], Any]) -> None:
    owner, name = _resolve(target)
    original = owner.__dict__[name] if isinstance(owner, type) and name in owner.__dict__ \
        else getattr(owner, name)
    if isinstance(owner, type) and not callable(original) and hasattr(original, "__get__"):
        # an attribute of a class defined in C (torch.Tensor.T): patched as a property
        descriptor = original
        original = property(lambda self: descriptor.__get__(self, type(self)))
    faulty: Any = wrong(original.fget if isinstance(original, property) else original)
    setattr(owner, name, _shield(original, faulty))


def catalogue() -> dict[str, Fault]:
    from tensor_conformance.fault_catalogue import FAULTS

    return {f.id: f for f in FAULTS}


def backend(fault_id: str) -> Any:
    """The built-in adapter of the fault's library, with the fault planted."""
    from tensor_conformance.adapters import registry

    fault = catalogue()[fault_id]
    try:
        plant(fault)
    except ImportError as exc:  # the library is not installed
        raise registry.Unavailability(f"{fault.library} is not installed ({exc})") from exc
    built = registry.load(fault.library)
    if isinstance(built, registry.Unavailable):
        raise registry.Unavailability(built.reason)
    return built


def __getattr__(name: str) -> Callable[[], Any]:
    """``--backend tensor_conformance.faults:FAULT_ID``: the factory of that fault's backend."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in catalogue():
        raise AttributeError(f"no planted fault named {name!r} (see conformance/fault_catalogue.py)")
    return functools.partial(backend, name)
