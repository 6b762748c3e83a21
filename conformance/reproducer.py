"""Standalone reproducers: a few lines of plain Python in the backend's own API.

The spec's code is the notes' PyTorch spelling.  A backend adapter may declare
``namespace`` (how it spells ``torch.``), ``imports`` and ``spelling`` (notes'
name -> its own, e.g. ``{"torch.mv": "np.matmul", ".numel()": ".size"}``), or, for a
library that is not NumPy-like, the hooks ``literal(array)`` (an input's source text)
and ``translate(code)`` (one statement in its own spelling); the
reproducer defines the minimal example's inputs literally and prints every
output, so pasting it into ``python`` shows the disagreement without this suite.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

from tensor_conformance.adapters.protocol import Adapter
from tensor_conformance.adapters.spelling import spelled


def _number(v: Any) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return f"float('{v}')"
    return repr(v)


def _nested(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return _number(v)


def _dtype(adapter: Adapter, name: str) -> str:
    ns = getattr(adapter, "namespace", "torch")
    if name == "bool" and ns != "torch":
        return f"{ns}.bool_"
    return f"{ns}.{name}"


def literal(adapter: Adapter, array: np.ndarray) -> str:
    own = getattr(adapter, "literal", None)  # a library that is not NumPy-like spells its own
    if own is not None:
        return str(own(array))
    ns = getattr(adapter, "namespace", "torch")
    name = "bool" if array.dtype == np.bool_ else str(array.dtype)
    text = f"{ns}.asarray({_nested(array.tolist())}, dtype={_dtype(adapter, name)})"
    if array.size == 0 and array.ndim != 1:
        text += f".reshape{tuple(array.shape)}"
    return text


def translate(adapter: Adapter, code: str) -> str:
    own = getattr(adapter, "translate", None)  # e.g. methods as functions, grad for backward()
    if own is not None:
        return str(own(code))
    return spelled(adapter, code)


def reproducer(adapter: Adapter, source: str, variables: dict[str, Any]) -> str:
    lines = [f"# {adapter.name}: paste into python", getattr(adapter, "imports", "import torch")]
    for name, value in variables.items():
        # a Python number or list: nan and infinities as float('nan'), which Python reads
        shown = literal(adapter, value) if isinstance(value, np.ndarray) else _nested(value)
        lines.append(f"{name} = {shown}")
    whole = getattr(adapter, "translate_program", None)  # e.g. autograd as the library's grad
    if whole is not None:
        source = str(whole(source))
    tree = ast.parse(source)
    for stmt in tree.body:
        text = ast.get_source_segment(source, stmt) or ast.unparse(stmt)
        if isinstance(stmt, ast.Expr):
            text = f"print({text})"
        lines.append(translate(adapter, text))
    return "\n".join(lines) + "\n"
