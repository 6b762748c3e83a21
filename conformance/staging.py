"""Running a whole case program as one compiled function, on backends that compile.

JAX compiles every operation for every new shape and dtype: run eagerly, a case
program of ten operations costs ten lowerings and compilations per new shape,
about 10x a torch example.  An adapter with a ``stage(fn)`` method (JAX:
``jax.jit``) lets the engine trace the *whole* program once per input signature
instead: one compilation per example at worst, none when the shapes repeat.

Staging must never change what is checked:

* the program runs through the same interpreter and the same adapter methods
  (a wrapped or faulty adapter is traced through its own overrides);
* non-tensor inputs (sizes, axes, dtype names) are fixed at trace time and are
  part of the cache key; tensors and the random seed are the compiled function's
  arguments; programs with float or list (literal data) inputs run eagerly (every
  example would compile anew);
* an adapter's compiled program may decline inputs (``NotStageable``: JAX's does
  for empty arrays, on which XLA can abort the process), which then run eagerly;
* a program that cannot be traced (Python ``if``/``while`` on a tensor value,
  ``float(x)``) or that raises while tracing is run eagerly instead, and the
  eager run decides the result; a program that needs a concrete value once is
  never staged again.

Staged programs are plain functions of their inputs, so only backends whose
tensors are immutable can offer ``stage``: in-place programs are not applicable
on them anyway.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tensor_conformance.adapters.protocol import Adapter, NotApplicable, NotStageable
from tensor_conformance.program import Interpreter, Program, Raised

#: a program that raised this many times while being traced runs eagerly from then on
MAX_RAISES = 2
#: errors that mean "this program needs concrete values": it is never staged again
_CONCRETE_VALUE_NEEDED = ("ConcretizationTypeError", "TracerBoolConversionError",
                          "TracerIntegerConversionError", "TracerArrayConversionError")


class _NotStaged(Exception):
    """Tracing stopped: the program raised (the eager run will show how)."""

    def __init__(self, raised: Raised) -> None:
        super().__init__(raised.describe())
        self.raised = raised
        self.error = raised.error


#: how one output is rebuilt from the compiled function's flat list of tensors
#: ("tensor", index) | ("value", python value) | ("items", type, [templates])
Template = tuple[Any, ...]


@dataclass
class _Compiled:
    fn: Callable[..., Any]
    #: output templates per input signature, recorded when ``fn`` is traced for it
    templates: dict[Hashable, list[tuple[str, Template]]] = field(default_factory=dict)


@dataclass
class Stager:
    """The compiled programs of one adapter (cleared after each cell)."""

    adapter: Adapter
    compiled: dict[Hashable, _Compiled] = field(default_factory=dict)
    never: set[str] = field(default_factory=set)
    #: trace-time errors per program; past ``MAX_RAISES`` it runs eagerly from then on
    raised: Counter[str] = field(default_factory=Counter)
    #: how many runs were staged
    staged: int = 0
    #: seconds spent in first runs of a new input signature (tracing and compiling)
    compile_s: float = 0.0

    def run(self, program: Program, inputs: dict[str, Any], seed: int,
            strict: bool = False) -> dict[str, Any] | None:
        """The program's outputs ({source: value}, as ``Interpreter.run`` returns them
        with no snapshot), or None where it must run eagerly.  ``strict``: always
        compile, and an error while tracing is the output of the statement that raised
        (a ``compiled: true`` case checks exactly that)."""
        stage = getattr(self.adapter, "stage", None)
        if stage is None or (program.source in self.never and not strict):
            return None
        tensors = sorted(k for k, v in inputs.items() if self.adapter.is_tensor(v))
        fixed = {k: v for k, v in inputs.items() if k not in tensors}
        if not strict and any(_varies(v) for v in fixed.values()):
            return None
        try:
            key = (program.source, tuple(tensors), _hashable(fixed))
        except TypeError:  # an unhashable input: nothing to key a compilation on
            return None
        entry = self.compiled.get(key)
        if entry is None:
            entry = self.compiled[key] = self._compile(stage, program, tensors, fixed)
        arrays = [inputs[k] for k in tensors]
        first = _signature(arrays) not in entry.templates
        start = time.perf_counter()
        try:
            flat = entry.fn(seed, *arrays)
        except NotStageable as declined:
            if strict:
                raise NotApplicable(f"{self.adapter.name} cannot compile these inputs: "
                                    f"{declined}") from None
            return None
        except _NotStaged as stop:
            if strict:
                return {stop.raised.statement: stop.raised}
            self.raised[program.source] += 1
            if (type(stop.error).__name__ in _CONCRETE_VALUE_NEEDED
                    or self.raised[program.source] >= MAX_RAISES):
                self.never.add(program.source)
            return None
        finally:
            if first:
                self.compile_s += time.perf_counter() - start
        templates = entry.templates[_signature(arrays)]
        self.staged += 1
        return {text: _rebuild(t, flat) for text, t in templates}

    def _compile(self, stage: Callable[..., Any], program: Program, names: list[str],
                 fixed: dict[str, Any]) -> _Compiled:
        adapter = self.adapter
        entry = _Compiled(fn=lambda *a: None)

        def whole_program(seed: Any, *arrays: Any) -> list[Any]:
            outputs = Interpreter(adapter, {**fixed, **dict(zip(names, arrays, strict=True))},
                                  seed).run(program)
            flat: list[Any] = []
            templates = []
            for text, value in outputs.items():
                if isinstance(value, Raised):
                    raise _NotStaged(value)
                templates.append((text, _template(adapter, value, flat)))
            entry.templates[_signature(arrays)] = templates
            return flat

        entry.fn = stage(whole_program)
        return entry

    def clear(self) -> None:
        self.compiled.clear()
        self.never.clear()
        self.raised.clear()


def _varies(value: Any) -> bool:
    """Floats and lists (a literal's data) among the fixed inputs change with every
    example: compiling for each would cost more than running eagerly."""
    if isinstance(value, float | list | dict):
        return True
    return isinstance(value, tuple) and any(_varies(v) for v in value)


def _hashable(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_hashable(v) for v in value))
    hash(value)
    return (type(value).__name__, value)


def _signature(arrays: Sequence[Any]) -> Hashable:
    """What a compiler keys its compilations on: each argument's shape and dtype."""
    return tuple((tuple(a.shape), str(a.dtype)) for a in arrays)


def _template(adapter: Adapter, value: Any, flat: list[Any]) -> Template:
    if adapter.is_tensor(value):
        flat.append(value)
        return ("tensor", len(flat) - 1)
    if isinstance(value, list | tuple):
        return ("items", type(value), [_template(adapter, v, flat) for v in value])
    return ("value", value)


def _rebuild(template: Template, flat: list[Any]) -> Any:
    if template[0] == "tensor":
        return flat[template[1]]
    if template[0] == "items":
        return template[1](_rebuild(t, flat) for t in template[2])
    return template[1]
