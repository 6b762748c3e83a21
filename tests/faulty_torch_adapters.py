"""PyTorch with one planted fault each, in the library or in its autograd.

Forward faults patch the torch library itself for the duration of each program run
(the adapter's ``context()``), as a regression in torch would; autograd faults
replace one autograd operation.  The suite must fail each on the claim it breaks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from adapters.torch_backend import TorchAdapter


@contextlib.contextmanager
def patched(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, replacement(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


class _PatchedTorch(TorchAdapter):
    """Runs every program with one torch function replaced."""

    owner: Any = torch
    target = ""

    @staticmethod
    def fault(original: Any) -> Any:
        raise NotImplementedError

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return patched(self.owner, self.target, self.fault)


class CumsumOffByOne(_PatchedTorch):
    name = "torch-cumsum-off-by-one"
    target = "cumsum"

    @staticmethod
    def fault(original: Any) -> Any:
        return lambda x, dim, **kw: original(x, dim, **kw) + 1


class SumIgnoresKeepdim(_PatchedTorch):
    name = "torch-sum-ignores-keepdim"
    target = "sum"

    @staticmethod
    def fault(original: Any) -> Any:
        def sum_(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
            return original(x) if dim is None else original(x, dim=dim, keepdim=False, **kw)
        return sum_


class AddBroadcastsFirstElement(_PatchedTorch):
    """Broadcasting add that repeats the smaller operand's first element."""

    name = "torch-add-broadcast-wrong"
    owner = torch.Tensor
    target = "__add__"

    @staticmethod
    def fault(original: Any) -> Any:
        def add(x: Any, y: Any) -> Any:
            if isinstance(y, torch.Tensor) and y.shape != x.shape and y.numel() > 1:
                y = y.reshape(-1)[:1].reshape((1,) * y.dim()).expand(y.shape)
            return original(x, y)
        return add


class BackwardOverwrites(TorchAdapter):
    """backward() that replaces .grad instead of accumulating into it."""

    name = "torch-backward-overwrites"

    def __init__(self) -> None:
        super().__init__()
        self.leaves: list[torch.Tensor] = []

    def requires_grad_(self, x: torch.Tensor) -> torch.Tensor:
        self.leaves.append(x)
        return super().requires_grad_(x)

    def backward(self, y: torch.Tensor) -> None:
        for leaf in self.leaves:
            leaf.grad = None
        super().backward(y)


class DetachKeepsHistory(TorchAdapter):
    name = "torch-detach-keeps-history"

    def detach(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1


class GradScaled(TorchAdapter):
    name = "torch-grad-scaled-1.001"

    def grad(self, x: torch.Tensor) -> torch.Tensor | None:
        return None if x.grad is None else x.grad * 1.001


class TapeDropsLongChains(TorchAdapter):
    """Multiplication that stops recording once a chain of products grows past 4 links."""

    name = "torch-tape-drops-long-chains"

    def mul(self, x: Any, y: Any) -> Any:
        depth = getattr(x, "_chain", 0) + 1
        if depth > 4 and isinstance(x, torch.Tensor):
            x = x.detach()
        out = super().mul(x, y)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out._chain = depth  # type: ignore[attr-defined]
        return out


# -- wrong backward passes, forward values unchanged ---------------------------------------
def with_backward(original: Any, wrong: Any) -> Any:
    """``original`` as a torch.autograd.Function whose backward is ``wrong(g, x, out, *args)``
    (the gradient of x): the values every forward check sees are the library's own."""
    class WrongBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, *args: Any) -> torch.Tensor:
            out = original(x, *args)
            ctx.save_for_backward(x, out)
            ctx.args = args
            return out  # type: ignore[no-any-return]

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> Any:
            x, out = ctx.saved_tensors
            return (wrong(g, x, out, *ctx.args), *(None for _ in ctx.args))

    return WrongBackward.apply


class CumsumBackwardForward(_PatchedTorch):
    """torch.cumsum whose backward accumulates g in the forward direction (cumsum(g)
    instead of the reversed running sum)."""

    name = "torch-cumsum-backward-wrong"
    target = "cumsum"

    @staticmethod
    def fault(original: Any) -> Any:
        wrong = with_backward(lambda x, dim: original(x, dim=dim),
                              lambda g, x, out, dim: g.cumsum(dim))
        return lambda x, dim, **kw: wrong(x, dim)


class ExpBackwardUsesInput(_PatchedTorch):
    """torch.exp whose backward multiplies by the input instead of the output."""

    name = "torch-exp-backward-wrong"
    target = "exp"

    @staticmethod
    def fault(original: Any) -> Any:
        return with_backward(original, lambda g, x, out: g * x)


class ScalarMulBackwardDropsScalar(_PatchedTorch):
    """Tensor * Python number (and number * Tensor) whose backward forgets the number:
    d(a u) = du instead of a du."""

    name = "torch-scalar-mul-backward-wrong"

    def context(self) -> contextlib.AbstractContextManager[Any]:
        stack = contextlib.ExitStack()
        for method in ("__mul__", "__rmul__"):
            stack.enter_context(patched(torch.Tensor, method, self.fault))
        return stack

    @staticmethod
    def fault(original: Any) -> Any:
        wrong = with_backward(original, lambda g, x, out, a: g)

        def mul(x: Any, y: Any) -> Any:
            if isinstance(y, int | float) and not isinstance(y, bool):
                return wrong(x, y)
            return original(x, y)
        return mul


def control(fault: type[TorchAdapter]) -> type[TorchAdapter]:
    """PyTorch as it is, under the faulty backend's name: the same run must pass."""
    return type(f"{fault.__name__}Control", (TorchAdapter,), {"name": fault.name})


CumsumBackwardForwardControl = control(CumsumBackwardForward)
ExpBackwardUsesInputControl = control(ExpBackwardUsesInput)
ScalarMulBackwardDropsScalarControl = control(ScalarMulBackwardDropsScalar)
