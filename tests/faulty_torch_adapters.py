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
    """``A.cumsum(axis=0)``, the notes' spelling, one too high."""

    name = "torch-cumsum-off-by-one"
    owner = torch.Tensor
    target = "cumsum"

    @staticmethod
    def fault(original: Any) -> Any:
        return lambda x, *args, **kw: original(x, *args, **kw) + 1


class SumIgnoresKeepdim(_PatchedTorch):
    """``A.sum(axis=1, keepdims=True)``, the notes' spelling, without the kept axis."""

    name = "torch-sum-ignores-keepdim"
    owner = torch.Tensor
    target = "sum"

    @staticmethod
    def fault(original: Any) -> Any:
        def sum_(x: Any, *args: Any, **kw: Any) -> Any:
            kw = {k: v for k, v in kw.items() if k not in ("keepdim", "keepdims")}
            return original(x, *args, **kw)
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
