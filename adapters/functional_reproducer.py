"""Reproducers for a library whose autograd is a function (JAX): the notes' stateful
autograd code rewritten as calls of the library's ``grad``.

A failure's reproducer is pasted into Python with only the library installed, so it
cannot use the bridge of functional_autograd.py.  The rewrite says what the bridge
does, in the library's own terms:

* ``x.requires_grad_(True)``: x becomes an argument of the differentiated functions;
  ``x_grad = None`` stands for its ``.grad``;
* ``y.backward()``: a function of the leaves that recomputes y from the statements
  before it (assignments and definitions; printed outputs are left out), then
  ``grad(that function, argnums=every leaf)``, each result added to the leaf's
  ``_grad`` (PyTorch's accumulation);
* ``x.grad``: ``x_grad``; ``x.grad.zero_()``: ``x_grad = torch.zeros_like(x_grad)``
  (spelled in the library's namespace by the reproducer's translation);
* ``y.detach()``: ``stop_gradient(y)``.

Python ``if``/``while`` on a value inside the recomputed statements is traced by
``grad`` and raises there (the bridge differentiates the operations that ran, which
plain ``grad`` cannot): such a reproducer shows the library's error.
"""

from __future__ import annotations

import ast


def _method_call(stmt: ast.stmt, method: str) -> ast.expr | None:
    """The receiver of a statement ``RECEIVER.method(...)``."""
    if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == method):
        return stmt.value.func.value
    return None


def _grad_of(node: ast.expr | None) -> str | None:
    """``x`` for the expression ``x.grad``."""
    if (isinstance(node, ast.Attribute) and node.attr == "grad"
            and isinstance(node.value, ast.Name)):
        return node.value.id
    return None


class _Rewrite(ast.NodeTransformer):
    """``x.grad`` -> ``x_grad``; ``y.detach()`` -> ``stop_gradient(y)``."""

    def __init__(self, stop_gradient: str) -> None:
        self.stop_gradient = ast.parse(stop_gradient, mode="eval").body

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        leaf = _grad_of(node)
        if leaf is not None:
            return ast.Name(f"{leaf}_grad", ast.Load())
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "detach"
                and not node.args):
            return ast.Call(self.stop_gradient, [node.func.value], [])
        return node


def functional_program(source: str, grad: str, stop_gradient: str) -> str:
    """``source`` (the notes' code) with its autograd statements rewritten as calls of
    ``grad`` (e.g. ``jax.grad``) and ``stop_gradient``; code without autograd is
    returned unchanged."""
    tree = ast.parse(source)
    if not any(_method_call(s, "requires_grad_") is not None for s in tree.body):
        return source
    rewrite = _Rewrite(stop_gradient)
    leaves: list[str] = []
    recomputed: list[ast.stmt] = []  # what a later backward() recomputes
    lines: list[str] = []
    backwards = 0
    for stmt in tree.body:
        leaf = _method_call(stmt, "requires_grad_")
        if isinstance(leaf, ast.Name):
            if leaf.id not in leaves:
                leaves.append(leaf.id)
                lines.append(f"{leaf.id}_grad = None  # {leaf.id}.requires_grad_(True)")
            continue
        zeroed = _grad_of(_method_call(stmt, "zero_"))
        if zeroed is not None:
            lines.append(f"{zeroed}_grad = torch.zeros_like({zeroed}_grad)  # {zeroed}.grad.zero_()")
            continue
        target = _method_call(stmt, "backward")
        if target is not None and leaves:
            backwards += 1
            lines.extend(_backward(ast.unparse(rewrite.visit(target)), recomputed, leaves, grad,
                                   f"_f{backwards}"))
            continue
        rewritten = ast.fix_missing_locations(rewrite.visit(stmt))
        lines.append(ast.unparse(rewritten))
        if not isinstance(rewritten, ast.Expr):
            recomputed.append(rewritten)
    return "\n".join(lines) + "\n"


def _backward(target: str, recomputed: list[ast.stmt], leaves: list[str], grad: str,
              name: str) -> list[str]:
    body = [f"    {line}" for stmt in recomputed for line in ast.unparse(stmt).splitlines()]
    argnums = ", ".join(str(i) for i in range(len(leaves)))
    lines = [f"def {name}({', '.join(leaves)}):  # {target}, recomputed from the leaves",
             *body, f"    return {target}",
             f"_grads = {grad}({name}, argnums=({argnums},))({', '.join(leaves)})"
             f"  # {target}.backward()"]
    for i, leaf in enumerate(leaves):
        lines.append(f"{leaf}_grad = _grads[{i}] if {leaf}_grad is None "
                     f"else {leaf}_grad + _grads[{i}]")
    return lines
