"""Reproducers: the notes' PyTorch code in another library's spelling.

``spelled`` applies an adapter's declared ``spelling`` table (text substitutions) and
its ``namespace`` for ``torch.``: what every reproducer line gets by default
(conformance/reproducer.py).  ``numpy_like`` first rewrites, on the syntax tree, the
calls a text substitution cannot turn into the call a NumPy-like adapter (NumPy, JAX)
makes:

* methods the library's arrays lack become its functions: ``X.exp()`` is
  ``np.exp(X)``, ``b.norm()`` is ``np.linalg.norm(b)``, ``x.abs()`` is ``np.abs(x)``;
* ``torch.norm(u, p=p)`` is ``linalg.vector_norm(u, ord=p)`` (the entrywise L_p norm
  the adapters call; ``linalg.norm(X, ord=p)`` of a matrix is another norm), and
  ``torch.norm(u)`` with no ``p`` is ``linalg.norm(u)``;
* sizes given as separate arguments, ``torch.zeros(2, 3)``, or as ``size=`` (also
  ``ones``), become the shape the library's function takes first.
"""

from __future__ import annotations

import ast
from typing import Any

#: tensor methods that NumPy-like arrays lack -> the namespace's function
_METHODS = {"exp": "exp", "abs": "abs", "norm": "linalg.norm"}
#: functions that take the shape as one tuple where the notes pass sizes
_SHAPE_FUNCTIONS = ("zeros", "ones")


def _torch_function(node: ast.Call) -> str | None:
    func = node.func
    if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "torch"):
        return func.attr
    return None


def _function(dotted: str) -> ast.expr:
    return ast.parse(f"torch.{dotted}", mode="eval").body


class _NumpyLike(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = _torch_function(node)
        func = node.func
        if name is None and isinstance(func, ast.Attribute) and func.attr in _METHODS:
            node = ast.Call(_function(_METHODS[func.attr]), [func.value, *node.args],
                            node.keywords)
            name = "norm" if func.attr == "norm" else None
        if name == "norm":
            p = [k for k in node.keywords if k.arg == "p"]
            if p:
                others = [k for k in node.keywords if k.arg != "p"]
                return ast.Call(_function("linalg.vector_norm"), node.args,
                                [*others, ast.keyword("ord", p[0].value)])
            return ast.Call(_function("linalg.norm"), node.args, node.keywords)
        if name in _SHAPE_FUNCTIONS:
            if len(node.args) > 1:
                node.args = [ast.Tuple(node.args, ast.Load())]
            size = [k for k in node.keywords if k.arg == "size"]
            if size:
                node.args = [size[0].value]
                node.keywords = [k for k in node.keywords if k.arg != "size"]
        return node


def numpy_like(code: str) -> str:
    """One statement (or block) of the notes' code with the rewrites above."""
    tree = _NumpyLike().visit(ast.parse(code))
    return ast.unparse(ast.fix_missing_locations(tree))


def spelled(adapter: Any, code: str) -> str:
    """``code`` with the adapter's ``spelling`` table, then its ``namespace`` for
    ``torch.`` (what a ``translate`` hook may apply after its own rewrites)."""
    ns = getattr(adapter, "namespace", "torch")
    for notes_name, own in getattr(adapter, "spelling", {}).items():
        code = code.replace(notes_name, own)
    if ns != "torch":
        code = code.replace("torch.", f"{ns}.")
    return code
