"""The suite as a distribution: one import name, its data inside, runnable from any folder,
and inert in test runs that do not ask for it (issue: installable beside anything)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPECS


def _run(args: list[str], cwd: Path, pythonpath: list[Path],
         **variables: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath), **variables}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False, timeout=600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = _run(["-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)], out, [])
    assert proc.returncode == 0, proc.stderr
    (found,) = out.glob("tensor_conformance-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed into a folder of its own (the dependencies are this venv's)."""
    target = tmp_path_factory.mktemp("site")
    proc = _run(["-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                target, [])
    assert proc.returncode == 0, proc.stderr
    return target


def test_the_wheel_installs_one_package_with_every_spec_inside(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"tensor_conformance"}  # nothing named conformance or adapters
    shipped = {n.removeprefix("tensor_conformance/specs/") for n in names
               if n.startswith("tensor_conformance/specs/")}
    in_checkout = {p.relative_to(SPECS).as_posix() for p in SPECS.rglob("*")
                   if p.is_file() and p.suffix in (".yaml", ".md")}
    assert shipped == in_checkout  # a new specs/ folder must be listed in pyproject.toml
    assert {"tensor_conformance/spec.schema.json", "tensor_conformance/report/results.schema.json",
            "tensor_conformance/report/templates/report.html.j2",
            "tensor_conformance/adapters/reference/ops.py"} <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]" in text and "tensor_conformance.activation" in text


def test_pyargs_runs_the_suite_from_any_folder_with_an_adapter_written_there(
        installed: Path, tmp_path: Path) -> None:
    (tmp_path / "mylib_conformance.py").write_text(
        "from tensor_conformance.adapters.numpy_backend import NumpyAdapter\n\n\n"
        "class Adapter(NumpyAdapter):\n    name = 'mylib'\n", encoding="utf-8")
    check = _run(["-c", "import tensor_conformance; print(tensor_conformance.__file__)"],
                 tmp_path, [installed, tmp_path])
    assert Path(check.stdout.strip()).is_relative_to(installed), check.stdout + check.stderr
    for name in ("conformance", "adapters"):
        assert _run(["-c", f"import {name}"], tmp_path, [installed]).returncode != 0
    proc = _run(["-m", "pytest", "--pyargs", "tensor_conformance", "--backend",
                 "reference,mylib_conformance:Adapter", "-k", "sum_axis",
                 "--hypothesis-profile=quick", "-p", "no:cacheprovider", "-q"],
                tmp_path, [installed, tmp_path])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "reports" / "results.json").read_text())
    outcomes = {(c["backend"], c["outcome"]) for c in data["cells"]}
    assert ("mylib", "pass") in outcomes and ("reference", "pass") in outcomes
    assert (tmp_path / "reports" / "index.html").is_file()


def test_the_installed_plugin_leaves_other_test_runs_alone(installed: Path, tmp_path: Path) -> None:
    """A library's own tests, run where tensor-conformance is installed: no specs or
    backends loaded, the library's hypothesis profiles untouched, no report written.
    The settings its tests see are those of the same run with the plugin switched off
    (hypothesis itself loads a profile named 'ci' when the CI variable is set)."""
    (tmp_path / "conftest.py").write_text(
        "from hypothesis import settings\n"
        "settings.register_profile('ci', max_examples=3)\n", encoding="utf-8")
    (tmp_path / "test_mine.py").write_text(
        "import os, sys\n"
        "from hypothesis import given, settings, strategies as st\n\n\n"
        "@given(st.integers())\n"
        "def test_mine(x):\n"
        "    with open(os.environ['SEEN'], 'w') as out:\n"
        "        out.write(repr(settings()))\n"
        "    assert 'tensor_conformance.plugin' not in sys.modules\n"
        "    assert 'torch' not in sys.modules and 'jax' not in sys.modules\n", encoding="utf-8")
    seen = {}
    for label, extra in (("with", []), ("without", ["-p", "no:tensor_conformance"])):
        proc = _run(["-m", "pytest", "-p", "no:cacheprovider", "-q", *extra, "test_mine.py"],
                    tmp_path, [installed], SEEN=str(tmp_path / f"seen-{label}"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        seen[label] = (tmp_path / f"seen-{label}").read_text()
    assert seen["with"] == seen["without"]
    assert not (tmp_path / "reports").exists()
    # the options exist, so that `--pyargs tensor_conformance --backend X` parses anywhere
    assert "--backend=NAME" in _run(["-m", "pytest", "--help"], tmp_path, [installed]).stdout


def test_a_checkouts_conformance_folder_runs_the_suite_with_an_installed_copy_imported(
        installed: Path, tmp_path: Path) -> None:
    """tox installs the package and runs `pytest <checkout>/conformance`: the imported
    tensor_conformance is the installed copy, whose folder is not the path collected;
    collecting the checkout's folder still switches the suite on (its conftest)."""
    proc = _run(["-m", "pytest", str(ROOT / "conformance"), "--backend", "numpy", "-k", "cumsum",
                 "--hypothesis-profile=quick", "-p", "no:cacheprovider", "-q", "--report-dir",
                 str(tmp_path / "reports")], tmp_path, [installed])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert {c["spec"] for c in data["cells"]} == {"tensors/cumsum"}
    assert any(c["outcome"] == "pass" for c in data["cells"])
