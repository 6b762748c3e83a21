"""The Stager's decisions (conformance/staging.py), on a backend that compiles by tracing.

``TracingReference`` is the reference with a ``stage`` method that behaves like a
tracing compiler as far as the Stager can tell: it calls the whole program with the
inputs and counts one compilation per new input signature.  Each test checks one
documented rule: what is compiled, what runs eagerly (``None``), what a compiled run
returns, when a program is never staged again, and what ``strict`` (a ``compiled:
true`` case) changes.  tests/test_staging.py checks the same against JAX's ``jax.jit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tensor_conformance.adapters.protocol import NotApplicable, NotStageable
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.program import Interpreter, Program, Raised
from tensor_conformance.staging import MAX_RAISES, Stager


class TracingReference(ReferenceAdapter):
    name = "tracing-reference"

    def __init__(self, decline: bool = False) -> None:
        super().__init__()
        self.decline = decline
        self.stage_calls = 0
        self.traces: list[tuple[Any, ...]] = []

    def stage(self, program: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        self.stage_calls += 1
        seen: set[tuple[Any, ...]] = set()

        def run(seed: Any, *arrays: Any) -> list[Any]:
            if self.decline:
                raise NotStageable("declined by the test")
            signature = tuple((a.shape, a.dtype) for a in arrays)
            if signature not in seen:
                seen.add(signature)
                self.traces.append(signature)
            return program(seed, *arrays)

        return run


def t(values: list[float], dtype: str = "float32") -> Any:
    return ReferenceAdapter().from_host(np.array(values, dtype=dtype))


def host(value: Any) -> Any:
    if isinstance(value, Raised):
        return value.describe()
    if isinstance(value, tuple | list):
        return type(value)(host(v) for v in value)
    return value.nested() if hasattr(value, "nested") else value


def eager(adapter: Any, program: Program, inputs: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    return {k: host(v) for k, v in Interpreter(adapter, inputs, seed).run(program).items()}


def test_a_backend_without_stage_runs_eagerly() -> None:
    stager = Stager(ReferenceAdapter())  # type: ignore[arg-type]
    assert stager.run(Program.parse("X * 2\n"), {"X": t([1.0])}, seed=0) is None
    assert (stager.staged, stager.compiled) == (0, {})


def test_compiled_outputs_are_the_eager_outputs_rebuilt() -> None:
    """Tensors, tuples and lists of them, and plain Python values, each in its own form."""
    adapter = TracingReference()
    program = Program.parse("Y = X * k\nY\n(Y, X.sum())\n[X, Y]\nY.shape\nk\n")
    inputs = {"X": t([1.0, 2.0]), "k": 3}
    staged = Stager(adapter).run(program, inputs, seed=0)  # type: ignore[arg-type]
    assert staged is not None
    got = {k: host(v) for k, v in staged.items()}
    assert got == eager(adapter, program, inputs)
    assert type(staged["(Y, X.sum())"]) is tuple and type(staged["[X, Y]"]) is list
    assert got["k"] == 3 and got["Y.shape"] == (2,)


def test_the_seed_is_passed_to_the_compiled_program() -> None:
    adapter = TracingReference()
    program = Program.parse("torch.randn(3)\n")
    stager = Stager(adapter)  # type: ignore[arg-type]
    samples = []
    for seed in (1, 2):
        staged = stager.run(program, {}, seed=seed)
        assert staged is not None
        samples.append(host(staged["torch.randn(3)"]))
        assert samples[-1] == eager(adapter, program, {}, seed)["torch.randn(3)"]
    assert samples[0] != samples[1]


def test_a_program_compiles_once_per_fixed_inputs_and_counts_staged_runs() -> None:
    adapter = TracingReference()
    program = Program.parse("X * k\n")
    stager = Stager(adapter)  # type: ignore[arg-type]
    for values in ([1.0], [2.0], [3.0, 4.0]):
        assert stager.run(program, {"X": t(values), "k": 2}, seed=0) is not None
    assert adapter.stage_calls == 1 and stager.staged == 3
    staged = stager.run(program, {"X": t([1.0]), "k": 5}, seed=0)  # a new fixed input: compiled anew
    assert staged is not None and host(staged["X * k"]) == [5.0]
    assert adapter.stage_calls == 2 and len(stager.compiled) == 2


def test_tensor_inputs_are_keyed_by_name_not_by_the_order_given() -> None:
    adapter = TracingReference()
    program = Program.parse("X - Y\n")
    stager = Stager(adapter)  # type: ignore[arg-type]
    first = stager.run(program, {"X": t([5.0]), "Y": t([1.0])}, seed=0)
    second = stager.run(program, {"Y": t([1.0]), "X": t([5.0])}, seed=0)
    assert first is not None and second is not None
    assert host(first["X - Y"]) == host(second["X - Y"]) == [4.0]
    assert adapter.stage_calls == 1


@pytest.mark.parametrize(("one", "other"), [
    (1, True),            # equal and equally hashed, but not the same input
    (2, 2.0),
    ((1, 2), [1, 2]),     # a tuple and a list of the same items
    ({"a": 1}, {"a": True}),
    ((1, (2,)), (1, (True,))),
])
def test_fixed_inputs_that_compare_equal_but_differ_compile_separately(one: Any, other: Any) -> None:
    """Fixed inputs are baked into the compiled program: each must get its own."""
    adapter = TracingReference()
    program = Program.parse("k\n")
    stager = Stager(adapter)  # type: ignore[arg-type]
    for k in (one, other):
        staged = stager.run(program, {"X": t([1.0]), "k": k}, seed=0, strict=True)
        assert staged is not None
        assert staged["k"] == k and type(staged["k"]) is type(k)
    assert adapter.stage_calls == 2


@pytest.mark.parametrize("k", [0.5, [1, 2], {"a": 1}, (1, 0.5), (1, (2, [3]))],
                         ids=["float", "list", "dict", "tuple-with-float", "nested-list"])
def test_inputs_that_change_with_every_example_run_eagerly(k: Any) -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    assert stager.run(Program.parse("X * 2\n"), {"X": t([1.0]), "k": k}, seed=0) is None
    assert adapter.stage_calls == 0


@pytest.mark.parametrize("k", [3, True, "float32", None, (1, 2), (1, (2, 3))])
def test_fixed_ints_names_and_their_tuples_are_compiled(k: Any) -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    assert stager.run(Program.parse("X * 2\n"), {"X": t([1.0]), "k": k}, seed=0) is not None
    assert stager.staged == 1


def test_strict_compiles_inputs_that_change_with_every_example() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    staged = stager.run(Program.parse("X * k\n"), {"X": t([1.0]), "k": 0.5}, seed=0, strict=True)
    assert staged is not None and host(staged["X * k"]) == [0.5]


def test_an_unhashable_fixed_input_runs_eagerly() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    inputs = {"X": t([1.0]), "k": np.array([1, 2])}  # not a tensor of this backend
    assert stager.run(Program.parse("X * 2\n"), inputs, seed=0) is None
    assert adapter.stage_calls == 0 and stager.compiled == {}


def test_declined_inputs_run_eagerly_and_are_not_applicable_when_strict() -> None:
    adapter = TracingReference(decline=True)
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("X * 2\n")
    assert stager.run(program, {"X": t([1.0])}, seed=0) is None
    assert stager.staged == 0 and program.source not in stager.never
    with pytest.raises(NotApplicable, match="tracing-reference cannot compile these inputs: "
                                            "declined by the test"):
        stager.run(program, {"X": t([1.0])}, seed=0, strict=True)


def test_a_program_that_raises_while_traced_runs_eagerly_after_max_raises() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("X.reshape(5)\n")
    for attempt in range(1, MAX_RAISES + 1):
        assert program.source not in stager.never
        assert stager.run(program, {"X": t([1.0, 2.0])}, seed=0) is None
        assert stager.raised[program.source] == attempt
    assert program.source in stager.never
    calls = adapter.stage_calls
    assert stager.run(program, {"X": t([1.0, 2.0, 3.0, 4.0, 5.0])}, seed=0) is None
    assert adapter.stage_calls == calls and stager.staged == 0


def test_raising_once_does_not_stop_staging() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("X.reshape(2)\n")
    assert stager.run(program, {"X": t([1.0])}, seed=0) is None
    staged = stager.run(program, {"X": t([1.0, 2.0])}, seed=0)
    assert staged is not None and host(staged["X.reshape(2)"]) == [1.0, 2.0]


@pytest.mark.parametrize("error", ["ConcretizationTypeError", "TracerBoolConversionError",
                                   "TracerIntegerConversionError", "TracerArrayConversionError"])
def test_a_program_that_needs_concrete_values_is_never_staged_again(error: str) -> None:
    """JAX's errors for ``if``/``float()`` on a traced value: the first one is final."""
    exc = type(error, (TypeError,), {})

    class Tracing(TracingReference):
        def sum(self, *args: Any, **kwargs: Any) -> Any:
            raise exc("a traced value")

    adapter = Tracing()
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("X.sum()\n")
    assert stager.run(program, {"X": t([1.0])}, seed=0) is None
    assert program.source in stager.never and stager.raised[program.source] == 1


def test_strict_returns_the_trace_time_error_as_the_output_that_raised() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("Y = X * 2\nY.reshape(5)\n")
    staged = stager.run(program, {"X": t([1.0, 2.0])}, seed=0, strict=True)
    assert staged is not None and list(staged) == ["Y.reshape(5)"]
    assert isinstance(staged["Y.reshape(5)"], Raised)
    assert stager.raised[program.source] == 0 and program.source not in stager.never


def test_strict_compiles_a_program_that_is_never_staged_otherwise() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    program = Program.parse("X * 2\n")
    stager.never.add(program.source)
    assert stager.run(program, {"X": t([1.0])}, seed=0) is None
    assert stager.run(program, {"X": t([1.0])}, seed=0, strict=True) is not None


def test_clear_forgets_compilations_and_verdicts() -> None:
    adapter = TracingReference()
    stager = Stager(adapter)  # type: ignore[arg-type]
    stager.run(Program.parse("X * 2\n"), {"X": t([1.0])}, seed=0)
    failing = Program.parse("X.reshape(5)\n")
    for _ in range(MAX_RAISES):
        stager.run(failing, {"X": t([1.0])}, seed=0)
    assert stager.compiled and stager.never and stager.raised
    stager.clear()
    assert (stager.compiled, stager.never, dict(stager.raised)) == ({}, set(), {})
