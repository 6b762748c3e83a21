"""A failure's reproducer on a library whose autograd is a function (JAX) runs with the
library alone: the notes' ``requires_grad_``/``backward()``/``.grad`` become calls of
its ``grad`` (adapters/functional_reproducer.py) and print what the cell computed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tensor_conformance.adapters.functional_reproducer import functional_program
from tensor_conformance.reproducer import reproducer

jax_backend = pytest.importorskip("tensor_conformance.adapters.jax_backend")


def printed(text: str) -> list[Any]:
    """What pasting ``text`` into Python prints, value by value."""
    shown: list[Any] = []
    exec(compile(text, "<reproducer>", "exec"), {"print": shown.append})
    return shown


def test_the_notes_backward_becomes_the_librarys_grad() -> None:
    source = "x.requires_grad_(True)\ny = 2 * torch.dot(x, x)\ny.backward()\nx.grad\n"
    text = functional_program(source, "jax.grad", "jax.lax.stop_gradient")
    assert "jax.grad(_f1, argnums=(0,))(x)" in text
    assert not any(line.startswith("x.") for line in text.splitlines())
    adapter = jax_backend.JaxAdapter()
    x = np.arange(4.0, dtype=np.float32)
    (grad,) = printed(reproducer(adapter, source, {"x": x}))
    assert np.asarray(grad).tolist() == (4 * x).tolist()


def test_accumulation_zero_and_detach_are_spelled_in_the_library() -> None:
    source = ("x.requires_grad_(True)\ny = x * x\nu = y.detach()\nz = u * x\n"
              "z.sum().backward()\nx.grad\nz.sum().backward()\nx.grad\nx.grad.zero_()\n"
              "x.grad\n")
    adapter = jax_backend.JaxAdapter()
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    text = reproducer(adapter, source, {"x": x})
    assert "jax.lax.stop_gradient(y)" in text and "jnp.zeros_like(x_grad)" in text
    once, twice, zeroed = printed(text)
    assert np.asarray(once).tolist() == (x * x).tolist()  # u, not 3 x^2: detach held
    assert np.asarray(twice).tolist() == (2 * x * x).tolist()  # .grad accumulates
    assert np.asarray(zeroed).tolist() == [0.0, 0.0, 0.0]


def test_code_without_autograd_is_unchanged() -> None:
    source = "A.sum(axis=0)\nB = A * 2\nB\n"
    assert functional_program(source, "jax.grad", "jax.lax.stop_gradient") == source


def test_the_x64_reproducer_turns_x64_on() -> None:
    adapter = jax_backend.JaxX64Adapter()
    x = np.array([0.1, 0.2])
    (value,) = printed(reproducer(adapter, "x * 3\n", {"x": x}))
    assert np.asarray(value).dtype == np.float64
