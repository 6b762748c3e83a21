"""JAX backends with one planted fault each, run the way the suite runs JAX: whole
case programs compiled with ``jax.jit`` (conformance/staging.py).  A fault in the
adapter or in the library is traced into the compiled program and must be caught
there; a compiler that changes results must be reported as compiled-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from adapters.jax_backend import JaxAdapter


class CumsumOffByOne(JaxAdapter):  # type: ignore[misc,valid-type]
    name = "jax-cumsum-off-by-one"

    def cumsum(self, x: jax.Array, axis: int) -> jax.Array:
        return super().cumsum(x, axis) + 1


class LibrarySumIgnoresKeepdims(JaxAdapter):  # type: ignore[misc,valid-type]
    """The fault is in the library: jax.numpy.sum itself drops keepdims."""

    name = "jax-library-sum-ignores-keepdims"

    def __init__(self) -> None:
        super().__init__()
        original = jnp.sum

        def faulty_sum(a: Any, axis: Any = None, *args: Any, keepdims: bool = False,
                       **kwargs: Any) -> Any:
            return original(a, axis, *args, keepdims=False, **kwargs)

        jnp.sum = faulty_sum  # this process runs only this backend


class MiscompilingStage(JaxAdapter):  # type: ignore[misc,valid-type]
    """Operation by operation it is JAX; compiled, every float result is 0.1% off."""

    name = "jax-miscompiling-stage"

    def stage(self, program: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        compiled = super().stage(program)

        def run(*args: Any) -> list[Any]:
            return [x * 1.001 if jnp.issubdtype(x.dtype, jnp.floating) else x
                    for x in compiled(*args)]

        return run
