"""Interrupted and partial runs are written as such (conformance/completeness.py):
``run.complete: false`` with how many cells of how many, at the top of the page;
``report diff`` counts cells that disappeared or appeared and exits 1; ``merge`` keeps
the flag."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tensor_conformance.report import merge, render_html
from tensor_conformance.report.__main__ import main
from tests.conftest import ROOT
from tests.test_isolation import three_specs  # noqa: F401  (a fixture)
from tests.test_report import make_cell, make_results

HANGER = f"{ROOT / 'tests' / 'crashing_adapters.py'}:HangsOnSum"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["no-xdist-option", "n2"])
def test_sigterm_writes_a_partial_report_that_says_so(
    tmp_path: Path, three_specs: Path, workers: list[str]  # noqa: F811
) -> None:
    reports, marker = tmp_path / "reports", tmp_path / "hanging"
    env = {**os.environ, "HANG_MARKER": str(marker), "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(ROOT / "conformance"), "--specs", str(three_specs),
         "--report-dir", str(reports), "--hypothesis-profile=quick", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT), "--backend", f"reference,{HANGER}",
         "-p", "no:randomly", *workers],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        while not marker.exists() and run.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert marker.exists(), "the hanging cell never started"
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, out
    data = json.loads((reports / "results.json").read_text())
    assert data["run"]["complete"] is False
    # 3 specs x (any_axis and its gradient cell) x 2 backends
    assert data["run"]["selected_cells"] == 12
    assert data["run"]["incomplete_reason"] == "interrupted by SIGTERM"
    missing = {(m["spec"], m["case"], m["backend"]) for m in data["run"]["missing_cells"]}
    assert ("tensors/sum_axis", "any_axis", "numpy-hangs") in missing
    assert len(missing) + len(data["cells"]) == 12
    assert "PARTIAL RUN" in out
    page = (reports / "index.html").read_text()
    assert "Partial run" in page
    assert "Every cell passed" not in page


def _partial(full: dict[str, Any]) -> dict[str, Any]:
    partial = copy.deepcopy(full)
    gone = partial["cells"].pop()
    partial["run"].update(complete=False, selected_cells=len(full["cells"]),
                          missing_cells=[{k: gone[k] for k in ("spec", "case", "backend")}],
                          incomplete_reason="interrupted (Ctrl-C)")
    return partial


@pytest.fixture
def full() -> dict[str, Any]:
    return make_results([make_cell("tensors/arange", "numpy"), make_cell("tensors/cumsum", "numpy"),
                         make_cell("tensors/cumsum", "torch")])


def test_a_partial_page_never_says_every_cell_passed(full: dict[str, Any]) -> None:
    page = render_html(_partial(full))
    assert "Every cell passed" not in page
    assert "Partial run" in page and "2 of 3 selected cells have an outcome" in page
    assert "interrupted (Ctrl-C)" in page
    assert "Every cell passed" in render_html(full)


def test_diff_counts_cells_that_disappeared_and_exits_1(
    full: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "full.json", tmp_path / "partial.json"
    old.write_text(json.dumps(full))
    new.write_text(json.dumps(_partial(full)))
    assert main(["diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "1 disappeared, 0 appeared" in out
    assert "partial.json is a partial run: 1 of 3 selected cells have no outcome" in out
    assert main(["diff", str(new), str(old)]) == 1
    assert "0 disappeared, 1 appeared" in capsys.readouterr().out


def test_merge_keeps_the_partial_flag(full: dict[str, Any]) -> None:
    partial = _partial(full)
    other = make_results([make_cell("tensors/arange", "torch")])
    merged = merge([other, partial])
    assert merged["run"]["complete"] is False
    assert merged["run"]["missing_cells"] == partial["run"]["missing_cells"]
    assert "interrupted (Ctrl-C)" in merged["run"]["incomplete_reason"]
    # a later run that has the missing cell completes the merge
    assert merge([partial, full])["run"]["complete"] is True


def test_collect_only_lists_the_cells_and_leaves_the_last_report_alone(
    pytester: pytest.Pytester, three_specs: Path  # noqa: F811
) -> None:
    """``--collect-only`` runs nothing: no "PARTIAL RUN" line, exit 0, and the previous
    run's report is not overwritten by an empty partial one."""
    from tests.test_suite_runs import run_suite

    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / "results.json").write_text('{"previous": "run"}', encoding="utf-8")
    result, _ = run_suite(pytester, three_specs, "--backend", "reference", "--collect-only",
                          "-q")
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "test_case[tensors/cumsum/any_axis-reference]" in out
    assert "PARTIAL RUN" not in out
    assert (reports / "results.json").read_text(encoding="utf-8") == '{"previous": "run"}'
