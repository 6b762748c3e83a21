"""Behaviours the libraries really have (issue 9, item 6): the specs draw them and the
registry explains them with the entry that states what each library does.

Each cell below runs the real specs and registry on a real library; the cell must end
as a *divergence* explained by the named entry, which also shows the divergence
reproduced (a registered divergence that does not reproduce is *stale*)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT


def _needs(*modules: str) -> None:
    """Skip without a library; never import it here (jaxlib aborts when imported after torch
    in one process)."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")


#: (spec, case, backend) -> the registry entry that must explain it
EXPECTED = {
    ("linear_algebra/mv", "mixed_dtypes", "torch"): "torch-mv-mixed-dtypes-raises",
    ("linear_algebra/mm", "mixed_dtypes", "torch"): "torch-mm-mixed-dtypes-raises",
    ("tensors/cat", "rank_mismatch_raises", "torch"): "torch-cat-skips-1d-empty-next-to-matrix",
    ("tensors/elementwise", "power_int_negative", "torch"): "torch-int-pow-negative-array-exponent",
    ("tensors/elementwise", "power_int_negative", "jax"): "jax-int-pow-negative-array-exponent",
    ("tensors/elementwise", "power_int_negative", "jax-x64"):
        "jax-x64-int-pow-negative-array-exponent",
    ("linear_algebra/scalars", "integer_power", "jax"): "jax-jit-int-pow-negative-exponent",
    ("linear_algebra/scalars", "integer_power", "jax-x64"): "jax-x64-jit-int-pow-negative-exponent",
}


def test_each_library_behaviour_is_drawn_and_explained_by_its_entry(pytester: pytest.Pytester) -> None:
    _needs("torch", "jax")
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"), "--report-dir", str(reports), "--backend", "torch,jax,jax-x64",
        "-k", "mixed_dtypes or rank_mismatch_raises or power_int_negative or integer_power",
        "--hypothesis-profile=quick", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
    )
    cells = {(c["spec"], c["case"], c["backend"]): c
             for c in json.loads((reports / "results.json").read_text())["cells"]}
    for key, entry in EXPECTED.items():
        assert key in cells, f"{key} was never run (no such case)"
        cell = cells[key]
        assert cell["outcome"] == "divergence", (key, cell["outcome"], cell["failure"])
        assert cell["divergence"]["id"] == entry
        assert cell["divergence"]["observed"] >= 1
    assert result.ret == 0, result.stdout.str()


_MEASURE_JAX = """
import json
import jax, jax.numpy as jnp, numpy as np
a = jnp.array([[False, True], [False, False]])
try:
    jnp.cumsum(jnp.asarray(np.array(3, np.int32)), axis=0)
    strong = "returns"
except ValueError:
    strong = "raises"
print(json.dumps({
    "grad_abs_minus_zero": float(jax.grad(jnp.abs)(-0.0)),
    "cumsum_weak_0d_shape": list(jnp.cumsum(jnp.asarray(3), axis=0).shape),
    "cumsum_strong_0d": strong,
    "false_over_broadcast_zero": float((a / a.sum(axis=1, keepdims=True))[1, 0]),
    "two_to_minus_one": int((jnp.array([2]) ** jnp.array([-1]))[0]),
}))
"""


def _reason(entry_id: str) -> tuple[str, str | None]:
    for path in (ROOT / "specs" / "divergences").glob("*.yaml"):
        for e in yaml.safe_load(path.read_text(encoding="utf-8")):
            if e["id"] == entry_id:
                return " ".join(e["reason"].split()), e.get("link")
    raise AssertionError(f"no entry {entry_id}")


def test_the_reasons_state_what_jax_measurably_does() -> None:
    """The reasons corrected in issue 9 say what JAX does, as measured (in a fresh process)."""
    _needs("jax")
    done = subprocess.run([sys.executable, "-c", _MEASURE_JAX], capture_output=True, text=True,
                          check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    jax = json.loads(done.stdout.strip().splitlines()[-1])
    # grad of abs at -0 is 1, not -1; the upstream issue is a bug report
    assert jax["grad_abs_minus_zero"] == 1.0
    text, _ = _reason("jax-grad-abs-at-zero")
    assert "-1 at -0" not in text and "1 at both +0 and -0" in text and "Library bug" in text
    # cumsum of a 0-d array: a weakly typed one returns shape (1,), a strongly typed one raises
    assert (jax["cumsum_weak_0d_shape"], jax["cumsum_strong_0d"]) == ([1], "raises")
    text, _ = _reason("jax-cumsum-0d-axis")
    assert "weakly typed" in text and "shape (1,)" in text
    # bool / broadcast integer zero gives 0, not nan; not linked to the multiplication report
    assert jax["false_over_broadcast_zero"] == 0.0
    text, link = _reason("jax-bool-div-zero-broadcast")
    assert link != "https://github.com/openxla/xla/issues/2438" and "Library bug" in text
    # the exp-product rewrite changes values: a library bug, linked to a report, not to source
    text, link = _reason("jax-jit-exp-product-rewritten")
    assert "Library bug" in text and link is not None and "/blob/" not in link
    # integers to negative powers: JAX does not raise for array exponents
    assert jax["two_to_minus_one"] == 0
    text, _ = _reason("torch-int-pow-negative-exponent")
    assert "NumPy and JAX raise" not in text
