"""Finding adapters by name, by dotted path, by file path or by entry point.

Built-ins are registered as dotted strings so that listing them imports neither
torch nor jax; a backend whose library is missing becomes an ``Unavailable``
with the reason, which the engine reports as "not applicable".
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tensor_conformance.adapters.protocol import REQUIRED, Adapter

#: built-in adapters: name -> "module:factory" (the factory takes no arguments)
BUILTIN: dict[str, str] = {
    "reference": "tensor_conformance.adapters.reference.adapter:ReferenceAdapter",
    "numpy": "tensor_conformance.adapters.numpy_backend:NumpyAdapter",
    "torch": "tensor_conformance.adapters.torch_backend:TorchAdapter",
    "torch-cuda": "tensor_conformance.adapters.torch_backend:TorchCudaAdapter",
    "jax": "tensor_conformance.adapters.jax_backend:JaxAdapter",
    "jax-x64": "tensor_conformance.adapters.jax_backend:JaxX64Adapter",
    # opt-in (--backend tinygrad): not among the defaults
    "tinygrad": "tensor_conformance.adapters.tinygrad_backend:TinygradAdapter",
}

#: what `pytest conformance/` runs when no --backend is given
DEFAULT_BACKENDS: tuple[str, ...] = ("reference", "numpy", "torch", "jax", "jax-x64")

#: installed packages may register adapters under this entry-point group
ENTRY_POINT_GROUP = "tensor_conformance.adapters"

#: ``array-api:MODULE``: an adapter built from the Array API standard's own functions of
#: the namespace ``MODULE`` (adapters/array_api_backend.py), e.g. ``array-api:numpy``
ARRAY_API_PREFIX = "array-api:"


def is_array_api(name: str) -> bool:
    """Does ``name`` select an Array API namespace (``array-api:MODULE``)?"""
    return name.startswith(ARRAY_API_PREFIX) and len(name) > len(ARRAY_API_PREFIX)


class AdapterError(Exception):
    """A --backend value that names nothing loadable (a user error, not a missing library)."""


@dataclass(frozen=True)
class Unavailable:
    """A backend that cannot run here, and why (e.g. its library is not installed)."""

    name: str
    reason: str


@dataclass(frozen=True)
class Broken(Unavailable):
    """A backend whose adapter failed to build (its constructor raised): every cell of it
    fails with ``reason``, one line naming the adapter."""


def known_names() -> set[str]:
    """Backend names that exist without being selected: the built-ins and installed plug-ins."""
    return set(BUILTIN) | set(_installed_entry_points())


def _installed_entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _import_from_file(path: Path, attr: str) -> Any:
    if not path.is_file():
        raise AdapterError(f"--backend {path}:{attr}: no such file")
    module_name = f"_conformance_user_adapter_{abs(hash(str(path.resolve())))}"
    # as `python path/to/file.py` would: the file's folder is importable, so an adapter
    # may import a module beside it (its core adapter, its helpers)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise AdapterError(f"--backend {path}:{attr}: cannot import that file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, attr)


def _resolve(target: str) -> Any:
    module_part, _, attr = target.rpartition(":")
    if not module_part or not attr:
        raise AdapterError(
            f"--backend {target!r}: expected a built-in name ({', '.join(BUILTIN)}), "
            "'array-api:MODULE', 'package.module:Class' or 'path/to/file.py:Class'"
        )
    if module_part.endswith(".py") or "/" in module_part:
        factory = _import_from_file(Path(module_part), attr)
    else:
        factory = getattr(importlib.import_module(module_part), attr)
    return factory


def load(name: str) -> Adapter | Unavailable:
    """Build the adapter named ``name``, or say why it is unavailable (or broken)."""
    if is_array_api(name):
        return _array_api(name)
    target = BUILTIN.get(name) or _installed_entry_points().get(name) or name
    factory = None
    try:
        factory = _resolve(target)
        adapter = factory()
    except ModuleNotFoundError as exc:
        module = target.rpartition(":")[0]
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise AdapterError(f"--backend {name!r}: no module {exc.name!r} ({exc})") from None
        # the backend's own library (torch, jax, ...) is not installed
        return Unavailable(name, f"{exc.name or exc} is not installed ({exc})")
    except AttributeError as exc:
        if factory is None:
            raise AdapterError(f"--backend {name!r}: {exc}") from exc
        return _broken(name, target, factory, exc)
    except Unavailability as exc:
        return Unavailable(name, str(exc))
    except AdapterError:
        raise
    except Exception as exc:  # the adapter's own bug: its cells fail, the others run
        return _broken(name, target, factory, exc)
    missing = [m for m in REQUIRED if not hasattr(adapter, m)]
    if missing:
        raise AdapterError(f"--backend {name!r}: {target} lacks {', '.join(missing)} (every "
                           "adapter needs these; see adapters/protocol.py)")
    return adapter


def _array_api(name: str) -> Adapter | Unavailable:
    from tensor_conformance.adapters.array_api_backend import ArrayApiAdapter, NotArrayApi

    module = name.removeprefix(ARRAY_API_PREFIX)
    try:
        # it leaves out what the standard lacks (setitem, iadd, randn): not a full Adapter
        adapter: Adapter = ArrayApiAdapter(module)  # type: ignore[assignment]
    except ModuleNotFoundError as exc:
        return Unavailable(name, f"{exc.name or module} is not installed ({exc})")
    except NotArrayApi as exc:
        raise AdapterError(f"--backend {name!r}: {exc}") from None
    return adapter


def _broken(name: str, target: str, factory: Any, exc: Exception) -> Broken:
    shown = getattr(factory, "name", None)
    shown = shown if isinstance(shown, str) else name
    method = f"the constructor {target}()" if factory is not None else f"importing {target}"
    return Broken(shown, f"adapter {shown!r}: {method} raised {type(exc).__name__}: {exc}")


class Unavailability(Exception):
    """An adapter factory raises this when its library is present but cannot run here
    (e.g. torch without a CUDA device for ``torch-cuda``)."""
