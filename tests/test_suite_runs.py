"""`pytest conformance/` end to end: exit status, results.json, faulty backends caught."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import CUMSUM, ROOT


def run_suite(pytester: pytest.Pytester, specs: Path, *args: str) -> tuple[pytest.RunResult, Path]:
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"), "--specs", str(specs), "--report-dir", str(reports),
        "--hypothesis-profile=quick", "-p", "no:cacheprovider", "--rootdir", str(ROOT), *args,
    )
    return result, reports


@pytest.fixture
def cumsum_specs(specs_dir: Path) -> Path:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    return specs_dir


def test_a_conforming_backend_passes_and_results_json_records_every_cell(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy")
    assert result.ret == 0, result.stdout.str()
    data = json.loads((reports / "results.json").read_text())
    cells = {(c["case"], c["backend"]): c for c in data["cells"]}
    assert set(cells) == {("notes", "reference"), ("notes", "numpy"),
                          ("any_axis", "reference"), ("any_axis", "numpy"),
                          ("any_axis/gradient", "reference"), ("any_axis/gradient", "numpy")}
    # any_axis draws a float A, so it has a gradient cell: it checks differentiation's
    # claims on the reference's tape; numpy has no autograd
    gradient = cells.pop(("any_axis/gradient", "reference"))
    assert (gradient["kind"], gradient["outcome"]) == ("gradient", "pass")
    assert gradient["claims"] == ["D02", "D04"] and gradient["checked_examples"] >= 1
    assert cells.pop(("any_axis/gradient", "numpy"))["outcome"] == "not_applicable"
    for cell in cells.values():
        assert cell["outcome"] == "pass"
        assert cell["claims"] == ["T20"]
        assert cell["examples"] >= 1
        assert cell["duration_s"] >= 0
    assert cells[("any_axis", "numpy")]["examples"] == 10  # the quick profile's max_examples
    assert (reports / "index.html").exists()


def test_an_off_by_one_cumsum_fails_with_minimal_example_and_reproducer(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backend)
    assert result.ret == 1
    out = result.stdout.str()
    assert "numpy-cumsum-off-by-one disagrees: tensors/cumsum / any_axis" in out
    assert "A.cumsum(axis=axis): value differs" in out
    assert "minimal example: dtype = 'float32'" in out
    assert "reproducer:" in out and "print(A.cumsum(axis=axis))" in out
    data = json.loads((reports / "results.json").read_text())
    failed = [c for c in data["cells"] if c["outcome"] == "fail"]
    assert {c["case"] for c in failed} == {"notes", "any_axis"}
    generated = next(c for c in failed if c["case"] == "any_axis")
    assert generated["failure"]["example"]["A"].startswith("tensor(")
    assert generated["failure"]["outputs"][0]["problem"] == "value"


def test_a_backend_whose_library_is_missing_is_not_applicable_with_the_reason(
    pytester: pytest.Pytester, cumsum_specs: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing_backend.py"
    missing.write_text("import library_that_is_not_installed\n")
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{missing}:Adapter")
    assert result.ret == 0, result.stdout.str()
    cells = json.loads((reports / "results.json").read_text())["cells"]
    skipped = [c for c in cells if c["outcome"] == "not_applicable"]
    assert len(skipped) == 3  # notes, any_axis and any_axis's gradient cell
    assert {c["backend"] for c in skipped} == {f"{missing}:Adapter"}
    assert all("library_that_is_not_installed is not installed" in c["reason"] for c in skipped)


def test_an_unknown_backend_is_a_usage_error(pytester: pytest.Pytester, cumsum_specs: Path) -> None:
    result, _ = run_suite(pytester, cumsum_specs, "--backend", "no_such_module:Adapter")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no_such_module" in result.stderr.str()


def test_a_bad_spec_stops_the_run_with_one_clear_line(pytester: pytest.Pytester, specs_dir: Path) -> None:
    (specs_dir / "bad.yaml").write_text("title: x\nclaims: [T20]\ncases: [{id: a}]\n")
    result, _ = run_suite(pytester, specs_dir, "--backend", "reference")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "bad.yaml: cases[0]: 'given' is a required property" in err
    assert "Traceback" not in err


def test_no_specs_means_no_tests_collected(pytester: pytest.Pytester, specs_dir: Path) -> None:
    result, _ = run_suite(pytester, specs_dir, "--backend", "reference")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_results_are_the_same_under_xdist(pytester: pytest.Pytester, cumsum_specs: Path) -> None:
    backend = f"reference,{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backend, "-n", "2")
    assert result.ret == 1
    cells = json.loads((reports / "results.json").read_text())["cells"]
    outcomes = {(c["case"], c["backend"]): c["outcome"] for c in cells}
    assert outcomes == {
        ("notes", "reference"): "pass", ("any_axis", "reference"): "pass",
        ("notes", "numpy-cumsum-off-by-one"): "fail", ("any_axis", "numpy-cumsum-off-by-one"): "fail",
        ("any_axis/gradient", "reference"): "pass",
        ("any_axis/gradient", "numpy-cumsum-off-by-one"): "not_applicable",  # no autograd
    }


def test_the_reproducer_alone_shows_the_disagreement(
    pytester: pytest.Pytester, cumsum_specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paste the report's reproducer into python: it prints the wrong value, no suite needed."""
    import subprocess
    import sys

    import numpy as np

    fakelib = ROOT / "tests" / "fakelib"
    monkeypatch.setenv("PYTHONPATH", f"{fakelib}:{ROOT}")
    result, reports = run_suite(pytester, cumsum_specs, "--backend",
                                f"{fakelib / 'faultynp_adapter.py'}:FaultyNpAdapter")
    assert result.ret == 1
    cells = json.loads((reports / "results.json").read_text())["cells"]
    failure = next(c["failure"] for c in cells if c["case"] == "any_axis")
    reproducer = failure["reproducer"]
    assert reproducer.startswith("# faultynp: paste into python\nimport faultynp\n")
    run = subprocess.run([sys.executable, "-c", reproducer], capture_output=True, text=True,
                         env={"PYTHONPATH": str(fakelib)}, check=True, cwd=pytester.path)
    printed = run.stdout.splitlines()[0]
    scope: dict = {"np": np, "faultynp": np}
    exec(reproducer.split("print(")[0].replace("import faultynp", ""), scope)  # the inputs
    correct = np.cumsum(scope["A"], axis=scope["axis"])
    assert printed != str(correct), (printed, correct)
    assert printed == str(correct + 1)


# -- no vacuous pass (issue 9, item 1) -----------------------------------------------------
def write_spec(specs: Path, text: str, name: str = "tensors/cumsum.yaml") -> Path:
    path = specs / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return specs


def cells_of(reports: Path) -> dict[tuple[str, str], dict]:
    cells = json.loads((reports / "results.json").read_text())["cells"]
    return {(c["case"], c["backend"]): c for c in cells}


ALWAYS_RAISES = """
title: cumsum along an axis the tensor does not have
claims: [T20]
cases:
  - id: axis_out_of_range
    given:
      A: {array: {dtype: float32, min_dims: 1, max_dims: 3}}
    code: |
      A.cumsum(axis=7)
    holds:
      - "A.cumsum(axis=7).shape == A.shape"
"""


def test_a_case_whose_examples_all_raise_on_both_sides_fails_as_vacuous(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    specs = write_spec(specs_dir, ALWAYS_RAISES)
    result, reports = run_suite(pytester, specs, "--backend", "reference,numpy")
    assert result.ret == 1, result.stdout.str()
    for backend in ("reference", "numpy"):
        cell = cells_of(reports)[("axis_out_of_range", backend)]
        assert cell["outcome"] == "fail"
        assert (cell["examples"], cell["checked_examples"]) == (10, 0)
        assert cell["failure"]["kind"] == "vacuous"
        assert cell["failure"]["message"].startswith("vacuous: none of the 10 examples")
    assert "vacuous: none of the 10 examples" in result.stdout.str()


def test_a_case_that_claims_the_error_with_raises_is_checked_by_it(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    text = ALWAYS_RAISES.replace('    holds:\n      - "A.cumsum(axis=7).shape == A.shape"\n',
                                 '    raises: ["A.cumsum(axis=7)"]\n')
    result, reports = run_suite(pytester, write_spec(specs_dir, text), "--backend",
                                "reference,numpy")
    assert result.ret == 0, result.stdout.str()
    cells = cells_of(reports)
    for backend in ("reference", "numpy"):
        assert (cells["axis_out_of_range", backend]["outcome"],
                cells["axis_out_of_range", backend]["checked_examples"]) == ("pass", 10)
    # its gradient cell has nothing to differentiate (the program raises before any
    # output): every example is inconclusive, so the cell checks nothing and is not a pass
    gradient = cells["axis_out_of_range/gradient", "reference"]
    assert (gradient["outcome"], gradient["checked_examples"]) == ("not_applicable", 0)
    assert gradient["reason"].startswith("no example had a floating-point output computed from A")
    assert cells["axis_out_of_range/gradient", "numpy"]["outcome"] == "not_applicable"
    assert len(cells) == 4


def test_checked_examples_are_counted_per_cell_and_in_the_summary(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy")
    assert result.ret == 0, result.stdout.str()
    cells = cells_of(reports)
    # numpy has no autograd: its gradient cell runs no example
    gradient = cells.pop(("any_axis/gradient", "numpy"))
    assert (gradient["outcome"], gradient["examples"], gradient["checked_examples"]) == (
        "not_applicable", 0, 0)
    assert ("any_axis/gradient", "reference") in cells
    for cell in cells.values():
        assert cell["checked_examples"] == cell["examples"] >= 1
    header = next(line for line in result.stdout.lines if line.startswith("backend "))
    assert header.split()[-3:] == ["examples", "checked", "ms/example"]
    html = (reports / "index.html").read_text()
    assert "11 ex., 11 checked, 2 cells" in html  # T20: the example and the case


def test_a_while_loop_that_reaches_the_cap_is_an_error_of_the_spec(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    spec = """
title: a loop that never ends
claims: [T20]
cases:
  - id: endless
    given:
      A: {array: {dtype: float32, shape: [2]}}
    code: |
      n = 0
      while n >= 0:
          n = n + 1
      n
    holds:
      - "n > 0"
"""
    result, reports = run_suite(pytester, write_spec(specs_dir, spec), "--backend", "reference")
    assert result.ret == 1, result.stdout.str()
    cell = cells_of(reports)[("endless", "reference")]
    assert cell["outcome"] == "fail"
    assert cell["failure"]["kind"] == "spec_error"
    assert "error of the spec" in cell["failure"]["message"]
    assert "reached the interpreter's cap of 10000 iterations" in cell["failure"]["message"]


def test_a_literal_dtype_in_an_array_draw_runs(pytester: pytest.Pytester, specs_dir: Path) -> None:
    text = CUMSUM.replace("{array: {dtype: dtype, min_dims: 1}}",
                          "{array: {dtype: float32, min_dims: 1}}")
    result, reports = run_suite(pytester, write_spec(specs_dir, text), "--backend",
                                "reference,numpy")
    assert result.ret == 0, result.stdout.str()
    cells = cells_of(reports)
    # the float32 draw has a gradient cell: checked on the reference, numpy has no autograd
    assert cells.pop(("any_axis/gradient", "numpy"))["outcome"] == "not_applicable"
    assert set(cells) == {(case, backend) for case in ("notes", "any_axis", "any_axis/gradient")
                          for backend in ("reference", "numpy")} - {("any_axis/gradient", "numpy")}
    assert {c["outcome"] for c in cells.values()} == {"pass"}


def test_an_error_of_the_suites_own_code_is_not_the_backends() -> None:
    from tensor_conformance import plugin, strategies
    from tensor_conformance.spec import load_spec
    from tests.conftest import SPECS

    spec = load_spec(SPECS / "tensors" / "cumsum.yaml", SPECS)
    cell = plugin.Cell(spec, spec.cases[0], "numpy")
    try:
        strategies._ref("missing", {})  # the suite's own code raises
    except KeyError as exc:
        suite = plugin._error_record(cell, exc)
    assert suite["kind"] == "suite_error"
    assert suite["message"].startswith("error of the suite (not of numpy): KeyError: 'missing' "
                                       "at conformance/strategies.py:")
    import numpy as np
    try:
        np.cumsum(np.zeros(2), axis=3)  # the backend's library raises
    except Exception as exc:
        backend = plugin._error_record(cell, exc)
    assert backend["kind"] == "error"
    assert "error of the suite" not in backend["message"]


# -- claims belong to cases (issue 9, item 7) ----------------------------------------------
def test_each_cell_records_and_the_matrix_blames_only_its_items_claims(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    from tensor_conformance.report.matrix import build_matrix

    text = (CUMSUM.replace("claims: [T20]", "claims: [T20, T21]")
            .replace("  - id: notes\n", "  - id: notes\n    claims: [T20]\n")
            .replace("  - id: any_axis\n", "  - id: any_axis\n    claims: [T21]\n"))
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, write_spec(specs_dir, text), "--backend",
                                f"reference,{backend}")
    assert result.ret == 1, result.stdout.str()
    cells = cells_of(reports)
    assert cells[("notes", "reference")]["claims"] == ["T20"]
    assert cells[("any_axis", "reference")]["claims"] == ["T21"]
    matrix = build_matrix(json.loads((reports / "results.json").read_text()))
    for claim, case in (("T20", "notes"), ("T21", "any_axis")):
        entry = matrix.entry(claim, "numpy-cumsum-off-by-one")
        assert [key[1] for key in entry.cells] == [case]


# -- what compiling hides is shown (issue 9, item 5) ---------------------------------------
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="jax is not installed")

NEGATIVE_POWER = """
title: an integer to a negative integer power raises
claims: [T10]
cases:
  - id: negative_power
    given:
      x: {array: {dtype: int32, shape: [], min_value: 2, max_value: 5}}
      k: {integers: {min_value: -3, max_value: -1}}
    code: |
      y = x * 0 + k
      x ** y
    raises: ["x ** y"]
"""


@needs_jax
def test_a_compiled_program_that_returns_where_eager_raises_fails_with_its_values(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    """JAX raises for 2 ** -1 run eagerly, as the reference does; under jax.jit it returns
    a value.  That is a difference like any other, shown with the compiled values."""
    specs = write_spec(specs_dir, NEGATIVE_POWER, "tensors/power.yaml")
    result, reports = run_suite(pytester, specs, "--backend", "jax")
    assert result.ret == 1, result.stdout.str()
    cell = cells_of(reports)[("negative_power", "jax")]
    assert cell["outcome"] == "fail"
    assert "only when the whole program is compiled" in cell["failure"]["message"]
    outputs = cell["failure"]["outputs"]  # differs from the reference, and from raises:
    assert {(o["name"], o["problem"]) for o in outputs} == {("x ** y", "error")}
    for output in outputs:  # the value the compiled program returned is shown
        assert output["backend"]["error"] is None and output["backend"]["value"] is not None
        assert output["reference"]["error"] is not None

    registry = pytester.path / "registry.yaml"
    registry.write_text("""
- id: jax-jit-int-negative-power
  backend: jax
  spec: tensors/power
  compiled: true
  outputs: ["x ** y"]
  problems: [error]
  reason: under jax.jit an integer to a negative power returns a value
""", encoding="utf-8")
    result, reports = run_suite(pytester, specs, "--backend", "jax", "--divergences",
                                str(registry))
    assert result.ret == 0, result.stdout.str()
    assert cells_of(reports)[("negative_power", "jax")]["outcome"] == "divergence"


@pytest.fixture
def torch_uninstalled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's python finds a ``torch`` that fails to import, as if it were uninstalled."""
    shadow = tmp_path / "no_torch"
    (shadow / "torch").mkdir(parents=True)
    (shadow / "torch" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    monkeypatch.setenv("PYTHONPATH", f"{shadow}:{ROOT}")


def test_a_missing_required_backend_fails_the_run(
    pytester: pytest.Pytester, cumsum_specs: Path, torch_uninstalled: None
) -> None:
    # control: without the option, the missing torch is "not applicable" and the run is green
    result, _ = run_suite(pytester, cumsum_specs, "--backend", "reference,torch", "--no-report")
    assert result.ret == 0, result.stdout.str()
    assert "torch is not installed" in result.stdout.str()
    result, _ = run_suite(pytester, cumsum_specs, "--backend", "reference,torch",
                          "--require-backends", "reference,torch", "--no-report")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--require-backends torch: backend 'torch' is not available: torch is not installed" in err
    assert "Traceback" not in err


def test_required_backends_that_are_available_run(pytester: pytest.Pytester, cumsum_specs: Path) -> None:
    faulty = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{faulty}",
                                "--require-backends", "reference", "--require-backends",
                                "numpy-cumsum-off-by-one")  # an adapter's own name counts too
    assert result.ret == 1  # ran, and the faulty backend failed
    backends = {c["backend"] for c in json.loads((reports / "results.json").read_text())["cells"]}
    assert backends == {"reference", "numpy-cumsum-off-by-one"}


def test_a_required_backend_that_is_not_selected_is_a_usage_error(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, _ = run_suite(pytester, cumsum_specs, "--backend", "reference",
                          "--require-backends", "numpy", "--no-report")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--require-backends numpy: not among the selected backends (reference)" in result.stderr.str()


#: numpy's cumsum registered as diverging for float64: it does not
STALE_ENTRY = """
- id: numpy-cumsum-float64
  backend: numpy
  spec: tensors/cumsum
  cases: [any_axis]
  when: {dtype: [float64]}
  outputs: ["A.cumsum(axis=axis)"]
  reason: a registered difference that no longer reproduces
"""


def test_a_stale_divergence_fails_the_deterministic_run(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    """An entry whose conditions were met but which never diverged is stale, and the
    deterministic (ci) profile fails on it, like a strict xfail that passes."""
    registry = cumsum_specs.parent / "divergences.yaml"
    registry.write_text(STALE_ENTRY, encoding="utf-8")
    result, reports = run_suite(pytester, cumsum_specs, "--divergences", str(registry),
                                "--backend", "numpy", "-k", "any_axis", "--hypothesis-profile=ci")
    assert result.ret == 1, result.stdout.str()
    # -k any_axis selects the case and its gradient cell (numpy has no autograd)
    cells = {c["kind"]: c for c in json.loads((reports / "results.json").read_text())["cells"]}
    assert set(cells) == {"generated", "gradient"}
    assert cells["gradient"]["outcome"] == "not_applicable"
    cell = cells["generated"]
    assert cell["outcome"] == "stale"
    assert cell["divergence"]["id"] == "numpy-cumsum-float64"
    assert "stale divergence: registered divergence numpy-cumsum-float64 did not reproduce" in (
        result.stdout.str())


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_under_eager_a_compiled_case_is_not_applicable_with_the_reason(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    """--eager cannot run a case that checks compiled programs: its cell says so before
    it runs (not a failure of the suite, not a silent skip)."""
    (specs_dir / "autograd").mkdir()
    source = ROOT / "specs" / "autograd" / "control_flow.yaml"
    (specs_dir / "autograd" / "control_flow.yaml").write_text(source.read_text(), encoding="utf-8")
    result, reports = run_suite(pytester, specs_dir, "--backend", "jax", "--eager",
                                "-k", "under_jit")
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert [(c["case"], c["outcome"]) for c in cells] == [("under_jit", "not_applicable")]
    assert cells[0]["reason"] == ("needs compile: --eager was given: cases that check "
                                  "compiled programs do not run")
    assert result.ret == 0, result.stdout.str()
