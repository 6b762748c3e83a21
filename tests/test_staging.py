"""Whole-program compilation (conformance/staging.py) must only ever save time: same
outputs as running operation by operation, and an eager run wherever compiling
cannot reproduce the notes' eager semantics."""

from __future__ import annotations

import numpy as np
import pytest

from tensor_conformance.program import Interpreter, Program
from tensor_conformance.staging import MAX_RAISES, Stager

jax_backend = pytest.importorskip("tensor_conformance.adapters.jax_backend")


@pytest.fixture(scope="module")
def jax_adapter() -> object:
    return jax_backend.JaxAdapter()


def eager(adapter: object, program: Program, inputs: dict[str, object]) -> dict[str, object]:
    return Interpreter(adapter, inputs).run(program)  # type: ignore[arg-type]


def host(value: object) -> object:
    if isinstance(value, tuple | list):
        return type(value)(host(v) for v in value)
    return np.asarray(value).tolist() if hasattr(value, "shape") else value


def test_compiled_outputs_equal_eager_ones(jax_adapter: object) -> None:
    program = Program.parse("Y = X.cumsum(dim=axis)\nY\nY.shape\n(Y, X.sum())\nX.shape == (2, 3)\n")
    stager = Stager(jax_adapter)  # type: ignore[arg-type]
    inputs = {"X": jax_adapter.from_host(np.arange(6.0).reshape(2, 3)), "axis": 1}  # type: ignore[attr-defined]
    staged = stager.run(program, inputs, seed=0)
    assert staged is not None and stager.staged == 1
    assert {k: host(v) for k, v in staged.items()} == {k: host(v) for k, v in eager(
        jax_adapter, program, inputs).items()}
    # the same shapes again: no new compilation
    stager.run(program, {**inputs, "X": jax_adapter.from_host(np.ones((2, 3)))}, seed=0)  # type: ignore[attr-defined]
    assert len(stager.compiled) == 1


def test_control_flow_on_values_runs_eagerly_from_then_on(jax_adapter: object) -> None:
    program = Program.parse("if X.sum() > 0:\n    X = X * 2\nX\n")
    stager = Stager(jax_adapter)  # type: ignore[arg-type]
    inputs = {"X": jax_adapter.from_host(np.ones(3, dtype=np.float32))}  # type: ignore[attr-defined]
    assert stager.run(program, inputs, seed=0) is None
    assert program.source in stager.never


def test_a_program_that_raises_is_left_to_the_eager_run(jax_adapter: object) -> None:
    program = Program.parse("X.reshape(X.numel() + 1)\n")
    stager = Stager(jax_adapter)  # type: ignore[arg-type]
    inputs = {"X": jax_adapter.from_host(np.ones(3, dtype=np.float32))}  # type: ignore[attr-defined]
    for _ in range(MAX_RAISES):
        assert stager.run(program, inputs, seed=0) is None
    assert program.source in stager.never


@pytest.mark.parametrize("inputs", [
    {"X": np.ones((1, 0), dtype=np.float32), "k": 1},  # empty: JAX's stage declines them
    {"X": np.ones(3, dtype=np.float32), "k": 0.5},  # a float changes with every example
    {"X": np.ones(3, dtype=np.float32), "k": [1, 2, 3]},  # so does a literal's data
], ids=["empty-input", "float-input", "list-input"])
def test_inputs_that_would_compile_per_example_run_eagerly(jax_adapter: object,
                                                           inputs: dict[str, object]) -> None:
    program = Program.parse("X * 2\n")
    stager = Stager(jax_adapter)  # type: ignore[arg-type]
    tensors = {k: jax_adapter.from_host(v) if isinstance(v, np.ndarray) else v  # type: ignore[attr-defined]
               for k, v in inputs.items()}
    assert stager.run(program, tensors, seed=0) is None
    assert stager.staged == 0


def test_outputs_are_rebuilt_for_the_signature_each_run_was_compiled_for(jax_adapter: object) -> None:
    """jax.jit traces once per input signature; a later run of an earlier signature is not
    traced again, so its outputs must be rebuilt from that signature's own record (a
    shape is a Python value fixed at trace time)."""
    program = Program.parse("X.shape\nX * 2\n")
    stager = Stager(jax_adapter)  # type: ignore[arg-type]
    for n in (2, 3, 2, 3):
        inputs = {"X": jax_adapter.from_host(np.ones(n, dtype=np.float32))}  # type: ignore[attr-defined]
        staged = stager.run(program, inputs, seed=0)
        assert staged is not None
        assert host(staged["X.shape"]) == (n,) and host(staged["X * 2"]) == [2.0] * n
    assert stager.staged == 4 and len(stager.compiled) == 1
