"""Every reproducer runs: for each generated case and built-in backend, the pasted
reproducer of its first drawn examples prints, output by output, what the backend's
cell computed (conformance/reproducer.py, adapters/spelling.py, and for JAX's autograd
adapters/functional_reproducer.py).  A failure's reproducer is how a user checks the
suite without it: one that raises, or prints something else, is a bug of ours."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tensor_conformance import engine
from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.input_coverage import draws
from tensor_conformance.reproducer import reproducer
from tensor_conformance.spec import Case, load_all

SPECS = Path(__file__).resolve().parent.parent / "specs"
#: statements a functional library's reproducer spells as its grad (they print nothing)
_REWRITTEN = (".requires_grad_(", ".backward()", ".zero_()")


def _adapter(name: str) -> Any:
    if name == "numpy":
        return NumpyAdapter()
    if name == "torch":
        return pytest.importorskip("tensor_conformance.adapters.torch_backend").TorchAdapter()
    return pytest.importorskip("tensor_conformance.adapters.jax_backend").JaxAdapter()


def _cases() -> list[Case]:
    specs, _ = load_all(SPECS)
    return [c for s in specs for c in s.cases if c.given and not c.compiled]


def _host(value: Any) -> Any:
    """A printed value as it was when printed (a tensor written later keeps this copy)."""
    if hasattr(value, "detach"):  # a torch tensor
        return value.detach().numpy().copy()
    if hasattr(value, "shape") and not isinstance(value, np.ndarray):  # a JAX array
        return np.asarray(value).copy()
    return copy.deepcopy(value)


def printed(text: str) -> list[Any]:
    """What pasting ``text`` prints, value by value (a library's warnings, as on a
    console, are not errors)."""
    shown: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(text, "<reproducer>", "exec"), {"print": lambda v: shown.append(_host(v))})
    return shown


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"{c.id}")
def test_the_reproducer_prints_what_the_cell_computed(case: Case, backend: str) -> None:
    adapter = _adapter(backend)
    if engine.missing_capability(case.program.needs, adapter):
        pytest.skip(f"{backend} has no {sorted(case.program.needs)}: no cell, no reproducer")
    if "random" in case.needs:
        pytest.skip("random draws: the reproducer has the inputs, not the cell's seeded generator")
    program = case.program
    functional = getattr(adapter, "translate_program", None) is not None
    for variables in draws(case)[:2]:
        got = engine._run(adapter, program, variables, 0)
        if any(o.kind == "error" for o in got.values()):
            continue  # the reproducer raises where the cell did
        expected = [got[s] for s in program.outputs
                    if not (functional and any(r in s for r in _REWRITTEN))]
        text = reproducer(adapter, program.source, variables)
        try:
            shown = printed(text)
        except Exception as error:
            # jax.grad traces the function: Python while/if on a value cannot be decided
            # (the bridge differentiates the operations that ran; plain grad cannot)
            assert functional and ("while " in program.source or "if " in program.source), (
                f"{type(error).__name__}: {error}\n{text}")
            continue
        assert len(shown) == len(expected), text
        for value, observed in zip(shown, expected, strict=True):
            if observed.kind == "tensor":
                np.testing.assert_allclose(np.asarray(value, dtype=np.float64),
                                           observed.value.astype(np.float64), rtol=1e-6,
                                           err_msg=text)
                assert np.shape(value) == observed.value.shape, text
            elif observed.kind == "python":
                assert value == observed.value or np.asarray(value).tolist() == observed.value, text
