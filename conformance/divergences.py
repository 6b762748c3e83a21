"""The known-divergence registry: disagreements we know about, with reason and provenance.

``specs/divergences/*.yaml`` list entries like::

    - id: numpy-cumsum-0d
      backend: numpy              # or several: [jax, jax-x64]
      spec: reductions/cumsum
      cases: [any_axis]           # optional: which examples/cases (default: all)
      when: {A: [float32]}        # optional: drawn values (an array: its dtype; a shape: [0]) it applies to
      outputs: ["A.cumsum(axis=axis)"]   # optional: which outputs may differ
      problems: [shape]           # optional: value | dtype | shape | error | type | relation | crash
      compiled: true              # optional: only where the whole program ran compiled
      gradient: true              # optional: applies to the cases' gradient cells (only)
      reason: NumPy's cumsum of a 0-d array returns shape (1,) ...
      link: https://github.com/numpy/numpy/issues/...

A mismatch that an entry explains makes the cell a *known divergence* instead of a
failure.  An entry whose conditions were met but which never diverged is *stale*
(like a strict xfail that passes).

``problems: [crash]`` states that the library kills the process on the inputs that meet
the entry's conditions (a library bug: SIGFPE, SIGSEGV, an abort), which the suite can
only see from outside (conformance/isolation.py).  A cell whose worker died while
running an example that meets them is a known divergence instead of a ``crash``, still
showing the signal, the example and its reproducer; a crash no entry states stays a
``crash``, and a timeout is never explained.  Such an entry only ever explains a crash,
never a mismatch, so a cell that ran examples meeting its conditions to the end without
dying makes it stale: the library no longer crashes there.  An entry naming a spec, case, output or
variable that does not exist is a load-time error.

The suite always reads the built-in registry (``<specs>/divergences/``); every
``--divergences PATH`` (a file or a folder, repeatable) adds its entries to it, so a
plug-in author registers their own backend's divergences in a file of their own.
An entry with several backends holds for each of them (one ``Divergence`` per
backend, with the same id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from tensor_conformance.adapters import registry
from tensor_conformance.adapters.registry import BUILTIN
from tensor_conformance.compare import Mismatch
from tensor_conformance.spec import Spec, SpecError, read_yaml

_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "backend", "spec", "reason"],
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
            "backend": {"oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
            ]},
            "spec": {"type": "string"},
            "cases": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "when": {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
            "outputs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "problems": {"type": "array", "minItems": 1, "items": {
                "enum": ["value", "dtype", "shape", "error", "type", "relation", "crash"]}},
            "reason": {"type": "string", "minLength": 10},
            "link": {"type": "string", "pattern": "^https://"},
            "compiled": {"type": "boolean"},
            "gradient": {"type": "boolean"},
        },
    },
}


@dataclass(frozen=True)
class Divergence:
    id: str
    backend: str
    spec: str
    cases: tuple[str, ...] | None
    when: dict[str, tuple[Any, ...]]
    outputs: tuple[str, ...] | None
    problems: tuple[str, ...] | None
    reason: str
    link: str | None
    #: applies only to programs run compiled as a whole (the adapter's ``stage``)
    compiled: bool = False
    #: applies to the gradient cells of the cases (conformance/differentiation.py), and
    #: only to them; outputs are then ``X.grad`` or an output of the case
    gradient: bool = False
    #: where it is registered: file and entry, for error messages (not part of what it says)
    origin: tuple[str, str] = field(default=("", ""), compare=False)
    #: the field that names this backend: ``backend``, or ``backend[1]`` in a list
    backend_field: str = field(default="backend", compare=False)

    def selects(self, variables: dict[str, Any], compiled: bool = False) -> bool:
        """Do the drawn values (and the way the program ran) meet this entry's conditions?"""
        if self.compiled and not compiled:
            return False
        for name, allowed in self.when.items():
            value = variables.get(name)
            if isinstance(value, np.ndarray):
                value = "bool" if value.dtype == np.bool_ else str(value.dtype)
            if value not in allowed:
                return False
        return True

    def explains(self, mismatch: Mismatch) -> bool:
        if self.problems is not None and mismatch.problem not in self.problems:
            return False
        return self.outputs is None or any(
            _names(mismatch.output, o) or (self.gradient and mismatch.output.endswith(f" = {o}"))
            for o in self.outputs)

    def explains_crash(self, variables: dict[str, Any] | None) -> bool:
        """Does this entry state that the library kills the process on the example that
        was running (``problems: [crash]``)?  Never for an unknown example."""
        return (variables is not None and self.problems is not None
                and "crash" in self.problems and self.selects(variables))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "link": self.link}


def _as_drawn(value: Any) -> Any:
    """A ``when:`` value as hypothesis draws it: a YAML list is a shape, a tuple."""
    return tuple(_as_drawn(v) for v in value) if isinstance(value, list) else value


def _names(mismatch_output: str, output: str) -> bool:
    """Does a mismatch concern ``output`` (itself, an item of it, or one side of a relation)?"""
    return (mismatch_output == output or mismatch_output.startswith(output + "[")
            or mismatch_output.startswith(output + "  ==") or mismatch_output.endswith("==  " + output))


class Registry:
    def __init__(self, entries: list[Divergence]) -> None:
        self.entries = entries

    def check_backends(self, known: set[str]) -> None:
        """An entry for a backend that is neither built in, an installed plug-in nor
        selected in this run can never apply: most likely a typo."""
        for e in self.entries:
            if e.backend not in known and not registry.is_array_api(e.backend):
                raise SpecError(e.origin[0], f"{e.origin[1]}.{e.backend_field}",
                                f"no backend {e.backend!r}: not a built-in "
                                f"({', '.join(sorted(BUILTIN))}), an installed plug-in, or a "
                                "backend selected with --backend")

    def for_cell(self, spec_id: str, item_id: str, backend: str) -> list[Divergence]:
        """Entries for one cell; a gradient cell's id is ``<case>/gradient``."""
        case_id = item_id.removesuffix(GRADIENT_SUFFIX)
        gradient = case_id != item_id
        return [e for e in self.entries if e.backend == backend and e.spec == spec_id
                and e.gradient == gradient and (e.cases is None or case_id in e.cases)]


GRADIENT_SUFFIX = "/gradient"


def load(paths: Path | Sequence[Path], specs: list[Spec]) -> Registry:
    """Load registry files, or every ``*.yaml`` file of registry folders, into one registry
    (an id must be unique across all of them); a path that does not exist adds nothing."""
    seen: dict[str, str] = {}
    entries: list[Divergence] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path] if path.exists() else []
        for file in files:
            entries += _load_file(file, specs, seen)
    return Registry(entries)


def _load_file(path: Path, specs: list[Spec], seen: dict[str, str]) -> list[Divergence]:
    data = read_yaml(path) or []
    errors = sorted(jsonschema.Draft202012Validator(_ENTRY_SCHEMA).iter_errors(data),
                    key=lambda e: list(map(str, e.path)))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        at = list(best.absolute_path)
        message = best.message
        if len(at) >= 2 and at[1] == "backend":  # a string or a list: say both, not oneOf's words
            at = at[:2]
            message = ("expected a backend name or a list of backend names, got "
                       f"{data[at[0]]['backend']!r}")
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at)
        raise SpecError(path, where, message)
    by_id = {s.id: s for s in specs}
    entries = []
    for i, raw in enumerate(data):
        where = f"[{i}] ({raw['id']})"
        if raw["id"] in seen:
            other = "" if seen[raw["id"]] == str(path) else f" (also in {seen[raw['id']]})"
            raise SpecError(path, where, f"duplicate divergence id{other}")
        seen[raw["id"]] = str(path)
        spec = by_id.get(raw["spec"])
        if spec is None:
            raise SpecError(path, f"{where}.spec", f"no spec {raw['spec']!r} under specs/")
        items = {e.id: e for e in spec.examples} | {c.id: c for c in spec.cases}
        for case_id in raw.get("cases", []):
            if case_id not in items:
                raise SpecError(path, f"{where}.cases",
                                f"spec {spec.id} has no example or case {case_id!r} "
                                f"(it has: {', '.join(items)})")
        chosen = [items[c] for c in raw.get("cases", items)]
        for name in raw.get("when", {}):
            if not any(name in getattr(item, "given_spec", {}) for item in chosen):
                raise SpecError(path, f"{where}.when", f"{name!r} is not drawn by the selected cases")
        for output in raw.get("outputs", []):
            known = {o for item in chosen for o in _outputs(item)}
            if raw.get("gradient"):
                known |= {f"{name}.grad" for item in chosen
                          for name in getattr(item, "given_spec", {})}
            if output not in known:
                raise SpecError(path, f"{where}.outputs",
                                f"{output!r} is not an output of the selected cases "
                                f"(outputs: {', '.join(sorted(known))})")
        backends = [raw["backend"]] if isinstance(raw["backend"], str) else raw["backend"]
        entries += [Divergence(
            raw["id"], backend, raw["spec"],
            tuple(raw["cases"]) if "cases" in raw else None,
            {k: tuple(_as_drawn(x) for x in v) for k, v in raw.get("when", {}).items()},
            tuple(raw["outputs"]) if "outputs" in raw else None,
            tuple(raw["problems"]) if "problems" in raw else None,
            " ".join(raw["reason"].split()), raw.get("link"), bool(raw.get("compiled", False)),
            bool(raw.get("gradient", False)),
            (str(path), where),
            "backend" if isinstance(raw["backend"], str) else f"backend[{j}]",
        ) for j, backend in enumerate(backends)]
    return entries


def _outputs(item: Any) -> list[str]:
    if hasattr(item, "steps"):
        return [o for s in item.steps for o in s.program.outputs]
    return list(item.program.outputs) + [f"{a}  ==  {b}" for a, b in item.agree]
