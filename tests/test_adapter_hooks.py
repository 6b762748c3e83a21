"""One backend's bad hook hurts only that backend; a broken input file is one line.

An adapter whose ``after_cell()``, ``versions()`` or constructor raises, or whose
``to_host`` returns a list, None or a string, gets one line naming the adapter and
the method on its own cells; the reference's cells next to it are intact.  A claims
or registry file that cannot be read, a missing ``--specs`` folder, a registry entry
for a backend that does not exist and a ``--report-dir`` that is a file stop the run
before it starts, with one line naming the file (conformance/hooks.py, spec.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_suite_runs import cumsum_specs, run_suite  # noqa: F401  (a fixture)

FAULTY = ROOT / "tests" / "faulty_hooks.py"
PROBLEMS = {
    "numpy-after-cell-raises": "adapter 'numpy-after-cell-raises': after_cell() raised "
                               "RuntimeError: cannot free the cache",
    "numpy-constructor-raises": "adapter 'numpy-constructor-raises': the constructor "
                                f"{FAULTY}:ConstructorRaises() raised RuntimeError: "
                                "device initialisation failed",
    "numpy-to-host-list": "adapter 'numpy-to-host-list': to_host() returned list",
    "numpy-to-host-none": "adapter 'numpy-to-host-none': to_host() returned NoneType None",
    "numpy-to-host-str": "adapter 'numpy-to-host-str': to_host() returned str",
}


def test_a_bad_hook_fails_only_its_own_cells_in_one_line(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    classes = ["AfterCellRaises", "VersionsRaises", "ConstructorRaises", "ToHostList",
               "ToHostNone", "ToHostStr"]
    backends = ",".join(["reference", *(f"{FAULTY}:{c}" for c in classes)])
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backends)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 1, out
    assert "INTERNALERROR" not in out and "not torn down" not in out
    data = json.loads((reports / "results.json").read_text())
    cells = {(c["case"], c["backend"]): c for c in data["cells"]}
    # notes, any_axis and any_axis's gradient cell (cumsum of a float tensor) per backend
    assert len(cells) == 3 * (1 + len(classes))
    assert cells["any_axis/gradient", "reference"]["outcome"] == "pass"
    for backend in ("numpy-versions-raises", *PROBLEMS):
        cell = cells["any_axis/gradient", backend]
        if backend == "numpy-constructor-raises":
            # no adapter, so not even its capabilities: the constructor's line, as above
            assert cell["outcome"] == "fail", cell
            assert cell["failure"]["message"] == PROBLEMS[backend]
        else:
            # numpy has no autograd: no hook runs, so none can fail the cell
            assert cell["outcome"] == "not_applicable", (backend, cell)
    for case in ("notes", "any_axis"):
        assert cells[case, "reference"]["outcome"] == "pass"
        assert cells[case, "numpy-versions-raises"]["outcome"] == "pass"
        for backend, problem in PROBLEMS.items():
            cell = cells[case, backend]
            assert cell["outcome"] == "fail", (backend, cell)
            message = cell["failure"]["message"]
            assert message.startswith(problem) and "\n" not in message, message
            assert message in out
    versions = next(b for b in data["run"]["backends"] if b["name"] == "numpy-versions-raises")
    assert versions["reason"] == ("adapter 'numpy-versions-raises': versions() raised "
                                  "RuntimeError: no version attribute")
    assert f"ERROR {versions['reason']}" in out


CUMSUM_REGISTRY_ENTRY = """
- id: typo-backend
  backend: {backend}
  spec: tensors/cumsum
  reason: a backend name that no adapter has
"""


@pytest.mark.parametrize("problem", ["claims-bad-yaml", "claims-missing-key", "registry-not-utf8",
                                     "registry-unknown-backend", "no-specs-folder",
                                     "report-dir-is-a-file"])
def test_a_broken_input_is_one_line_naming_the_file(
    pytester: pytest.Pytester, cumsum_specs: Path, problem: str  # noqa: F811
) -> None:
    args = ["--backend", "reference"]
    specs = cumsum_specs
    registry = specs / "divergences" / "mine.yaml"
    if problem == "claims-bad-yaml":
        (specs / "claims.yaml").write_text("tensors: [\n")
        expected = f"{specs / 'claims.yaml'}: not valid YAML"
    elif problem == "claims-missing-key":
        (specs / "claims.yaml").write_text("tensors:\n  - {id: T20, section: 1}\n")
        expected = f"{specs / 'claims.yaml'}: tensors[0]: missing key 'claim'"
    elif problem == "registry-not-utf8":
        registry.parent.mkdir()
        registry.write_bytes(b"- id: caf\xe9\n")
        expected = f"{registry}: not UTF-8 text"
    elif problem == "registry-unknown-backend":
        registry.parent.mkdir()
        registry.write_text(CUMSUM_REGISTRY_ENTRY.format(backend="pytorch"))
        expected = f"{registry}: [0] (typo-backend).backend: no backend 'pytorch'"
    elif problem == "no-specs-folder":
        specs = specs / "nowhere"
        expected = f"{specs}: --specs: no such folder"
    else:
        (pytester.path / "afile").write_text("")
        args += ["--report-dir", str(pytester.path / "afile" / "reports")]
        expected = "afile is a file, not a folder"
    result, reports = run_suite(pytester, specs, *args)
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    assert expected in err, err
    assert "Traceback" not in err and "INTERNALERROR" not in result.stdout.str() + err
    assert not (reports / "results.json").exists()


def test_a_registry_entry_for_a_built_in_backend_that_is_not_selected_is_fine(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    registry = cumsum_specs / "divergences" / "mine.yaml"
    registry.parent.mkdir()
    registry.write_text(CUMSUM_REGISTRY_ENTRY.format(backend="jax"))
    result, _ = run_suite(pytester, cumsum_specs, "--backend", "reference")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
