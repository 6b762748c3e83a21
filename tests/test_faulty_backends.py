"""Detection power: every backend with a planted fault must fail, on the claim it breaks.

NumPy faults are planted in our adapter (tests/faulty_adapters.py); PyTorch faults in
the torch library itself or in its autograd (tests/faulty_torch_adapters.py).  Each
runs the suite on the relevant specs and must exit 1 with a failing cell that names
the broken claim, never only on unrelated ones.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, SPECS

# imported here, not in the tests: pytester restores sys.modules after each test, and
# torch's C extension cannot be imported a second time in one process
try:
    import torch
except ImportError:  # pragma: no cover - the project's tests install torch
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

try:
    import jax
except ImportError:  # pragma: no cover
    jax = None
needs_jax = pytest.mark.skipif(jax is None, reason="jax is not installed")

#: (module under tests/, backend class, spec id to run, the claim it must fail)
FAULTS = [
    *(pytest.param("faulty_adapters.py", *f, id=f"numpy-{f[0]}") for f in [
        ("CumsumOffByOne", "tensors/cumsum", "T20"),
        ("SumDropsKeepdims", "tensors/sum_axis", "T18"),
        ("AddIgnoresBroadcasting", "tensors/broadcasting", "T11"),
        ("SumInFloat16", "tensors/sum_all", "T14"),
        ("IaddCopies", "tensors/memory_identity", "T26"),
        ("MeanIntGivesInt", "tensors/mean", "T16"),
    ]),
    *(pytest.param("faulty_torch_adapters.py", *f, id=f"torch-{f[0]}", marks=needs_torch) for f in [
        ("CumsumOffByOne", "tensors/cumsum", "T20"),
        ("SumIgnoresKeepdim", "tensors/sum_axis", "T18"),
        ("AddBroadcastsFirstElement", "tensors/broadcasting", "T11"),
        ("BackwardOverwrites", "autograd/accumulation", "A03"),
        ("DetachKeepsHistory", "autograd/detach", "A04"),
        ("GradScaled", "autograd/backward_dot", "A02"),
        ("TapeDropsLongChains", "autograd/long_chain", "A05"),
    ]),
    *(pytest.param("faulty_jax_adapters.py", *f, id=f"jax-{f[0]}", marks=needs_jax) for f in [
        ("CumsumOffByOne", "tensors/cumsum", "T20"),
        ("LibrarySumIgnoresKeepdims", "tensors/sum_axis", "T18"),
        ("MiscompilingStage", "tensors/elementwise", "T10"),
    ]),
]
TORCH_SELECTIONS = " or ".join(sorted({p.values[2] for p in FAULTS
                                       if p.values[0] == "faulty_torch_adapters.py"}))


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Run from the repository: -k also matches folder names, and pytester's folders are
    named after the test (test_..._CumsumOffByOne0 would match -k cumsum)."""
    monkeypatch.chdir(ROOT)
    return pytester


def failing_claims(pytester: pytest.Pytester, backend: str, select: str,
                   *extra: str) -> tuple[int, set[str], str]:
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"), "--specs", str(SPECS), "--backend", backend, "-k", select,
        "--report-dir", str(reports), "-p", "no:cacheprovider", "--rootdir", str(ROOT),
        # select by spec id (a backend's name may contain the same words); 10 deterministic
    # examples per case are enough to see each fault; stop at the first
        "--hypothesis-profile=quick", "--maxfail=1", *extra,
    )
    cells = json.loads((reports / "results.json").read_text())["cells"]
    claims = {c for cell in cells if cell["outcome"] == "fail" for c in cell["claims"]}
    return result.ret, claims, result.stdout.str()


@pytest.mark.parametrize(("module", "fault", "select", "claim"), FAULTS)
def test_faults_are_caught(pytester: pytest.Pytester, module: str, fault: str, select: str,
                           claim: str) -> None:
    backend = f"{ROOT / 'tests' / module}:{fault}"
    ret, claims, out = failing_claims(pytester, backend, select)
    assert ret == 1, out
    assert claim in claims, out


@needs_jax
def test_a_miscompiled_program_is_reported_as_compiled_only(pytester: pytest.Pytester) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_jax_adapters.py'}:MiscompilingStage"
    ret, _, out = failing_claims(pytester, backend, "tensors/elementwise")
    assert ret == 1, out
    assert "only when the whole program is compiled" in out, out
    # and run operation by operation (--eager) the same backend is JAX, which passes
    ret, _, out = failing_claims(pytester, backend, "tensors/elementwise", "--eager")
    assert ret == 0, out


@needs_torch
def test_unpatched_torch_passes_the_same_selections(pytester: pytest.Pytester) -> None:
    """The faults above are the only reason those runs fail."""
    ret, claims, out = failing_claims(pytester, "torch", TORCH_SELECTIONS)
    assert ret == 0, out
    assert claims == set()
