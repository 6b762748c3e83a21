"""The reference's tensor: flat row-major Python values plus, for floats, an error bound.

Deliberately simple and independent of every backend under test (no NumPy):
values are Python ``bool``/``int``/``float``; float values are correctly rounded
to the tensor's dtype.  Next to each float value the tensor carries ``bounds``:
how far a conforming backend's value may be from it (see ``bounds.py``).
Booleans computed by comparing floats carry ``unsure``: the comparison was
within the error bounds, so the documented semantics do not fix the answer.

The autograd fields (``requires_grad``, ``grad``, ``grad_fn``) are used by
``autograd.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tensor_conformance.adapters.reference.dtypes import dtype as dtype_info


class Indeterminate(Exception):
    """The documented semantics do not determine the result at this precision
    (integer overflow, a branch on a comparison within rounding error, ...).
    The engine rejects such an example instead of judging a backend by it."""


class ShapeError(ValueError):
    """Shapes that the documented operation does not accept."""


@dataclass(eq=False)
class Node:
    """One recorded operation: its inputs and how to push a gradient back to them."""

    inputs: tuple[Tensor, ...]
    backward: Callable[[Tensor], tuple[Tensor | None, ...]]
    name: str


@dataclass(eq=False)
class Tensor:
    shape: tuple[int, ...]
    dtype: str
    values: list[Any]
    #: per-element bound on |backend - reference|; None means exact (all zero)
    bounds: list[float] | None = None
    #: per-element: a comparison that rounding could flip (booleans only)
    unsure: list[bool] | None = None
    requires_grad: bool = False
    grad: Tensor | None = None
    grad_fn: Node | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if math.prod(self.shape) != len(self.values):
            raise AssertionError(f"shape {self.shape} holds {len(self.values)} values")

    @property
    def numel(self) -> int:
        return len(self.values)

    @property
    def is_float(self) -> bool:
        return dtype_info(self.dtype).is_float

    def bound(self, i: int) -> float:
        return 0.0 if self.bounds is None else self.bounds[i]

    def nested(self) -> Any:
        """Values as nested lists (a Python scalar for 0-d)."""
        return nest(self.values, self.shape)

    def __repr__(self) -> str:
        return f"tensor({self.nested()!r}, dtype={self.dtype})"


def nest(values: Sequence[Any], shape: tuple[int, ...]) -> Any:
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    step = math.prod(shape[1:])
    return [nest(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def flatten(data: Any) -> tuple[tuple[int, ...], list[Any]]:
    """Shape and row-major values of a nested list; ragged lists are a ShapeError."""
    if not isinstance(data, list | tuple):
        return (), [data]
    if len(data) == 0:
        return (0,), []
    parts = [flatten(item) for item in data]
    inner = parts[0][0]
    if any(p[0] != inner for p in parts):
        raise ShapeError("ragged nested sequence: every row must have the same shape")
    return (len(data), *inner), [v for p in parts for v in p[1]]


def strides(shape: Sequence[int]) -> tuple[int, ...]:
    out = []
    acc = 1
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


def indices(shape: Sequence[int]) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(n) for n in shape))


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Align shapes at the right; each axis must be equal or 1 (the notes' rule)."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ShapeError(f"shapes {' and '.join(map(str, shapes))} are not broadcastable")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_index(src: tuple[int, ...], dst: tuple[int, ...]) -> list[int]:
    """For each element of ``dst`` (row-major) the flat index in ``src`` it copies."""
    pad = len(dst) - len(src)
    src_strides = strides(src)
    eff = [0] * pad + [0 if src[i] == 1 else src_strides[i] for i in range(len(src))]
    # row-major over dst: the flat source index of each axis' positions, summed axis by axis
    order = [0]
    for size, step in zip(dst, eff, strict=True):
        order = [base + k * step for base in order for k in range(size)]
    return order


def normalize_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise IndexError(f"axis {axis} is out of range for a {ndim}-d tensor")
    return axis % ndim
