"""One draw for every backend (conformance/corpus.py): a generated case's examples are
drawn once and replayed on every backend; a failure is searched and shrunk on the
backend that failed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conformance.corpus import CorpusExample
from tests.conftest import CUMSUM, ROOT
from tests.test_suite_runs import run_suite


@pytest.fixture
def cumsum_specs(specs_dir: Path) -> Path:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    return specs_dir


def generated(reports: Path) -> dict[str, dict]:
    data = json.loads((reports / "results.json").read_text())
    return {c["backend"]: c for c in data["cells"] if c["kind"] == "generated"}


def test_every_backend_replays_the_examples_drawn_once(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy,torch")
    assert result.ret == 0, result.stdout.str()
    assert json.loads((reports / "results.json").read_text())["run"]["draws"] == "once per case"
    cells = generated(reports)
    assert set(cells) == {"reference", "numpy", "torch"}
    for cell in cells.values():
        assert cell["outcome"] == "pass"
        # the quick profile's 10 examples, every one replayed, none drawn by the cell
        assert cell["examples"] == cell["replayed_examples"] == 10
    # one worker runs the three cells: the first draws the corpus, the others reuse it
    drew = [b for b, c in cells.items() if c["corpus_draw_s"] > 0]
    assert len(drew) == 1, cells


def test_draw_per_cell_and_a_database_profile_draw_in_every_cell(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    result, reports = run_suite(pytester, cumsum_specs, "--backend", "reference,numpy",
                                "--draw-per-cell")
    assert result.ret == 0, result.stdout.str()
    assert json.loads((reports / "results.json").read_text())["run"]["draws"] == "per cell"
    for cell in generated(reports).values():
        assert cell["examples"] == 10 and cell["replayed_examples"] == 0
        assert cell["corpus_draw_s"] == 0


def test_a_failure_is_searched_and_shrunk_on_the_backend_that_failed(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", f"reference,{backend}")
    assert result.ret == 1
    out = result.stdout.str()
    # hypothesis's own report of the shrunk example (its search ran on this backend)
    assert "Falsifying example" in out or "Failing test case" in out
    cells = generated(reports)
    assert cells["reference"]["outcome"] == "pass"
    failed = cells["numpy-cumsum-off-by-one"]
    assert failed["outcome"] == "fail"
    # the simplest float input there is: one element
    assert failed["failure"]["example"]["A"] in ("tensor([0.0], dtype=float32)",
                                                 "tensor([0.0], dtype=float64)")
    assert "shrunk" not in failed["failure"]
    assert failed["examples"] > failed["replayed_examples"] >= 1


def test_a_failure_the_search_cannot_meet_again_is_shown_unshrunk(
    pytester: pytest.Pytester, cumsum_specs: Path
) -> None:
    backend = f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumWrongOnce"
    result, reports = run_suite(pytester, cumsum_specs, "--backend", backend, "-k", "test_case")
    assert result.ret == 1, result.stdout.str()
    failed = generated(reports)["numpy-cumsum-wrong-once"]
    assert failed["outcome"] == "fail"
    assert failed["failure"]["shrunk"] is False
    assert "shown as drawn, not shrunk" in failed["failure"]["message"]
    assert "value differs" in failed["failure"]["message"]
    assert failed["failure"]["reproducer"]


def test_each_cell_gets_its_own_copy_of_the_inputs() -> None:
    drawn = np.array([1.0, 2.0])
    example = CorpusExample({"A": drawn, "axis": 0}, 0, {})
    first = example.inputs()
    first["A"] += 1  # a backend that writes into what it was given
    assert example.inputs()["A"].tolist() == [1.0, 2.0]
    assert first["axis"] == 0 and first["A"] is not drawn
