"""Scale-out: shards of one suite (per backend, per spec group) run on different machines
or CI jobs, then merged into one report, give the cells a single run gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CUMSUM, ROOT
from tests.test_suite_runs import run_suite

TRANSPOSE = """
title: transpose swaps the axes of a matrix
claims: [L04]
cases:
  - id: matrix
    given:
      A: {array: {dtype: float32, min_dims: 2, max_dims: 2}}
    code: |
      A.T
    holds:
      - "A.T.shape == (A.shape[1], A.shape[0])"
"""


def cells(path: Path) -> dict[tuple[str, str, str], tuple[str, int]]:
    data = json.loads(path.read_text())
    return {(c["spec"], c["case"], c["backend"]): (c["outcome"], c["examples"])
            for c in data["cells"]}


def test_shards_by_backend_and_by_spec_merge_into_the_single_runs_report(
    pytester: pytest.Pytester, specs_dir: Path
) -> None:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    (specs_dir / "tensors" / "transpose.yaml").write_text(TRANSPOSE, encoding="utf-8")
    result, _ = run_suite(pytester, specs_dir, "--backend", "reference,torch",
                              "--report-dir", str(pytester.path / "whole"))
    assert result.ret == 0, result.stdout.str()
    shards = []
    for n, args in enumerate([("--backend", "reference"),
                              ("--backend", "torch", "-k", "cumsum"),
                              ("--backend", "torch", "-k", "not cumsum")]):
        out = pytester.path / f"shard{n}"
        result, _ = run_suite(pytester, specs_dir, *args, "--report-dir", str(out))
        assert result.ret == 0, result.stdout.str()
        shards.append(str(out / "results.json"))
    merged = pytester.path / "merged"
    subprocess.run([sys.executable, "-m", "tensor_conformance.report", "merge", *shards, "-o",
                    str(merged)], cwd=ROOT, check=True)
    # the same cells, outcomes and example counts (the draws are deterministic)
    assert cells(merged / "results.json") == cells(pytester.path / "whole" / "results.json")
    assert len(cells(merged / "results.json")) == 2 * (1 + 1 + 1 + 2)  # examples, cases, gradients
    assert (merged / "index.html").exists()
