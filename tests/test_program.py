"""The interpreter: the notes' PyTorch code runs on any adapter with Python semantics."""

from __future__ import annotations

import pytest

from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.program import Interpreter, Program, ProgramError, Raised


def run(code: str, adapter: object | None = None, **variables: object) -> dict[str, object]:
    return Interpreter(adapter or ReferenceAdapter(), variables).run(Program.parse(code))  # type: ignore[arg-type]


def test_top_level_expressions_are_the_outputs() -> None:
    out = run("x = torch.arange(12)\nx.shape\nx.numel()\n")
    assert out == {"x.shape": (12,), "x.numel()": 12}


def test_python_values_stay_python_and_identity_is_python_id() -> None:
    out = run("Y = torch.ones(2)\nbefore = id(Y)\nY = Y + Y\nid(Y) == before\n")
    assert out == {"id(Y) == before": False}
    out = run("X = torch.ones(2)\nbefore = id(X)\nX += X\nid(X) == before\n")
    assert out == {"id(X) == before": True}


def test_in_place_writes_go_through_the_adapter() -> None:
    out = run("X = torch.zeros((2, 3))\nX[1, 2] = 9\nX[0:1, :] = 12\nX.sum()\n", NumpyAdapter())
    assert float(out["X.sum()"]) == 9 + 3 * 12  # type: ignore[arg-type]


def test_control_flow_and_functions() -> None:
    code = """
def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c
f(torch.tensor(0.5))
"""
    out = run(code)
    (value,) = out.values()
    assert value.values == [1024.0]  # type: ignore[attr-defined]


def test_an_error_of_the_backend_is_an_output_and_stops_the_program() -> None:
    out = run("x = torch.arange(3)\nx[5]\nx.sum()\n")
    (name, value), = out.items()
    assert name == "x[5]"
    assert isinstance(value, Raised)
    assert "IndexError" in value.describe()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import os", "Import is outside the supported subset"),
        ("torch.linalg.inv(x)", "not a supported method"),
        ("x.item()", ".item is not a supported method"),
        ("lambda: 1", "Lambda is outside"),
        ("x -= 1", r"only `name \+= value`"),
    ],
)
def test_code_outside_the_subset_is_rejected_when_parsed(code: str, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        Program.parse(code)


@pytest.mark.parametrize(
    ("code", "needs"),
    [
        ("x = torch.ones(2)", set()),
        ("X[0] = 1", {"in_place"}),
        ("X += Y", {"in_place"}),
        ("x.requires_grad_(True)\ny = x.sum()\ny.backward()\nx.grad", {"autograd"}),
        ("torch.randn(3, 4).shape", {"random"}),
    ],
)
def test_capabilities_are_derived_from_the_code(code: str, needs: set[str]) -> None:
    assert Program.parse(code).needs == needs
