"""Plugging in a backend (README, "Plugging in a backend"): a registry of one's own that
adds to the built-in one, an adapter that leaves methods out, an adapter that imports a
module beside its file, and the per-backend checklist ``python -m tensor_conformance.claims``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tensor_conformance import claims
from tensor_conformance.program import Program
from tensor_conformance.requirements import methods
from tests.conftest import ROOT
from tests.test_suite_runs import cumsum_specs, run_suite  # noqa: F401

OFF_BY_ONE = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
WITHOUT_CUMSUM = f"{ROOT / 'tests' / 'faulty_adapters.py'}:NumpyWithoutCumsum"


def _entry(entry_id: str, backend: str, case: str) -> str:
    return textwrap.dedent(f"""
        - id: {entry_id}
          backend: {backend}
          spec: tensors/cumsum
          cases: [{case}]
          reason: the adapter adds one to every cumulative sum
        """)


def test_a_registry_of_ones_own_adds_to_the_built_in_one(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    """The built-in registry (<specs>/divergences/) explains the notes' example; the
    plug-in author's file, given with --divergences, explains the generated case.  One
    built-in entry names two backends."""
    builtin = cumsum_specs / "divergences" / "builtin.yaml"
    builtin.parent.mkdir()
    builtin.write_text(_entry("off-by-one-notes", "[jax, numpy-cumsum-off-by-one]", "notes"))
    mine = pytester.path / "mine.yaml"
    mine.write_text(_entry("off-by-one-generated", "numpy-cumsum-off-by-one", "any_axis"))
    result, reports = run_suite(pytester, cumsum_specs, "--backend", OFF_BY_ONE,
                                "--divergences", str(mine))
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    cells = {c["case"]: c for c in json.loads((reports / "results.json").read_text())["cells"]}
    assert cells["notes"]["outcome"] == "divergence"
    assert cells["notes"]["divergence"]["id"] == "off-by-one-notes"
    assert cells["any_axis"]["outcome"] == "divergence"
    assert cells["any_axis"]["divergence"]["id"] == "off-by-one-generated"


def test_divergences_is_repeatable_and_a_missing_file_is_a_usage_error(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    first, second = pytester.path / "first.yaml", pytester.path / "second.yaml"
    first.write_text(_entry("off-by-one-notes", "numpy-cumsum-off-by-one", "notes"))
    second.write_text(_entry("off-by-one-generated", "numpy-cumsum-off-by-one", "any_axis"))
    result, _ = run_suite(pytester, cumsum_specs, "--backend", OFF_BY_ONE, "--no-report",
                          "--divergences", str(first), "--divergences", str(second))
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result, _ = run_suite(pytester, cumsum_specs, "--backend", OFF_BY_ONE, "--no-report",
                          "--divergences", str(first), "--divergences", str(pytester.path / "nope"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope: --divergences: no such file or folder" in result.stderr.str()


def test_a_missing_adapter_method_makes_its_cells_not_applicable_naming_it(
    pytester: pytest.Pytester, cumsum_specs: Path  # noqa: F811
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", WITHOUT_CUMSUM)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, out
    assert "AttributeError" not in out
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert {c["case"]: c["outcome"] for c in cells} == {"notes": "not_applicable",
                                                       "any_axis": "not_applicable",
                                                       "any_axis/gradient": "not_applicable"}
    # the gradient cell lacks autograd before it lacks cumsum (numpy has none)
    (gradient,) = [c for c in cells if c["kind"] == "gradient"]
    assert "autograd" in gradient["reason"], gradient
    for cell in cells:
        if cell["kind"] == "gradient":
            continue
        assert cell["reason"].startswith("needs adapter method cumsum() (for `")
        assert "numpy-without-cumsum does not implement it" in cell["reason"]


def test_a_method_the_static_reading_misses_is_not_applicable_when_called() -> None:
    """The interpreter's safety net: an adapter method looked up at run time that the
    adapter lacks raises NotApplicable naming it, not AttributeError."""
    from tensor_conformance.adapters.protocol import NotApplicable
    from tensor_conformance.program import Interpreter
    from tests.faulty_adapters import NumpyWithoutCumsum

    adapter = NumpyWithoutCumsum()
    with pytest.raises(NotApplicable, match=r"needs adapter method cumsum\(\): "
                                            "numpy-without-cumsum does not implement it"):
        Interpreter(adapter).run(Program.parse("torch.arange(3).cumsum(0)"))


@pytest.mark.parametrize(("code", "expected"), [
    ("A.cumsum(axis=0)", {"cumsum"}),
    ("torch.arange(12).reshape(3, 4)", {"arange", "reshape"}),
    ("x = torch.ones(3, requires_grad=True)\ny = 2 * torch.dot(x, x)\ny.backward()\nx.grad",
     {"ones", "requires_grad_", "mul", "dot", "backward", "grad"}),
    ("X[0] = 1\nY += X\nX.T[1]\nlen(X) + X.shape[0]\nX + 1\n-X\nX == Y",
     {"setitem", "iadd", "transpose", "getitem", "length", "shape", "add", "neg", "eq"}),
    ("A.shape[0] + A.shape[1]", {"shape"}),  # Python arithmetic on a shape: no add
])
def test_the_methods_a_program_calls_are_read_from_its_code(code: str, expected: set[str]) -> None:
    assert set(methods(Program.parse(code))) == expected


def test_the_checklist_lists_every_claim_with_what_runs_and_why_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert claims.main(["--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("backend numpy\ncapabilities: in_place, random\n")
    assert "\nT20  " in out and "\nA01  " in out
    assert "tensors/cumsum/notes_cumsum_axis0 (example): runs" in out
    assert "not applicable: needs autograd: NumPy has no automatic differentiation" in out
    assert "(registered: numpy-cumsum-0d)" in out
    assert "claims no runnable cell checks: D01" in out


def test_the_checklist_names_a_missing_method_and_a_missing_library(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert claims.main(["--backend", WITHOUT_CUMSUM]) == 0
    out = capsys.readouterr().out
    assert ": not applicable: needs adapter method cumsum() (for `" in out
    missing = tmp_path / "missing_lib.py"
    missing.write_text("import library_that_is_not_installed\n")
    assert claims.main(["--backend", f"{missing}:Adapter"]) == 0
    out = capsys.readouterr().out
    assert "not applicable: library missing: library_that_is_not_installed is not installed" in out
    assert "0 of " in out.splitlines()[-2]
    assert claims.main(["--backend", "nope"]) == 2
    assert "expected a built-in name" in capsys.readouterr().err


def test_an_adapter_loaded_by_file_path_imports_a_module_beside_it(
    pytester: pytest.Pytester, cumsum_specs: Path, tmp_path: Path  # noqa: F811
) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "mylib_core.py").write_text(
        "from tensor_conformance.adapters.numpy_backend import NumpyAdapter\n\n\n"
        "class Core(NumpyAdapter):\n    name = 'mylib'\n")
    (folder / "my_adapter.py").write_text("from mylib_core import Core\n\n\n"
                                          "class MyLibAdapter(Core):\n    pass\n")
    result, reports = run_suite(pytester, cumsum_specs, "--backend",
                                f"{folder / 'my_adapter.py'}:MyLibAdapter")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert {c["backend"] for c in cells} == {"mylib"}


def test_the_readmes_worked_example_adapter_loads_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's example, pasted as a new user would, beside a stand-in ``mylib`` (an
    Array API namespace over NumPy) and its ``mylib_helpers`` module."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("# my_adapter.py")
    (tmp_path / "my_adapter.py").write_text(readme[start:readme.index("```", start)])
    (tmp_path / "mylib").mkdir()
    (tmp_path / "mylib" / "__init__.py").write_text(
        "import numpy as np\n__version__ = '0.1'\n\n\n"
        "def cumsum(x, axis):\n    return np.cumsum(x, axis=axis)\n")
    (tmp_path / "mylib" / "xp.py").write_text(
        "from numpy import *  # noqa\nfrom numpy import __array_api_version__, "
        "__array_namespace_info__, linalg  # noqa\n")
    (tmp_path / "mylib_helpers.py").write_text(
        "import numpy as np\n\n\ndef to_numpy(value):\n    return np.asarray(value)\n")
    assert claims.main(["--backend", f"{tmp_path / 'my_adapter.py'}:MyLibAdapter"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"backend {tmp_path / 'my_adapter.py'}:MyLibAdapter (mylib)\n"
                          "capabilities: in_place\n")
    assert "tensors/cumsum/any_axis (generated): runs" in out
    assert "tensors/slice_assignment" in out and "BROKEN" not in out


def test_a_method_the_library_lacks_shows_the_reason_the_adapter_gives(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An adapter leaves out a method because its library has no such function (tinygrad:
    no norm) and says why in ``missing``, keyed by the method's name: the cells show that
    reason, not "does not implement it"."""
    adapter = tmp_path / "lacks_cumsum.py"
    adapter.write_text(textwrap.dedent("""
        from tests.faulty_adapters import NumpyWithoutCumsum

        class LibraryWithoutCumsum(NumpyWithoutCumsum):
            name = "library-without-cumsum"
            missing = {**NumpyWithoutCumsum.missing,
                       "cumsum": "the library has no cumulative sum function"}
        """))
    assert claims.main(["--backend", f"{adapter}:LibraryWithoutCumsum"]) == 0
    out = capsys.readouterr().out
    assert ": not applicable: `A.cumsum(axis=0)`: the library has no cumulative sum function" in out
    assert "needs adapter method cumsum()" not in out
