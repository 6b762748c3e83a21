"""benchmark/suite_speed.py judges the speed issue's targets: met, missed by how much, or
not comparable when the run is not the one the targets are stated for."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("suite_speed", ROOT / "benchmark" / "suite_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "profile": "ci", "backends_selected": "reference,numpy,torch,jax,jax-x64",
        "cold_jax_cache": False,
        "runs": [{"workers": 2, "wall_s": 379.0, "peak_rss_mib": 1536.0},
                 {"workers": 1, "wall_s": 700.0, "peak_rss_mib": 1400.0}],
        "backends": [{"backend": "torch", "per_example_ms": 2.5, "ratio_to_torch": 1.0},
                     {"backend": "numpy", "per_example_ms": 1.1, "ratio_to_torch": 0.44},
                     {"backend": "jax", "per_example_ms": 18.2, "ratio_to_torch": 7.28}],
        "floor": {"per_example_ms": 3.6}, "short_cells": 0}
    return {**base, **changes}


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["target"].split(" <=")[0]: r for r in rows}


def test_targets_say_which_are_met_and_by_how_much_the_others_miss(bench: Any) -> None:
    rows = by_name(bench.targets(data()))
    wall = rows["wall time, warm JAX cache"]
    assert (wall["measured"], wall["met"], wall["miss"]) == (379.0, False, "6.32x the limit")
    assert rows["wall time, cold JAX cache"]["measured"] is None  # a warm run says nothing of it
    assert rows["JAX per example, times torch's"]["met"] is False
    assert rows["JAX per example, times torch's"]["miss"] == "2.43x the limit"
    torch_floor = rows["torch per example, times the draw floor"]
    assert (torch_floor["measured"], torch_floor["met"]) == (0.69, True)
    assert rows["peak memory of one process"]["met"] is True
    assert rows["generated cells that ran fewer than 100 examples"]["met"] is True


def test_targets_judge_the_run_with_the_most_workers_and_a_cold_cache_run_its_own_limit(
        bench: Any) -> None:
    rows = by_name(bench.targets(data(cold_jax_cache=True, runs=[
        {"workers": 1, "wall_s": 50.0, "peak_rss_mib": 100.0},
        {"workers": 2, "wall_s": 85.0, "peak_rss_mib": 2100.0}])))
    assert rows["wall time, cold JAX cache"]["met"] is True
    assert rows["wall time, warm JAX cache"]["measured"] is None
    assert rows["peak memory of one process"]["miss"] == "1.03x the limit"


def test_a_cell_short_of_examples_misses_its_target_by_the_count(bench: Any) -> None:
    rows = by_name(bench.targets(data(short_cells=3)))
    assert rows["generated cells that ran fewer than 100 examples"]["miss"] == "3 over"
    cell = {"spec": "tensors/cumsum", "case": "axis", "backend": "jax"}
    cells = {"cells": [
        {**cell, "kind": "generated", "outcome": "pass", "examples": 99},
        {**cell, "kind": "generated", "outcome": "pass", "examples": 100},
        {**cell, "kind": "generated", "outcome": "not_applicable", "examples": 0},
        {**cell, "kind": "gradient", "outcome": "pass", "examples": 25}]}
    assert bench.short_cells(cells) == ["tensors/cumsum/axis-jax: pass, 99 examples"]


def test_another_selection_is_not_comparable(bench: Any) -> None:
    for changes in ({"backends_selected": "torch"}, {"profile": "quick"},
                    {"runs": [{"workers": 1, "wall_s": 10.0, "peak_rss_mib": 10.0}]}):
        rows = bench.targets(data(**changes))
        assert all(r["met"] is None and not r["comparable"] for r in rows)
