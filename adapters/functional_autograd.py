"""PyTorch's stateful autograd, emulated on a library whose autograd is a function (JAX).

The notes' autograd code is stateful: ``x.requires_grad_(True)``, ``y.backward()``,
``x.grad`` accumulating until ``x.grad.zero_()``, ``u = y.detach()``.  A functional
library has ``grad(f)`` instead.  This module bridges the two so the *same specs*
run on such a library, and the report says the claim was checked "through a
functional equivalent":

* ``requires_grad_(x)`` makes ``x`` a leaf: a ``Traced`` value that remembers how
  to recompute itself from its leaves;
* every differentiable operation on a ``Traced`` value returns a ``Traced`` value
  whose recipe is the operation applied to its inputs' recipes (only operations
  actually run are recorded, so Python ``if``/``while`` need nothing special);
* ``backward(y)`` differentiates y's recipe with the library's ``grad`` at the
  leaves' current values and *adds* the result to each leaf's gradient
  (accumulation = the sum of successive ``grad`` results);
* ``detach(x)`` is x's value with no recipe (the library's ``stop_gradient``);
* ``zero_(g)`` on a leaf's gradient replaces it with zeros.

``with_functional_autograd(Core, grad, reason)`` returns ``Core`` extended this way.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: operations through which gradients flow (their positional tensor arguments)
DIFFERENTIABLE = ("add", "sub", "mul", "div", "pow", "neg", "exp", "abs", "sum", "mean", "norm",
                  "dot", "mv", "mm", "reshape", "transpose", "getitem", "cumsum", "cat")
#: operations that only read values
READ_ONLY = ("eq", "lt", "gt", "shape", "numel", "length", "to_host", "to_bool", "zeros_like")

_ids = itertools.count()


@dataclass(eq=False)
class Leaf:
    """A tensor that requires grad: its value and its accumulated gradient."""

    value: Any
    grad: Any = None
    key: int = field(default_factory=lambda: next(_ids))


#: live leaves, so that ``zero_(x.grad)`` can find whose gradient it is
_LEAVES: weakref.WeakSet[Leaf] = weakref.WeakSet()


@dataclass(eq=False)
class Traced:
    """A value together with the recipe that recomputes it from its leaves."""

    value: Any
    recipe: Callable[[dict[int, Any]], Any]
    leaves: dict[int, Leaf]
    leaf: Leaf | None = None  # set on the leaf itself


def _plain(x: Any) -> Any:
    if isinstance(x, Traced):
        return x.value
    if isinstance(x, tuple | list):
        return type(x)(_plain(v) for v in x)
    return x


def _traced_parts(args: tuple[Any, ...]) -> list[Traced]:
    out: list[Traced] = []
    for a in args:
        if isinstance(a, Traced):
            out.append(a)
        elif isinstance(a, tuple | list):
            out += _traced_parts(tuple(a))
    return out


def _replay(x: Any, env: dict[int, Any]) -> Any:
    if isinstance(x, Traced):
        return x.recipe(env)
    if isinstance(x, tuple | list):
        return type(x)(_replay(v, env) for v in x)
    return x


def with_functional_autograd(core: Any, grad: Callable[..., Any], reason: str) -> Any:
    """``core`` with the Autograd protocol implemented over ``grad(f, argnums)``."""

    def differentiable(name: str) -> Callable[..., Any]:
        op = getattr(core, name)

        def method(self: Any, *args: Any) -> Any:
            traced = _traced_parts(args)
            value = op(self, *_plain(args))
            if not traced:
                return value
            leaves: dict[int, Leaf] = {}
            for t in traced:
                leaves.update(t.leaves)
            return Traced(value, lambda env: op(self, *_replay(args, env)), leaves)

        method.__name__ = name
        method.__doc__ = op.__doc__
        return method

    def read_only(name: str) -> Callable[..., Any]:
        op = getattr(core, name)

        def method(self: Any, *args: Any) -> Any:
            return op(self, *_plain(args))

        method.__name__ = name
        return method

    def is_tensor(self: Any, value: Any) -> bool:
        return isinstance(value, Traced) or core.is_tensor(self, value)

    def requires_grad_(self: Any, x: Any) -> Any:
        if isinstance(x, Traced):
            return x
        dtype = str(x.dtype if hasattr(x, "dtype") else self.to_host(x).dtype)
        if not dtype.startswith("float"):
            raise RuntimeError("only floating point tensors can require gradients")
        leaf = Leaf(x)
        _LEAVES.add(leaf)
        return Traced(x, lambda env: env[leaf.key], {leaf.key: leaf}, leaf)

    def grad_of(self: Any, x: Any) -> Any:
        return x.leaf.grad if isinstance(x, Traced) and x.leaf is not None else None

    def backward(self: Any, y: Any) -> None:
        if not isinstance(y, Traced):
            raise RuntimeError("the tensor does not require grad and has no recorded computation")
        if core.numel(self, y.value) != 1:
            raise RuntimeError("grad can be implicitly created only for one-element outputs")
        leaves = list(y.leaves.values())

        def f(*values: Any) -> Any:
            return core.reshape(self, y.recipe({lf.key: v for lf, v in zip(leaves, values, strict=True)}), ())

        grads = grad(f, argnums=tuple(range(len(leaves))))(*(lf.value for lf in leaves))
        for leaf, g in zip(leaves, grads, strict=True):
            leaf.grad = g if leaf.grad is None else core.add(self, leaf.grad, g)

    def detach(self: Any, x: Any) -> Any:
        return _plain(x)

    def zero_(self: Any, g: Any) -> Any:
        """``x.grad.zero_()``: the library's arrays are immutable, so the leaf whose
        gradient ``g`` is gets a zero gradient instead."""
        zeros = core.zeros_like(self, _plain(g))
        for leaf in list(_LEAVES):
            if leaf.grad is g:
                leaf.grad = zeros
        return zeros

    def stage(self: Any, program: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        """The core's compiler, handed the library's own arrays."""
        return core.stage(self, lambda *arrays: [_plain(v) for v in program(*arrays)])

    namespace: dict[str, Any] = {name: differentiable(name) for name in DIFFERENTIABLE}
    if hasattr(core, "stage"):
        namespace["stage"] = stage
    namespace |= {name: read_only(name) for name in READ_ONLY}
    namespace |= {
        "is_tensor": is_tensor, "requires_grad_": requires_grad_, "grad": grad_of,
        "backward": backward, "detach": detach, "zero_": zero_,
        "capabilities": core.capabilities | {"autograd"},
        "missing": {k: v for k, v in core.missing.items() if k != "autograd"},
        "functional": {**getattr(core, "functional", {}), "autograd": reason},
        "__doc__": f"{core.__doc__ or core.__name__}\n\nAutograd through a functional equivalent: {reason}",
    }
    return type(core.__name__, (core,), namespace)
