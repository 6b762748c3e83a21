"""The catalogue of planted library faults (see conformance/faults.py for the mechanism).

Every entry is one realistic bug in one library function or method, of the size real
regressions have: a 1e-4 relative error in float32 ``exp``, an error only on square
inputs, only on axes longer than a few elements, only for negative axes, only on one
dtype, only when ``dtype=None`` is passed explicitly.  Each names the claims that must
catch it and a pattern for the output it breaks.  ``python -m tensor_conformance.selftest``
runs them all; tests/test_faulty_backends.py runs a fast subset.

Library functions are looked up when called, so each fault patches what the built-in
adapter calls for the notes' operation: ``torch.sum`` (the adapter's spelling of
``A.sum(axis=...)``), operators through ``torch.Tensor.__add__`` etc., NumPy's module
functions (``numpy.ndarray``'s C methods cannot be patched), ``jax.numpy`` functions
(JAX's array operators dispatch to internal functions, so its faults are in the
functions the adapter calls, traced into compiled programs as well).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tensor_conformance.faults import Fault


def _is_float32(x: Any) -> bool:
    return str(getattr(x, "dtype", "")).endswith("float32")


def _ndim(x: Any) -> int:
    return len(getattr(x, "shape", ()))


def _square(x: Any) -> bool:
    shape = tuple(getattr(x, "shape", ()))
    return len(shape) == 2 and shape[0] == shape[1] and shape[0] >= 2


# -- torch -------------------------------------------------------------------------------
def _torch_dims(wrapped: Callable[..., Any]) -> Callable[..., Any]:
    """A torch reduction fault written for ``dim``/``keepdim`` that also takes the spellings
    the notes use on tensors (``A.sum(axis=0, keepdims=True)``, ``A.cumsum(axis=0)``)."""
    def call(x: Any, *args: Any, **kw: Any) -> Any:
        if "axis" in kw:
            kw["dim"] = kw.pop("axis")
        if "keepdims" in kw:
            kw["keepdim"] = kw.pop("keepdims")
        return wrapped(x, *args, **kw)
    return call


def _torch_sum_negative_dim(original: Any) -> Any:
    def sum_(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        if isinstance(dim, int) and dim < 0 and x.dim() > 1:
            dim = (dim - 1) % x.dim()  # a negative dim normalized one axis too far
        if dim is None:
            return original(x, **kw)
        return original(x, dim=dim, keepdim=keepdim, **kw)
    return _torch_dims(sum_)


def _torch_sum_drops_keepdim(original: Any) -> Any:
    def sum_(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        return original(x, **kw) if dim is None else original(x, dim=dim, keepdim=False, **kw)
    return _torch_dims(sum_)


def _torch_mean_square_other_axis(original: Any) -> Any:
    def mean(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        if dim is None:
            return original(x, **kw)
        if _square(x):
            dim = 1 - dim % 2  # square inputs take the transposed kernel's axis
        return original(x, dim=dim, keepdim=keepdim, **kw)
    return _torch_dims(mean)


def _torch_cumsum_exclusive(original: Any) -> Any:
    def cumsum(x: Any, dim: int, **kw: Any) -> Any:
        inclusive = original(x, dim, **kw)
        return inclusive - x.to(inclusive.dtype) if x.dim() else inclusive
    return _torch_dims(cumsum)


def _torch_cumsum_long_axis(original: Any) -> Any:
    def cumsum(x: Any, dim: int, **kw: Any) -> Any:
        out = original(x, dim, **kw)
        if x.dim() and x.shape[dim] > 3:  # the blocked kernel forgets the last block's carry
            last = out.narrow(dim, x.shape[dim] - 1, 1)
            last -= x.narrow(dim, 0, 1).to(out.dtype)
        return out
    return _torch_dims(cumsum)


def _torch_exp_float32(original: Any) -> Any:
    def exp(x: Any, *args: Any, **kw: Any) -> Any:
        out = original(x, *args, **kw)
        return out * (1 + 1e-4) if _is_float32(out) else out
    return exp


# -- torch: wrong backward passes, forward values unchanged (gradient cells must see them)
def _with_backward(forward: Callable[..., Any], wrong: Callable[..., Any]) -> Callable[..., Any]:
    """``forward(x, *args)`` as a torch.autograd.Function whose backward is
    ``wrong(g, x, out, *args)`` (the gradient of x): every forward check sees the
    library's own values."""
    import torch

    class WrongBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, *args: Any) -> Any:
            out = forward(x, *args)
            ctx.save_for_backward(x, out)
            ctx.args = args
            return out

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            x, out = ctx.saved_tensors
            return (wrong(g, x, out, *ctx.args), *(None for _ in ctx.args))

    return WrongBackward.apply


def _torch_cumsum_backward_forward(original: Any) -> Any:
    """The backward of cumsum accumulates g forwards (cumsum(g)) instead of the
    reversed running sum."""
    def cumsum(x: Any, dim: int, **kw: Any) -> Any:
        if kw or not x.requires_grad:
            return original(x, dim, **kw)
        wrong = _with_backward(original,
                               lambda g, t, out, d: original(g, d))
        return wrong(x, dim)
    return _torch_dims(cumsum)


def _torch_exp_backward_input(original: Any) -> Any:
    """The backward of exp multiplies by its input instead of its output."""
    def exp(x: Any, *args: Any, **kw: Any) -> Any:
        if args or kw or not x.requires_grad:
            return original(x, *args, **kw)
        return _with_backward(original, lambda g, t, out: g * t)(x)
    return exp


def _torch_scalar_mul_backward(original: Any) -> Any:
    """Tensor times a Python number whose backward forgets the number: d(a u) = du."""
    def mul(x: Any, y: Any) -> Any:
        if isinstance(y, int | float) and not isinstance(y, bool) and x.requires_grad:
            return _with_backward(original, lambda g, t, out, a: g)(x, y)
        return original(x, y)
    return mul


def _torch_add_broadcast_first(original: Any) -> Any:
    def add(x: Any, y: Any) -> Any:
        import torch

        if isinstance(y, torch.Tensor) and y.shape != x.shape and y.numel() > 1:
            y = y.reshape(-1)[:1].reshape((1,) * y.dim()).expand(y.shape)
        return original(x, y)
    return add


def _torch_sub_broadcast_reversed(original: Any) -> Any:
    def sub(x: Any, y: Any) -> Any:
        import torch

        if isinstance(y, torch.Tensor) and y.shape != x.shape and x.numel() and y.numel():
            return original(y, x) if y.dtype != torch.bool else original(x, y)
        return original(x, y)
    return sub


def _torch_truediv_ints_floor(original: Any) -> Any:
    def truediv(x: Any, y: Any) -> Any:
        import torch

        if isinstance(y, torch.Tensor) and not x.is_floating_point() \
                and not y.is_floating_point() and x.dtype != torch.bool:
            return torch.div(x, y, rounding_mode="floor") if (y != 0).all() else original(x, y)
        return original(x, y)
    return truediv


def _torch_eq_uint8(original: Any) -> Any:
    def eq(x: Any, y: Any) -> Any:
        import torch

        out = original(x, y)
        return out.to(torch.uint8) if isinstance(out, torch.Tensor) and out.dim() >= 1 else out
    return eq


def _torch_cat_negative_dim(original: Any) -> Any:
    def cat(tensors: Any, dim: int = 0, **kw: Any) -> Any:
        tensors = list(tensors)
        if dim < 0 and tensors and tensors[0].dim() > 1:
            dim = dim - 1  # -1 taken as the second to last axis
        return original(tensors, dim=dim, **kw)
    return cat


def _torch_reshape_column_major(original: Any) -> Any:
    def reshape(x: Any, *shape: Any) -> Any:
        import math

        target = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) \
            else tuple(shape)
        if x.dim() < 2 or len(target) < 2 or -1 in target or x.numel() != math.prod(target):
            return original(x, target)
        # column-major (Fortran) order: reverse the axes, reshape, reverse back
        flipped = x.permute(*reversed(range(x.dim()))).contiguous()
        out = original(flipped, tuple(reversed(target)))
        return out.permute(*reversed(range(len(target))))
    return reshape


def _torch_reshape_minus_one_last(original: Any) -> Any:
    def reshape(x: Any, *shape: Any) -> Any:
        target = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) \
            else tuple(shape)
        if -1 in target[1:]:
            raise RuntimeError(f"shape '{list(target)}' is invalid: -1 must come first")
        return original(x, target)
    return reshape


def _torch_tensor_dtype_none(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        import torch

        if "dtype" in kw and kw["dtype"] is None:
            out = original(data, *args, **kw)
            if out.dtype == torch.int64:
                return out.to(torch.int32)  # an explicit dtype=None skips the inference
            return out
        return original(data, *args, **kw)
    return tensor


def _torch_arange_dtype_none(original: Any) -> Any:
    def arange(*args: Any, **kw: Any) -> Any:
        import torch

        if "dtype" in kw and kw["dtype"] is None:
            kw["dtype"] = torch.get_default_dtype()
        return original(*args, **kw)
    return arange


def _torch_zeros_dtype_none(original: Any) -> Any:
    def zeros(*args: Any, **kw: Any) -> Any:
        import torch

        if "dtype" in kw and kw["dtype"] is None:
            kw["dtype"] = torch.float64
        return original(*args, **kw)
    return zeros


def _torch_ones_reversed_shape(original: Any) -> Any:
    def ones(*args: Any, **kw: Any) -> Any:
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else args
        if len(size) >= 2:
            size = tuple(reversed(size))
        return original(tuple(size), **kw)
    return ones


def _torch_zeros_like_in_place(original: Any) -> Any:
    def zeros_like(x: Any, **kw: Any) -> Any:
        if x.numel() and not x.requires_grad and not kw:
            return x.zero_()  # "optimized" to reuse the input's memory
        return original(x, **kw)
    return zeros_like


def _torch_setitem_off_by_one(original: Any) -> Any:
    def setitem(x: Any, key: Any, value: Any) -> None:
        if isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, int) for k in key):
            i, j = key
            if 0 <= j < x.shape[1] - 1:
                key = (i, j + 1)
        original(x, key, value)
    return setitem


def _torch_setitem_inclusive_stop(original: Any) -> Any:
    def setitem(x: Any, key: Any, value: Any) -> None:
        first = key[0] if isinstance(key, tuple) else key
        if isinstance(first, slice) and isinstance(first.stop, int) and first.stop > 0 \
                and first.step is None:
            first = slice(first.start, first.stop + 1)  # the stop written too
            key = (first, *key[1:]) if isinstance(key, tuple) else first
        original(x, key, value)
    return setitem


def _torch_getitem_negative(original: Any) -> Any:
    def getitem(x: Any, key: Any) -> Any:
        if isinstance(key, int) and key < -1 and x.dim() and key - 1 >= -x.shape[0]:
            key = key - 1
        return original(x, key)
    return getitem


def _torch_iadd_copies(original: Any) -> Any:
    def iadd(x: Any, y: Any) -> Any:
        return x + y  # out of place: a new tensor, x unchanged
    return iadd


def _torch_transpose_square(original: Any) -> Any:
    def transpose(x: Any) -> Any:
        if _square(x):
            return x  # "symmetric fast path" taken without checking symmetry
        return original(x)
    return transpose


def _torch_dot_drops_tail(original: Any) -> Any:
    def dot(x: Any, y: Any, **kw: Any) -> Any:
        n = x.shape[0] if x.dim() == 1 else 0
        if n > 4:  # the vectorized loop runs in steps of 4 and forgets the remainder
            return original(x[: n - n % 4], y[: n - n % 4], **kw)
        return original(x, y, **kw)
    return dot


def _torch_mv_square_transposed(original: Any) -> Any:
    def mv(a: Any, x: Any, **kw: Any) -> Any:
        return original(a.T if _square(a) else a, x, **kw)
    return mv


def _torch_mm_inner_one(original: Any) -> Any:
    def mm(a: Any, b: Any, **kw: Any) -> Any:
        out = original(a, b, **kw)
        if a.dim() == 2 and a.shape[1] == 1 and out.numel():
            return out * 0  # the outer-product kernel is never called
        return out
    return mm


def _torch_vector_norm_l1_no_abs(original: Any) -> Any:
    def vector_norm(x: Any, ord: Any = 2, *args: Any, **kw: Any) -> Any:
        if ord == 1 and x.is_floating_point():  # sum(x), not sum(|x|)
            return original(x.clamp(min=0), 1, *args, **kw) - original(x.clamp(max=0), 1,
                                                                       *args, **kw)
        return original(x, ord, *args, **kw)
    return vector_norm


def _torch_norm_matrix_rows(original: Any) -> Any:
    def norm(x: Any, *args: Any, **kw: Any) -> Any:
        p = args[0] if args else kw.get("p", "fro")
        if x.dim() == 2 and x.shape[0] > 1 and p in ("fro", 2, 2.0, None) \
                and kw.get("dim") is None and len(args) < 2:
            return original(x[:-1], *args, **kw)  # the Frobenius path skips the last row
        return original(x, *args, **kw)
    return norm


def _torch_randn_wide(original: Any) -> Any:
    def randn(*args: Any, **kw: Any) -> Any:
        return original(*args, **kw) * 1.1
    return randn


def _torch_randn_repeats(original: Any) -> Any:
    def randn(*args: Any, **kw: Any) -> Any:
        out = original(*args, **kw)
        if out.dim() == 2 and out.shape[0] > 1:
            out[1::2] = out[0:-1:2]  # odd rows repeat the even rows' stream
        return out
    return randn


def _graph_leaves(tensor: Any) -> list[Any]:
    seen, leaves, stack = set(), [], [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(n for n, _ in node.next_functions)
    return leaves


def _torch_backward_overwrites(original: Any) -> Any:
    def backward(self: Any, *args: Any, **kw: Any) -> None:
        for leaf in _graph_leaves(self):
            leaf.grad = None  # the old gradient is dropped, not accumulated into
        original(self, *args, **kw)
    return backward


def _torch_backward_scaled(original: Any) -> Any:
    def backward(self: Any, gradient: Any = None, *args: Any, **kw: Any) -> None:
        import torch

        if gradient is None and self.numel() == 1:
            gradient = torch.full_like(self, 1.001)  # the implicit seed is not exactly 1
        original(self, gradient, *args, **kw)
    return backward


def _torch_zero_skips_grads(original: Any) -> Any:
    def zero_(self: Any) -> Any:
        if self.is_leaf and not self.requires_grad and self.is_floating_point():
            return self  # a gradient buffer is "already clean": nothing is written
        return original(self)
    return zero_


def _torch_detach_self(original: Any) -> Any:
    def detach(self: Any) -> Any:
        return self  # the history stays attached
    return detach


def _torch_requires_grad_zero_grad(original: Any) -> Any:
    def requires_grad_(self: Any, requires_grad: bool = True) -> Any:
        import torch

        out = original(self, requires_grad)
        if requires_grad and self.grad is None:
            self.grad = torch.zeros_like(self)  # .grad starts at zeros, not None
        return out
    return requires_grad_


def _torch_mul_truncates_long_chains(original: Any) -> Any:
    def mul(x: Any, y: Any) -> Any:
        depth, node = 0, getattr(x, "grad_fn", None)
        while node is not None and node.next_functions:
            depth += 1
            node = node.next_functions[0][0]
        if depth >= 4:
            x = x.detach()  # the tape keeps at most 4 links of a product chain
        return original(x, y)
    return mul


def _torch_rmul_scalar_constant(original: Any) -> Any:
    def rmul(x: Any, y: Any) -> Any:
        if isinstance(y, int | float) and getattr(x, "requires_grad", False) and y != 1:
            return x + original(x, y - 1).detach()  # the value is right, the gradient is 1
        return original(x, y)
    return rmul


# -- numpy -------------------------------------------------------------------------------
def _np_sum_float32_in_float16(original: Any) -> Any:
    def sum_(a: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        out = original(a, *args, **kw)
        if np.asarray(out).dtype == np.float32:
            return np.asarray(out).astype(np.float16).astype(np.float32)
        return out
    return sum_


def _np_mean_int_dtype(original: Any) -> Any:
    def mean(a: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        out = original(a, *args, **kw)
        if np.asarray(a).dtype.kind in "iu":
            return np.asarray(out).astype(np.asarray(a).dtype)
        return out
    return mean


def _np_cumsum_negative_axis_reversed(original: Any) -> Any:
    def cumsum(a: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
        import numpy as np

        if isinstance(axis, int) and axis < 0 and np.ndim(a):
            flipped = np.flip(a, axis)
            return np.flip(original(flipped, axis, *args, **kw), axis)
        return original(a, axis, *args, **kw)
    return cumsum


def _np_concatenate_negative_axis(original: Any) -> Any:
    def concatenate(arrays: Any, axis: Any = 0, *args: Any, **kw: Any) -> Any:
        import numpy as np

        arrays = list(arrays)
        if isinstance(axis, int) and axis < 0 and arrays and np.ndim(arrays[0]) > 1:
            axis = axis - 1
        return original(arrays, axis, *args, **kw)
    return concatenate


def _np_exp_float64(original: Any) -> Any:
    def exp(x: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        out = original(x, *args, **kw)
        if np.asarray(out).dtype == np.float64:
            return out * (1 + 1e-12)  # 4500 ulp: a polynomial with one term too few
        return out
    return exp


def _np_matmul_square_transposed(original: Any) -> Any:
    def matmul(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        return original(a.T if _square(a) else a, b, *args, **kw)
    return matmul


def _np_dot_int32_float(original: Any) -> Any:
    def dot(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        out = original(a, b, *args, **kw)
        if np.asarray(a).dtype == np.int32 and np.asarray(b).dtype == np.int32:
            return np.float64(out)
        return out
    return dot


def _np_norm_l1_is_max(original: Any) -> Any:
    def norm(x: Any, *args: Any, **kw: Any) -> Any:  # norm(x, ord) or vector_norm(x, ord=)
        import numpy as np

        if kw.get("ord", args[0] if args else None) == 1 and np.ndim(x) == 1 and np.size(x):
            return np.max(np.abs(x))
        return original(x, *args, **kw)
    return norm


def _np_norm_matrix_diagonal(original: Any) -> Any:
    def norm(x: Any, ord: Any = None, *args: Any, **kw: Any) -> Any:
        import numpy as np

        if np.ndim(x) == 2 and ord in (None, "fro") and not args and kw.get("axis") is None \
                and min(np.shape(x)) > 1:
            return original(np.asarray(x)[: min(np.shape(x))])  # rows past the square dropped
        return original(x, ord, *args, **kw)
    return norm


def _np_zeros_dtype_none(original: Any) -> Any:
    def zeros(shape: Any, *args: Any, **kw: Any) -> Any:
        if "dtype" in kw and kw["dtype"] is None:
            kw["dtype"] = "int64"
        return original(shape, *args, **kw)
    return zeros


def _np_arange_dtype_none(original: Any) -> Any:
    def arange(*args: Any, **kw: Any) -> Any:
        if "dtype" in kw and kw["dtype"] is None:
            kw["dtype"] = "float64"
        return original(*args, **kw)
    return arange


def _np_add_broadcast_first(original: Any) -> Any:
    def add(x: Any, y: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape != y.shape \
                and y.size > 1:
            y = np.broadcast_to(y.reshape(-1)[:1], y.shape)
        return original(x, y, *args, **kw)
    return add


def _np_true_divide_ints_floor(original: Any) -> Any:
    def true_divide(x: Any, y: Any, *args: Any, **kw: Any) -> Any:
        import numpy as np

        if np.asarray(x).dtype.kind in "iu" and np.asarray(y).dtype.kind in "iu" \
                and np.all(np.asarray(y) != 0):
            return np.floor_divide(x, y).astype(np.float64)
        return original(x, y, *args, **kw)
    return true_divide


class _NarrowGenerator:
    def __init__(self, generator: Any) -> None:
        self._generator = generator

    def standard_normal(self, *args: Any, **kw: Any) -> Any:
        return self._generator.standard_normal(*args, **kw) * 0.85

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)


def _np_default_rng_narrow(original: Any) -> Any:
    def default_rng(*args: Any, **kw: Any) -> Any:
        return _NarrowGenerator(original(*args, **kw))
    return default_rng


# -- jax ---------------------------------------------------------------------------------
def _jnp_exp_float32(original: Any) -> Any:
    def exp(x: Any, *args: Any, **kw: Any) -> Any:
        out = original(x, *args, **kw)
        return out * (1 + 1e-4) if _is_float32(out) else out
    return exp


def _jnp_sum_drops_keepdims(original: Any) -> Any:
    def sum_(a: Any, axis: Any = None, *args: Any, keepdims: bool = False, **kw: Any) -> Any:
        return original(a, axis, *args, keepdims=False, **kw)
    return sum_


def _jnp_mean_negative_axis(original: Any) -> Any:
    def mean(a: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
        if isinstance(axis, int) and axis < 0 and _ndim(a) > 1:
            axis = (axis - 1) % _ndim(a)
        return original(a, axis, *args, **kw)
    return mean


def _jnp_cumsum_long_axis(original: Any) -> Any:
    def cumsum(a: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
        import jax.numpy as jnp

        out = original(a, axis, *args, **kw)
        if isinstance(axis, int) and _ndim(a) and a.shape[axis] > 3:
            mask = (jnp.arange(a.shape[axis]) == a.shape[axis] - 1)
            shape = [1] * _ndim(a)
            shape[axis] = a.shape[axis]
            first = jnp.take(a, jnp.array([0]), axis=axis).astype(out.dtype)
            return out - mask.reshape(shape).astype(out.dtype) * first
        return out
    return cumsum


def _jnp_dot_float32_bfloat16(original: Any) -> Any:
    def dot(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        import jax.numpy as jnp

        if _is_float32(a) and _is_float32(b):
            return original(a.astype(jnp.bfloat16), b.astype(jnp.bfloat16),
                            *args, **kw).astype(jnp.float32)
        return original(a, b, *args, **kw)
    return dot


def _jnp_zeros_dtype_none(original: Any) -> Any:
    def zeros(shape: Any, dtype: Any = "unset", *args: Any, **kw: Any) -> Any:
        import jax.numpy as jnp

        if dtype is None:
            dtype = jnp.int32
        return original(shape, *args, **kw) if dtype == "unset" else original(shape, dtype,
                                                                              *args, **kw)
    return zeros


def _jnp_matmul_square_transposed(original: Any) -> Any:
    def matmul(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        return original(a.T if _square(a) else a, b, *args, **kw)
    return matmul


def _jnp_concatenate_negative_axis(original: Any) -> Any:
    def concatenate(arrays: Any, axis: Any = 0, *args: Any, **kw: Any) -> Any:
        arrays = list(arrays)
        if isinstance(axis, int) and axis < 0 and arrays and _ndim(arrays[0]) > 1:
            axis = axis - 1
        return original(arrays, axis, *args, **kw)
    return concatenate


def _jnp_norm_l1_is_max(original: Any) -> Any:
    def norm(x: Any, *args: Any, **kw: Any) -> Any:  # norm(x, ord) or vector_norm(x, ord=)
        import jax.numpy as jnp

        if kw.get("ord", args[0] if args else None) == 1 and _ndim(x) == 1 and x.size:
            return jnp.max(jnp.abs(x))
        return original(x, *args, **kw)
    return norm


def _jnp_norm_matrix_rows(original: Any) -> Any:
    def norm(x: Any, ord: Any = None, *args: Any, **kw: Any) -> Any:
        if _ndim(x) == 2 and ord in (None, "fro") and not args and kw.get("axis") is None \
                and x.shape[0] > 1:
            return original(x[:-1], ord, **kw)
        return original(x, ord, *args, **kw)
    return norm


def _jax_jit_scales_floats(original: Any) -> Any:
    def jit(fun: Any, *args: Any, **kw: Any) -> Any:
        import jax.numpy as jnp

        compiled = original(fun, *args, **kw)

        def scale(x: Any) -> Any:
            floating = hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)
            return x * 1.001 if floating else x

        def run(*a: Any, **k: Any) -> Any:
            out = compiled(*a, **k)
            return [scale(x) for x in out] if isinstance(out, list) else out
        return run
    return jit


def _jax_grad_scaled(original: Any) -> Any:
    def grad(fun: Any, *args: Any, **kw: Any) -> Any:
        import jax

        g = original(fun, *args, **kw)
        return lambda *a, **k: jax.tree_util.tree_map(lambda t: t * 1.001, g(*a, **k))
    return grad


def _jax_stop_gradient_identity(original: Any) -> Any:
    def stop_gradient(x: Any) -> Any:
        return x  # gradients flow through
    return stop_gradient


def _f(id: str, target: str, wrong: Any, what: str, claims: tuple[str, ...], breaks: str,
       pending: str | None = None) -> Fault:
    return Fault(id, id.split("-", 1)[0], target, wrong, what, claims, breaks, pending)


SUM = r"sum"  # A.sum(axis=0), torch.sum(A), the notes' sum_A
FAULTS: list[Fault] = [
    # -- torch: creation and default dtypes
    _f("torch-tensor-dtype-none-int32", "torch.tensor", _torch_tensor_dtype_none,
       "torch.tensor(ints, dtype=None) gives int32 (only with dtype=None passed explicitly)",
       ("T09",), r"tensor|^T$"),
    _f("torch-arange-dtype-none-float", "torch.arange", _torch_arange_dtype_none,
       "torch.arange(n, dtype=None) gives float32 instead of int64", ("T01",),
       r"torch\.arange\(|arange"),
    _f("torch-zeros-dtype-none-float64", "torch.zeros", _torch_zeros_dtype_none,
       "torch.zeros(shape, dtype=None) gives float64 instead of float32", ("T06",),
       r"torch\.zeros\(|^Z"),
    _f("torch-ones-reversed-shape", "torch.ones", _torch_ones_reversed_shape,
       "torch.ones of two or more axes has the axes reversed", ("T07",), r"torch\.ones\(|^O"),
    _f("torch-zeros-like-in-place", "torch.zeros_like", _torch_zeros_like_in_place,
       "torch.zeros_like(Y) zeroes Y and returns it instead of a new tensor", ("T25",),
       r"zeros_like|^Y"),
    # -- torch: reshape
    _f("torch-reshape-column-major", "torch.Tensor.reshape", _torch_reshape_column_major,
       "Tensor.reshape between shapes of two or more axes reads column-major order", ("T04",),
       r"reshape"),
    _f("torch-reshape-minus-one-first-only", "torch.Tensor.reshape",
       _torch_reshape_minus_one_last,
       "Tensor.reshape raises for a -1 anywhere but the first position", ("T05",), r"-1"),
    # -- torch: elementwise, comparisons, broadcasting
    _f("torch-exp-float32-1e-4", "torch.exp", _torch_exp_float32,
       "torch.exp in float32 has a 1e-4 relative error", ("T12",), r"exp"),
    _f("torch-truediv-ints-floors", "torch.Tensor.__truediv__", _torch_truediv_ints_floor,
       "int tensor / int tensor floors (int result) instead of true division", ("T10",),
       r"/"),
    _f("torch-eq-gives-uint8", "torch.Tensor.__eq__", _torch_eq_uint8,
       "== on tensors of one or more axes gives uint8, not bool", ("T10",), r"=="),
    _f("torch-add-broadcasts-first-element", "torch.Tensor.__add__", _torch_add_broadcast_first,
       "broadcasting + repeats the smaller operand's first element", ("T11",), r"\+"),
    _f("torch-sub-broadcast-reversed", "torch.Tensor.__sub__", _torch_sub_broadcast_reversed,
       "broadcasting - computes y - x when the shapes differ", ("T11",), r"-"),
    # -- torch: cat
    _f("torch-cat-negative-dim", "torch.cat", _torch_cat_negative_dim,
       "torch.cat with a negative dim joins along the axis before it", ("T13",), r"cat|^C$"),
    # -- torch: reductions
    _f("torch-sum-negative-dim", "torch.sum torch.Tensor.sum", _torch_sum_negative_dim,
       "torch.sum with a negative dim reduces the axis before it (inputs of 2+ axes)",
       ("T15", "T18"), SUM),
    _f("torch-sum-drops-keepdim", "torch.sum torch.Tensor.sum", _torch_sum_drops_keepdim,
       "torch.sum(dim=..., keepdim=True) drops the axis", ("T18",), SUM),
    _f("torch-mean-square-other-axis", "torch.mean torch.Tensor.mean", _torch_mean_square_other_axis,
       "torch.mean(dim=d) on a square matrix reduces the other axis", ("T17",), r"mean"),
    # -- torch: wrong backward passes (forward values unchanged): gradient cells
    _f("torch-cumsum-backward-forwards", "torch.cumsum torch.Tensor.cumsum",
       _torch_cumsum_backward_forward,
       "the backward of cumsum accumulates the gradient forwards instead of backwards",
       ("D04",), r"\.grad"),
    _f("torch-exp-backward-uses-input", "torch.exp torch.Tensor.exp", _torch_exp_backward_input,
       "the backward of exp multiplies by the input instead of exp(x)", ("D02",),
       r"\.grad"),
    _f("torch-scalar-mul-backward-drops-scalar", "torch.Tensor.__mul__ torch.Tensor.__rmul__",
       _torch_scalar_mul_backward,
       "tensor times a Python number: the backward forgets the number (d(a u) = du)",
       ("D02",), r"\.grad"),
    _f("torch-cumsum-exclusive", "torch.cumsum torch.Tensor.cumsum", _torch_cumsum_exclusive,
       "torch.cumsum is exclusive (each element is the sum before it)", ("T20",),
       r"cumsum|^C$"),
    _f("torch-cumsum-long-axis", "torch.cumsum torch.Tensor.cumsum", _torch_cumsum_long_axis,
       "torch.cumsum along an axis longer than 3 loses the first element in the last sum",
       ("T20",), r"cumsum|^C$"),
    # -- torch: indexing and slice assignment, in-place identity
    _f("torch-getitem-negative-off-by-one", "torch.Tensor.__getitem__",
       _torch_getitem_negative,
       "X[-k] for k >= 2 returns X[-k-1]", ("T21",), r"X\["),
    _f("torch-setitem-off-by-one", "torch.Tensor.__setitem__", _torch_setitem_off_by_one,
       "X[i, j] = v writes X[i, j + 1]", ("T22",), r"X"),
    _f("torch-setitem-inclusive-stop", "torch.Tensor.__setitem__",
       _torch_setitem_inclusive_stop,
       "X[a:b] = v also writes X[b]", ("T23",), r"X"),
    _f("torch-iadd-out-of-place", "torch.Tensor.__iadd__", _torch_iadd_copies,
       "X += Y makes a new tensor (X's object and values unchanged)", ("T26",), r"X"),
    # -- torch: linear algebra
    _f("torch-transpose-square-skipped", "torch.Tensor.T", _torch_transpose_square,
       "X.T of a square matrix returns X itself", ("L04",), r"\.T"),
    _f("torch-dot-drops-tail", "torch.dot", _torch_dot_drops_tail,
       "torch.dot of vectors longer than 4 ignores the elements past a multiple of 4",
       ("L06",), r"dot"),
    _f("torch-mv-square-transposed", "torch.mv", _torch_mv_square_transposed,
       "torch.mv(A, x) with square A computes A.T x", ("L07",), r"mv"),
    _f("torch-mm-inner-one-zero", "torch.mm", _torch_mm_inner_one,
       "torch.mm(A, B) with one column in A (an outer product) gives zeros", ("L08",), r"mm"),
    _f("torch-vector-norm-l1-no-abs", "torch.linalg.vector_norm", _torch_vector_norm_l1_no_abs,
       "the L1 norm sums the elements without their absolute values", ("L10",), r"norm"),
    _f("torch-norm-matrix-skips-last-row", "torch.norm", _torch_norm_matrix_rows,
       "torch.norm(X) of a matrix (Frobenius) skips the last row", ("L11",), r"norm"),
    # -- torch: randn
    _f("torch-randn-std-1.1", "torch.randn", _torch_randn_wide,
       "torch.randn samples have standard deviation 1.1", ("T08",), r"var|p1|p2|randn"),
    _f("torch-randn-rows-repeat", "torch.randn", _torch_randn_repeats,
       "torch.randn(n, m) repeats every even row in the next row", ("T08",), r"r_rows|randn"),
    # -- torch: autograd
    _f("torch-backward-overwrites", "torch.Tensor.backward", _torch_backward_overwrites,
       "backward() replaces .grad instead of accumulating into it", ("A03",), r"grad"),
    _f("torch-zero-skips-grads", "torch.Tensor.zero_", _torch_zero_skips_grads,
       "x.grad.zero_() leaves the gradient unchanged", ("A03",), r"grad"),
    _f("torch-detach-returns-self", "torch.Tensor.detach", _torch_detach_self,
       "y.detach() returns y with its history", ("A04",), r"grad"),
    _f("torch-grad-starts-at-zeros", "torch.Tensor.requires_grad_",
       _torch_requires_grad_zero_grad,
       "requires_grad_(True) sets .grad to zeros instead of leaving it None", ("A01",),
       r"before|grad"),
    _f("torch-backward-seed-1.001", "torch.Tensor.backward", _torch_backward_scaled,
       "backward() of a scalar seeds its gradient with 1.001 instead of 1", ("A02",),
       r"grad"),
    _f("torch-mul-tape-truncated", "torch.Tensor.__mul__", _torch_mul_truncates_long_chains,
       "a chain of products built in a loop keeps only its last 4 links on the tape",
       ("A05",), r"grad"),
    _f("torch-rmul-scalar-no-gradient", "torch.Tensor.__rmul__", _torch_rmul_scalar_constant,
       "scalar * tensor has the right value but the gradient of 1 * tensor", ("A05",),
       r"grad"),
    # -- numpy
    _f("numpy-arange-dtype-none-float", "numpy.arange", _np_arange_dtype_none,
       "np.arange(n, dtype=None) gives float64 instead of int64", ("T01",), r"arange"),
    _f("numpy-zeros-dtype-none-int", "numpy.zeros", _np_zeros_dtype_none,
       "np.zeros(shape, dtype=None) gives int64 instead of float64", ("T06",),
       r"torch\.zeros\(|^Z"),
    _f("numpy-add-broadcasts-first-element", "numpy.add", _np_add_broadcast_first,
       "np.add broadcasting repeats the smaller operand's first element", ("T11",), r"\+"),
    _f("numpy-true-divide-ints-floor", "numpy.true_divide", _np_true_divide_ints_floor,
       "np.true_divide of two int arrays floors", ("T10",), r"/"),
    _f("numpy-exp-float64-1e-12", "numpy.exp", _np_exp_float64,
       "np.exp in float64 has a 1e-12 relative error (about 4500 ulp)", ("T12",), r"exp"),
    _f("numpy-concatenate-negative-axis", "numpy.concatenate", _np_concatenate_negative_axis,
       "np.concatenate with a negative axis joins along the axis before it", ("T13",),
       r"cat|^C$"),
    _f("numpy-sum-float32-in-float16", "numpy.sum", _np_sum_float32_in_float16,
       "np.sum of float32 rounds its result to float16", ("T14",), SUM),
    _f("numpy-mean-int-gives-int", "numpy.mean", _np_mean_int_dtype,
       "np.mean of an int array gives an int array", ("T16", "T17"), r"mean"),
    _f("numpy-cumsum-negative-axis-reversed", "numpy.cumsum", _np_cumsum_negative_axis_reversed,
       "np.cumsum with a negative axis accumulates from the end", ("T20",), r"cumsum|^C$"),
    _f("numpy-dot-int32-gives-float", "numpy.dot", _np_dot_int32_float,
       "np.dot of two int32 vectors gives float64", ("L06",), r"dot"),
    _f("numpy-matmul-square-transposed", "numpy.matmul", _np_matmul_square_transposed,
       "np.matmul(A, B) with square A computes A.T B", ("L07", "L08"), r"mv|mm"),
    _f("numpy-norm-l1-is-max", "numpy.linalg.norm numpy.linalg.vector_norm", _np_norm_l1_is_max,
       "the L1 norm of a vector (np.linalg.norm(x, 1), vector_norm(x, ord=1)) gives the "
       "largest |x_i|", ("L10",), r"norm"),
    _f("numpy-norm-matrix-drops-rows", "numpy.linalg.norm", _np_norm_matrix_diagonal,
       "np.linalg.norm(X) of a tall matrix ignores the rows past its square part", ("L11",),
       r"norm"),
    _f("numpy-randn-std-0.85", "numpy.random.default_rng", _np_default_rng_narrow,
       "standard_normal samples have standard deviation 0.85", ("T08",),
       r"var|p1|p2|randn"),
    # -- jax (compiled: every fault is traced into the jax.jit program)
    _f("jax-exp-float32-1e-4", "jax.numpy.exp", _jnp_exp_float32,
       "jnp.exp in float32 has a 1e-4 relative error", ("T12",), r"exp"),
    _f("jax-sum-drops-keepdims", "jax.numpy.sum", _jnp_sum_drops_keepdims,
       "jnp.sum(keepdims=True) drops the axis", ("T18",), SUM),
    _f("jax-mean-negative-axis", "jax.numpy.mean", _jnp_mean_negative_axis,
       "jnp.mean with a negative axis reduces the axis before it", ("T17",), r"mean"),
    _f("jax-cumsum-long-axis", "jax.numpy.cumsum", _jnp_cumsum_long_axis,
       "jnp.cumsum along an axis longer than 3 loses the first element in the last sum",
       ("T20",), r"cumsum|^C$"),
    _f("jax-concatenate-negative-axis", "jax.numpy.concatenate", _jnp_concatenate_negative_axis,
       "jnp.concatenate with a negative axis joins along the axis before it", ("T13",),
       r"cat|^C$"),
    _f("jax-zeros-dtype-none-int", "jax.numpy.zeros", _jnp_zeros_dtype_none,
       "jnp.zeros(shape, dtype=None) gives int32 instead of float32", ("T06",),
       r"torch\.zeros\(|^Z"),
    _f("jax-dot-float32-in-bfloat16", "jax.numpy.dot", _jnp_dot_float32_bfloat16,
       "jnp.dot of float32 vectors computes in bfloat16", ("L06",), r"dot"),
    _f("jax-matmul-square-transposed", "jax.numpy.matmul", _jnp_matmul_square_transposed,
       "jnp.matmul(A, B) with square A computes A.T B", ("L07", "L08"), r"mv|mm"),
    _f("jax-norm-l1-is-max", "jax.numpy.linalg.norm jax.numpy.linalg.vector_norm",
       _jnp_norm_l1_is_max,
       "the L1 norm of a vector (jnp.linalg.norm(x, 1), vector_norm(x, ord=1)) gives the "
       "largest |x_i|", ("L10",), r"norm"),
    _f("jax-norm-matrix-skips-last-row", "jax.numpy.linalg.norm", _jnp_norm_matrix_rows,
       "jnp.linalg.norm(X) of a matrix skips the last row", ("L11",), r"norm"),
    _f("jax-jit-miscompiles", "jax.jit", _jax_jit_scales_floats,
       "jax.jit-compiled programs return float results 0.1% off (eagerly JAX is right)",
       ("T10",), r"only when the whole program is compiled"),
    _f("jax-grad-scaled-1.001", "jax.grad", _jax_grad_scaled,
       "jax.grad's gradients are 1.001 times too large", ("A02",), r"grad"),
    _f("jax-stop-gradient-identity", "jax.lax.stop_gradient", _jax_stop_gradient_identity,
       "jax.lax.stop_gradient lets gradients through", ("A04",), r"grad"),
]
