"""The notes' printed output, read back as an expected value.

The documentation shows what PyTorch prints: ``tensor([0.5000, 1.0000])``,
``torch.Size([4])``, ``tensor(28., grad_fn=<MulBackward0>)``, ``(a, b)``, ``12``,
``True``.  That text is (almost) a Python expression, so it is parsed with
``ast`` and read into ``Printed*`` values:

* a number printed with k decimals stands for any value within half a unit of
  its last digit (``0.1667`` means [0.16665, 0.16675]); a float printed with no
  decimals (``66.``) is exact, as PyTorch prints integral floats that way;
* the dtype is what PyTorch's printing implies: no ``dtype=`` means the default
  for the kind (int64 for integers, float32 for floats), shown as the role
  ``default_int`` / ``default_float`` so that each backend's declared defaults
  apply unless the example asks for exact dtypes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any


class PrintedError(ValueError):
    """Printed output that is not a PyTorch repr we can read."""


@dataclass(frozen=True)
class PrintedNumber:
    value: float | int | bool
    #: how far the printed digits let the true value be (0 for exact)
    half_unit: float


@dataclass(frozen=True)
class PrintedTensor:
    shape: tuple[int, ...]
    values: tuple[PrintedNumber, ...]
    kind: str  # "bool" | "int" | "float"
    #: an explicit dtype=torch.X, or None for PyTorch's default of the kind
    dtype: str | None

    def role(self) -> str:
        """The dtype the print implies: explicit, or the policy role of the default."""
        if self.dtype:
            return self.dtype
        return {"bool": "bool", "int": "default_int", "float": "default_float"}[self.kind]


Printed = PrintedTensor | PrintedNumber | tuple[Any, ...] | None

_GRAD_FN = re.compile(r",\s*grad_fn=<\w+>")


def parse(text: str) -> Printed:
    """Read one printed output (possibly several lines)."""
    cleaned = _GRAD_FN.sub("", text.strip())
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError as exc:
        raise PrintedError(f"cannot read printed output {text.strip()!r}: {exc.msg}") from None
    return _read(tree.body, cleaned)


def _number(node: ast.expr, source: str) -> PrintedNumber:
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if not isinstance(node, ast.Constant) or not isinstance(node.value, int | float):
        raise PrintedError(f"expected a number, got {ast.unparse(node)!r}")
    value = node.value
    if isinstance(value, bool):
        return PrintedNumber(value, 0.0)
    text = ast.get_source_segment(source, node) or repr(value)
    return PrintedNumber(sign * value, _half_unit(text))


def _half_unit(text: str) -> float:
    """Half a unit in the last printed digit: '0.1667' -> 5e-5; '2.9810e+03' -> 0.05; '66.' -> 0."""
    mantissa, _, exponent = text.lower().partition("e")
    if "." not in mantissa:
        return 0.0
    decimals = len(mantissa.split(".")[1])
    if decimals == 0 and not exponent:
        return 0.0
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def _flatten(node: ast.expr, source: str) -> tuple[tuple[int, ...], list[PrintedNumber]]:
    if isinstance(node, ast.List):
        if not node.elts:
            return (0,), []
        parts = [_flatten(e, source) for e in node.elts]
        inner = parts[0][0]
        if any(p[0] != inner for p in parts):
            raise PrintedError("ragged printed tensor")
        return (len(parts), *inner), [n for p in parts for n in p[1]]
    return (), [_number(node, source)]


def _read(node: ast.expr, source: str) -> Printed:
    if isinstance(node, ast.Tuple):
        return tuple(_read(e, source) for e in node.elts)
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        if name in ("torch.Size", "Size"):
            _shape, numbers = _flatten(node.args[0], source) if node.args else ((0,), [])
            return tuple(PrintedNumber(int(n.value), 0.0) for n in numbers)
        if name in ("tensor", "torch.tensor"):
            return _tensor(node, source)
        raise PrintedError(f"unknown printed call {name}(...)")
    return _number(node, source)


def _tensor(node: ast.Call, source: str) -> PrintedTensor:
    if len(node.args) != 1:
        raise PrintedError("tensor(...) should print one value")
    shape, numbers = _flatten(node.args[0], source)
    dtype = None
    for kw in node.keywords:
        if kw.arg == "dtype":
            dtype = ast.unparse(kw.value).removeprefix("torch.")
        elif kw.arg not in ("requires_grad", "device"):
            raise PrintedError(f"unknown tensor(...) field {kw.arg}=")
    kinds = {type(n.value) for n in numbers}
    if bool in kinds:
        kind = "bool"
    elif float in kinds or (dtype and dtype.startswith("float")):
        kind = "float"
    else:
        kind = "int" if numbers or dtype else "float"
    if kind == "float":
        # PyTorch prints all-integral floats as '66.' (exact): '66' parsed as int here
        numbers = [PrintedNumber(float(n.value), n.half_unit) for n in numbers]
    return PrintedTensor(shape, tuple(numbers), kind, dtype)
