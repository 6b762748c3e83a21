"""What one spec item needs of an adapter, read from its code before anything runs.

A cell can run on a backend when the backend is available, declares every capability
the item's code needs (``program.NEEDS``) and has every adapter method the code calls.
Only the methods in ``tensor_conformance.adapters.protocol.REQUIRED`` must exist for an adapter to load;
each other method of the protocol may be left out, and the cells whose code calls it are
*not applicable*, with a reason naming the method to implement (never an
AttributeError in the middle of a run).  ``python -m tensor_conformance.claims --backend NAME``
lists the same verdicts for every claim.

The reading is conservative where the code alone cannot tell a tensor from a Python
value: ``a + b`` needs ``add`` even if both are ints at run time (arithmetic on
constants, ``X.shape[0]``, ``len(X)`` and ``X.numel()`` is recognised as Python's).
"""

from __future__ import annotations

import ast
from typing import Any

from tensor_conformance.adapters.protocol import REQUIRED
from tensor_conformance.program import _BINOPS, _CMPOPS, ATTRIBUTES, FUNCTIONS, METHODS, Program
from tensor_conformance.spec import Case, Example

#: the notes' attribute -> the adapter method that computes it (``X.T``: ``transpose``)
_ATTRIBUTE_METHOD = {"shape": "shape", "T": "transpose", "grad": "grad"}
#: builtins that call the adapter on a tensor argument
_BUILTIN_METHOD = {"len": "length", "abs": "abs"}


def _python_value(node: ast.expr) -> bool:
    """A Python value whatever the backend: a constant, ``X.shape``, ``X.shape[0]``,
    ``len(X)``, ``X.numel()`` and arithmetic on those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    if isinstance(node, ast.Subscript):
        return _python_value(node.value)
    if isinstance(node, ast.Call):
        func = node.func
        return ((isinstance(func, ast.Name) and func.id == "len")
                or (isinstance(func, ast.Attribute) and func.attr == "numel"))
    if isinstance(node, ast.BinOp):
        return _python_value(node.left) and _python_value(node.right)
    return False


def methods(program: Program) -> dict[str, str]:
    """Adapter method -> the first piece of the program's code that calls it."""
    found: dict[str, str] = {}

    def need(method: str, node: ast.AST) -> None:
        if method not in REQUIRED:
            found.setdefault(method, ast.unparse(node) if isinstance(node, ast.AST) else str(node))

    for node in ast.walk(program.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if isinstance(func.value, ast.Name) and func.value.id == "torch":
                if func.attr in FUNCTIONS:
                    need(func.attr, node)
            elif func.attr in METHODS:
                need(func.attr, node)
            if any(k.arg == "requires_grad" for k in node.keywords):
                need("requires_grad_", node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _BUILTIN_METHOD:
                need(_BUILTIN_METHOD[node.func.id], node)
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            need(_ATTRIBUTE_METHOD[node.attr], node)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            if not (_python_value(node.left) and _python_value(node.right)):
                need(_BINOPS[type(node.op)], node)
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in _CMPOPS:
            if not (_python_value(node.left) and _python_value(node.comparators[0])):
                need(_CMPOPS[type(node.ops[0])], node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if not _python_value(node.operand):
                need("neg", node)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Store):
                need("setitem", node)
            elif not _python_value(node.value):
                need("getitem", node)
        elif isinstance(node, ast.AugAssign):
            need("iadd", node)
    return found


def item_methods(item: Example | Case) -> dict[str, str]:
    """Adapter method -> code that calls it, over every program of a spec item."""
    programs = [s.program for s in item.steps] if isinstance(item, Example) else [item.program]
    found: dict[str, str] = {}
    for program in programs:
        for method, code in methods(program).items():
            found.setdefault(method, code)
    if isinstance(item, Case) and item.compiled:
        found.setdefault("stage", "compiled: true")
    return found


def missing_method(item: Example | Case, adapter: Any) -> str | None:
    """Why ``adapter`` cannot run ``item`` for want of a method, or None."""
    lacking = {m: code for m, code in item_methods(item).items() if not hasattr(adapter, m)}
    if not lacking:
        return None
    # a method the adapter leaves out because its library has no such function says so
    # in ``missing`` (keyed by the method's name, as capabilities are): that reason is shown
    known = getattr(adapter, "missing", {})
    if all(m in known for m in lacking):
        return "; ".join(f"`{code}`: {known[m]}" for m, code in sorted(lacking.items()))
    shown = ", ".join(f"{m}() (for `{code}`)" for m, code in sorted(lacking.items()))
    return (f"needs adapter method{'s' if len(lacking) > 1 else ''} {shown}: "
            f"{adapter.name} does not implement {'them' if len(lacking) > 1 else 'it'} "
            "(see adapters/protocol.py)")
