"""Detection power, a fast subset of ``python -m tensor_conformance.selftest``.

Every fault here is planted in the library itself (conformance/fault_catalogue.py: a
patched ``torch.cumsum``, ``numpy.sum``, ``jax.numpy.exp``, ``torch.Tensor.backward``...),
never in our adapters, and runs under the built-in backend's own name and divergence
registry.  A fault counts as caught only when a failing cell names the claim the
fault breaks *and* fails on the output it breaks (``Fault.breaks``); and each library,
run unmodified on the same specs under the same name, must pass: the control that makes
every catch the fault's doing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from collections import Counter

import pytest

from tensor_conformance import faults
from tensor_conformance.fault_catalogue import FAULTS
from tensor_conformance.selftest import run_control, run_fault, run_suite, specs_for
from tensor_conformance.spec import load_all
from tests.conftest import ROOT, SPECS

try:
    import torch
except ImportError:  # pragma: no cover - the project's tests install torch
    torch = None
try:
    import jax
except ImportError:  # pragma: no cover
    jax = None

NEEDS = {"torch": pytest.mark.skipif(torch is None, reason="torch is not installed"),
         "jax": pytest.mark.skipif(jax is None, reason="jax is not installed"),
         "numpy": ()}

#: the fast subset: per library, faults of different claims and kinds
FAST = [
    "numpy-cumsum-negative-axis-reversed", "numpy-sum-float32-in-float16",
    "numpy-add-broadcasts-first-element", "numpy-mean-int-gives-int",
    "numpy-zeros-dtype-none-int", "numpy-norm-l1-is-max",
    "torch-cumsum-exclusive", "torch-sum-drops-keepdim", "torch-mean-square-other-axis",
    "torch-add-broadcasts-first-element", "torch-backward-overwrites",
    "torch-detach-returns-self", "torch-backward-seed-1.001", "torch-mul-tape-truncated",
    "jax-sum-drops-keepdims", "jax-exp-float32-1e-4", "jax-jit-miscompiles",
]
CATALOGUE = faults.catalogue()


def _param(fault_id: str) -> object:
    fault = CATALOGUE[fault_id]
    return pytest.param(fault, id=fault_id, marks=NEEDS[fault.library])


@pytest.mark.parametrize("fault", [_param(f) for f in FAST])
def test_a_planted_library_fault_fails_on_its_claim_and_output(fault: faults.Fault) -> None:
    verdict = run_fault(fault)
    assert verdict.run.exit_status == 1, verdict.run.output
    assert verdict.killed, (f"{fault.id}: first failure {verdict.cell} on {verdict.outputs}, "
                            f"expected claim {fault.claims} and an output matching "
                            f"{fault.breaks!r}\n{verdict.run.output}")
    spec_id = verdict.cell.rpartition("/")[0] if verdict.cell else ""
    assert spec_id in specs_for(fault.claims)


@pytest.mark.parametrize("library", [pytest.param(lib, marks=NEEDS[lib])
                                     for lib in ("numpy", "torch", "jax")])
def test_the_unmodified_library_passes_the_same_specs(library: str) -> None:
    """The control: same backend name and registry, no fault, no failure."""
    run = run_control(library, [CATALOGUE[f] for f in FAST if CATALOGUE[f].library == library])
    assert run.cells > 0, run.output
    assert run.failures == [], [f"{c['spec']}/{c['case']}" for c in run.failures]
    assert run.exit_status == 0, run.output


@pytest.mark.skipif(jax is None, reason="jax is not installed")
def test_a_miscompiling_jit_is_reported_as_compiled_only_and_eager_runs_pass() -> None:
    fault = CATALOGUE["jax-jit-miscompiles"]
    backend = f"tensor_conformance.faults:{fault.id}"
    run = run_suite(backend, ["tensors/elementwise"], profile="quick", stop_at_first=True)
    assert run.exit_status == 1, run.output
    assert "only when the whole program is compiled" in run.failures[0]["failure"]["message"]
    # operation by operation (--eager) jax.jit is never called: the same backend passes
    run = run_suite(backend, ["tensors/elementwise"], profile="quick", stop_at_first=True,
                    extra=("--eager",))
    assert run.exit_status == 0, run.output


# -- the catalogue and the mechanism -----------------------------------------------------
def test_the_catalogue_covers_every_claim_group_with_at_least_40_faults() -> None:
    _, claims = load_all(SPECS)
    assert len(FAULTS) >= 40
    assert len(CATALOGUE) == len(FAULTS), "fault ids must be unique"
    for fault in FAULTS:
        assert fault.library in ("numpy", "torch", "jax"), fault.id
        assert set(fault.claims) <= set(claims), fault.id
        assert specs_for(fault.claims), fault.id
        re.compile(fault.breaks)
    groups = Counter(claims[c].group for f in FAULTS for c in f.claims)
    assert set(groups) >= {"tensors", "linear_algebra", "autograd"}
    assert {"T01", "T04", "T05", "T06", "T08", "T10", "T11", "T13", "T15", "T17", "T18", "T20",
            "T21", "T22", "T23", "T26", "L04", "L06", "L07", "L08", "L10", "A01", "A02",
            "A03", "A04", "A05"} <= {c for f in FAULTS for c in f.claims}


def test_a_planted_fault_reaches_library_callers_but_not_the_suite(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lib = types.ModuleType("fakelib")
    lib.double = lambda x: 2 * x  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakelib", lib)
    faults.plant(faults.Fault("fakelib-double-off", "numpy", "fakelib.double",
                              lambda original: lambda x: original(x) + 1, "off by one",
                              ("T10",), "x"))
    user = types.ModuleType("tensor_conformance.adapters.some_backend")
    suite = types.ModuleType("tensor_conformance.some_module")
    for module in (user, suite):
        exec("import fakelib\ndef call(x):\n    return fakelib.double(x)\n"
             "def to_host(x):\n    return fakelib.double(x)\n", module.__dict__)
    assert user.call(3) == 7  # the adapter calls the library: the fault shows
    assert suite.call(3) == 6  # the suite's own machinery is shielded
    assert user.to_host(3) == 6  # so is an adapter's observation of a value


def test_a_fault_backend_is_the_built_in_adapter_on_a_patched_library() -> None:
    code = (
        "from tensor_conformance import faults\n"
        "from tensor_conformance.adapters.numpy_backend import NumpyAdapter\n"
        "import numpy as np\n"
        "a = faults.backend('numpy-cumsum-negative-axis-reversed')\n"
        "assert type(a) is NumpyAdapter and a.name == 'numpy'\n"
        "x = np.arange(1, 5)\n"
        "print(a.cumsum(x, 0).tolist(), a.cumsum(x, -1).tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[1, 3, 6, 10] [10, 9, 7, 4]"
