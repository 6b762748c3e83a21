"""Reverse-mode autograd for the reference, with the documented (PyTorch) state semantics.

* ``requires_grad_()`` marks a floating leaf tensor; its ``grad`` is None until a
  backward pass reaches it;
* every operation on a tracked tensor records a ``Node`` (its inputs and how to
  push a gradient back);
* ``backward(y)`` of a one-element ``y`` walks the recorded graph in reverse
  topological order and **adds** each leaf's gradient to its ``grad`` (gradients
  accumulate across calls until ``grad.zero_()``);
* ``detach()`` returns the value without its history;
* Python control flow needs nothing special: only the operations actually run
  are recorded.

Gradients are computed with the same operations as values, so they carry error
bounds too.  Each wrapper below computes the value with ``ops`` and attaches the
rule of the notes' tables (section 3) as the backward function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.protocol import DtypePolicy
from adapters.reference import ops
from adapters.reference.tensor import Node, Tensor

Scalar = bool | int | float
Grad = Tensor | None


def _tracked(value: Tensor, inputs: Sequence[Any], backward: Callable[[Tensor], tuple[Grad, ...]],
             name: str) -> Tensor:
    tensors = tuple(t for t in inputs if isinstance(t, Tensor))
    if any(t.requires_grad for t in tensors):
        value.requires_grad = True
        value.grad_fn = Node(tuple(inputs), backward, name)  # type: ignore[arg-type]
    return value


def _unbroadcast(g: Tensor, shape: tuple[int, ...], policy: DtypePolicy) -> Tensor:
    """Sum a broadcast gradient back to the input's shape."""
    while len(g.shape) > len(shape):
        g = ops.sum_(g, 0, False, policy)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = ops.sum_(g, axis, True, policy)
    return g


def _grad_for(x: Any, g: Tensor, policy: DtypePolicy) -> Grad:
    if isinstance(x, Tensor) and x.requires_grad:
        return _unbroadcast(g, x.shape, policy)
    return None


# -- elementwise ------------------------------------------------------------------
def add(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.add(a, b, policy), (a, b),
                    lambda g: (_grad_for(a, g, policy), _grad_for(b, g, policy)), "add")


def sub(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.sub(a, b, policy), (a, b),
                    lambda g: (_grad_for(a, g, policy), _grad_for(b, ops.neg(g), policy)), "sub")


def mul(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    """d(uv) = du v + dv u."""
    return _tracked(
        ops.mul(a, b, policy), (a, b),
        lambda g: (_grad_for(a, ops.mul(g, b, policy), policy),
                   _grad_for(b, ops.mul(g, a, policy), policy)),
        "mul",
    )


def div(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = _grad_for(a, ops.div(g, b, policy), policy)
        gb = None
        if isinstance(b, Tensor) and b.requires_grad:
            gb = _grad_for(b, ops.neg(ops.div(ops.mul(g, a, policy), ops.mul(b, b, policy), policy)),
                           policy)
        return ga, gb

    return _tracked(ops.div(a, b, policy), (a, b), backward, "div")


def pow_(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    """d a^c = c a^(c-1) da for a constant exponent c."""
    if isinstance(b, Tensor) and b.requires_grad:
        raise NotImplementedError("gradients with respect to an exponent are not documented")

    def backward(g: Tensor) -> tuple[Grad, ...]:
        local = ops.mul(b, ops.pow_(a, ops.sub(b, 1, policy) if isinstance(b, Tensor) else b - 1,
                                    policy), policy)
        return _grad_for(a, ops.mul(g, local, policy), policy), None

    return _tracked(ops.pow_(a, b, policy), (a, b), backward, "pow")


def neg(x: Tensor, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.neg(x), (x,), lambda g: (_grad_for(x, ops.neg(g), policy),), "neg")


def exp(x: Tensor, policy: DtypePolicy) -> Tensor:
    value = ops.exp(x, policy)
    return _tracked(value, (x,), lambda g: (_grad_for(x, ops.mul(g, value, policy), policy),), "exp")


def abs_(x: Tensor, policy: DtypePolicy) -> Tensor:
    """d|x| = sign(x) dx, with 0 at x = 0 (PyTorch's choice; the notes do not say)."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        sign = ops.make(x.shape, x.dtype, [(v > 0) - (v < 0) for v in x.values])
        return (_grad_for(x, ops.mul(g, sign, policy), policy),)

    return _tracked(ops.abs_(x), (x,), backward, "abs")


# -- shape ------------------------------------------------------------------------
def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return _tracked(ops.reshape(x, shape), (x,), lambda g: (ops.reshape(g, x.shape),), "reshape")


def transpose(x: Tensor) -> Tensor:
    return _tracked(ops.transpose(x), (x,), lambda g: (ops.transpose(g),), "transpose")


def getitem(x: Tensor, key: Any, policy: DtypePolicy) -> Tensor:
    """Indexing picks elements: the gradient goes back to the picked positions, zero elsewhere."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        full = ops.full(x.shape, 0, g.dtype, policy)
        ops.setitem(full, key, g, policy)
        return (full,)

    return _tracked(ops.getitem(x, key), (x,), backward, "getitem")


# -- reductions -------------------------------------------------------------------
def _expand_back(g: Tensor, x: Tensor, axis: int | None, keepdims: bool,
                 policy: DtypePolicy) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced axis: d sum(x) = 1."""
    if axis is not None and not keepdims and x.shape:
        ax = axis % len(x.shape)
        g = ops.reshape(g, (*g.shape[:ax], 1, *g.shape[ax:]))
    elif axis is None and not keepdims:
        g = ops.reshape(g, (1,) * len(x.shape))
    return ops.mul(g, ops.full(x.shape, 1, g.dtype, policy), policy)


def sum_(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.sum_(x, axis, keepdims, policy), (x,),
                    lambda g: (_expand_back(g, x, axis, keepdims, policy),), "sum")


def mean(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    n = x.numel if axis is None or not x.shape else x.shape[axis % len(x.shape)]
    return _tracked(ops.mean(x, axis, keepdims, policy), (x,),
                    lambda g: (ops.div(_expand_back(g, x, axis, keepdims, policy), n, policy),),
                    "mean")


def norm(x: Tensor, p: float, policy: DtypePolicy) -> Tensor:
    """d ||x||_2 = x / ||x||; at x = 0 the subgradient 0 (PyTorch's choice)."""
    value = ops.norm(x, p, policy)

    def backward(g: Tensor) -> tuple[Grad, ...]:
        if p != 2:
            raise NotImplementedError("only the L2 norm's gradient is documented")
        v = value.values[0]
        scale = ops.make((), x.dtype, [0.0 if v == 0 else 1.0])
        local = ops.mul(ops.div(x, value, policy) if v else ops.mul(x, 0.0, policy), scale, policy)
        return (ops.mul(g, local, policy),)

    return _tracked(value, (x,), backward, "norm")


# -- products ---------------------------------------------------------------------
def dot(x: Tensor, y: Tensor, policy: DtypePolicy) -> Tensor:
    """d<u, v> = u dv + v du."""
    return _tracked(ops.dot(x, y, policy), (x, y),
                    lambda g: (_grad_for(x, ops.mul(g, y, policy), policy),
                               _grad_for(y, ops.mul(g, x, policy), policy)), "dot")


def mv(a: Tensor, x: Tensor, policy: DtypePolicy) -> Tensor:
    """d Ax = A: the gradient to x is A^T g, to A the outer product g x^T."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = gx = None
        if a.requires_grad:
            ga = ops.mm(ops.reshape(g, (g.numel, 1)), ops.reshape(x, (1, x.numel)), policy)
        if x.requires_grad:
            gx = ops.mv(ops.transpose(a), g, policy)
        return ga, gx

    return _tracked(ops.mv(a, x, policy), (a, x), backward, "mv")


def mm(a: Tensor, b: Tensor, policy: DtypePolicy) -> Tensor:
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = ops.mm(g, ops.transpose(b), policy) if a.requires_grad else None
        gb = ops.mm(ops.transpose(a), g, policy) if b.requires_grad else None
        return ga, gb

    return _tracked(ops.mm(a, b, policy), (a, b), backward, "mm")


# -- state ------------------------------------------------------------------------
def requires_grad_(x: Tensor) -> Tensor:
    if not x.is_float:
        raise RuntimeError("only floating point tensors can require gradients")
    x.requires_grad = True
    return x


def detach(x: Tensor) -> Tensor:
    """The same values, no history: gradients do not flow through the result."""
    return Tensor(x.shape, x.dtype, list(x.values), x.bounds, x.unsure)


def zero_(x: Tensor) -> Tensor:
    x.values[:] = [type(v)(0) for v in x.values]
    x.bounds = None
    return x


def _order(root: Tensor) -> list[Tensor]:
    """Tensors of the graph below ``root``, each after every tensor that uses it."""
    seen: set[int] = set()
    post: list[Tensor] = []
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            post.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            for inp in t.grad_fn.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad:
                    stack.append((inp, False))
    return list(reversed(post))


def backward(y: Tensor, policy: DtypePolicy,
             on_adjoint: Callable[[Tensor, Tensor], None] | None = None) -> None:
    """Accumulate dy/dx into x.grad for every leaf x that requires grad.

    ``on_adjoint(t, g)``, if given, sees every recorded operation's result ``t`` with its
    adjoint ``g = dy/dt`` (what an error in ``t`` does to ``y``, to first order)."""
    if y.numel != 1:
        raise RuntimeError("grad can be implicitly created only for one-element outputs")
    if not y.requires_grad:
        raise RuntimeError("the tensor does not require grad and has no grad_fn")
    grads: dict[int, Tensor] = {id(y): ops.full(y.shape, 1, y.dtype, policy)}
    for t in _order(y):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if on_adjoint is not None and t.grad_fn is not None:
            on_adjoint(t, g)
        if t.grad_fn is None:  # a leaf: accumulate
            if t.grad is None:
                t.grad = detach(g)
            else:  # in place, as PyTorch does: x.grad stays the same tensor
                total = ops.add(t.grad, g, policy)
                t.grad.values[:], t.grad.bounds = total.values, total.bounds
            continue
        for inp, gi in zip(t.grad_fn.inputs, t.grad_fn.backward(g), strict=True):
            if gi is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                continue
            prev = grads.get(id(inp))
            grads[id(inp)] = gi if prev is None else ops.add(prev, gi, policy)

