"""Where the suite's time goes: the speed targets live here, not in timed tests.

    python benchmark/suite_speed.py                       # default backends, ci profile, -n 2 and -n 1
    python benchmark/suite_speed.py --workers 2 --cold-jax-cache
    python benchmark/suite_speed.py --compare reports/benchmark-before.json

Runs the whole suite (``pytest conformance/ -n W``) once per worker count and reads
its results.json.  Printed and written to ``reports/benchmark.json``:

* per run: wall seconds, exit status, peak memory of the largest process (a worker);
* per backend (from the run with the most workers): generated and gradient examples;
  the seconds its cells spent in each phase (results.json ``seconds``: the reference,
  the backend, compiling, comparing, the gradient oracles; drawing the shared corpus;
  the rest is hypothesis and pytest); milliseconds per example and the ratio to torch;
* the floor: hypothesis drawing every generated case's inputs with an empty body
  (no reference, no backend), in this process, per example.

* the speed issue's targets (``TARGETS``), each with what was measured, whether it is
  met and, where it is not, by how much it misses; judged on the run with the most
  workers, and only for the run the targets are stated for (the five default backends,
  the ci profile, ``-n 2``): any other selection says "not comparable".

``--compare OLD.json`` prints each figure's ratio new/old.  ``--draw-per-cell`` (passed
on to pytest) measures the suite as it ran before shared corpora.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = "reference,numpy,torch,jax,jax-x64"
PHASES = ("draw", "reference", "backend", "compile", "compare", "gradient_oracles", "other")


def run_suite(backends: str, profile: str, workers: int, env: dict[str, str],
              extra: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One whole-suite run: its figures and its results.json."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pytest", str(ROOT / "conformance"), "--backend",
                   backends, f"--hypothesis-profile={profile}", "-n", str(workers), "-q",
                   "-p", "no:cacheprovider", "--report-dir", tmp, *extra]
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # wait4: this run's own resource use, its workers included (they are waited for)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        results = json.loads((Path(tmp) / "results.json").read_text())
    figures = {"workers": workers, "wall_s": round(wall, 1),
               "exit_status": os.waitstatus_to_exitcode(status),
               "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
               "draws": results["run"].get("draws", "per cell"),
               # what made the exit status non-zero, so a slow run that failed says why
               "failed_cells": [f"{c['spec']}/{c['case']}-{c['backend']}: {c['outcome']}"
                                for c in results["cells"]
                                if c["outcome"] in ("fail", "stale", "crash", "timeout")]}
    return figures, results


def by_backend(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for cell in results["cells"]:
        if cell["kind"] == "example":
            continue
        row = rows.setdefault(cell["backend"], {
            "backend": cell["backend"], "generated_examples": 0, "gradient_examples": 0,
            "staged_examples": 0, "seconds": defaultdict(float), "total_s": 0.0})
        row[f"{cell['kind']}_examples"] += cell["examples"]
        row["staged_examples"] += cell.get("staged_examples", 0)
        seconds = dict(cell.get("seconds", {}))
        corpus_reference = seconds.pop("corpus_reference", 0.0)
        draw = cell.get("corpus_draw_s", 0.0)
        phases = {"draw": draw - corpus_reference,
                  "reference": seconds.pop("reference", 0.0) + corpus_reference, **seconds}
        phases["other"] = max(0.0, cell["duration_s"] - sum(phases.values()))
        for phase, value in phases.items():
            row["seconds"][phase] += value
        row["total_s"] += cell["duration_s"]
    out = []
    for row in rows.values():
        examples = row["generated_examples"] + row["gradient_examples"]
        if not examples:
            continue
        row["seconds"] = {p: round(row["seconds"].get(p, 0.0), 2) for p in PHASES}
        row["total_s"] = round(row["total_s"], 2)
        # what the backend costs per example, the shared corpus's drawing excluded
        row["per_example_ms"] = round(1000 * (row["total_s"] - row["seconds"]["draw"])
                                      / examples, 2)
        out.append(row)
    torch_ms = next((r["per_example_ms"] for r in out if r["backend"] == "torch"), None)
    for row in out:
        row["ratio_to_torch"] = round(row["per_example_ms"] / torch_ms, 2) if torch_ms else None
    return out


#: the speed issue's targets: (name, limit, unit).  "draw floor": the per-example cost of
#: hypothesis drawing the inputs with an empty body (``floor``).  Detection (the
#: self-test's kill rate, the explore seeds) is not measured here: see the README.
TARGETS: tuple[tuple[str, float, str], ...] = (
    ("wall time, warm JAX cache", 60.0, "s"),
    ("wall time, cold JAX cache", 90.0, "s"),
    ("JAX per example, times torch's", 3.0, "x"),
    ("numpy per example, times the draw floor", 1.5, "x"),
    ("torch per example, times the draw floor", 1.5, "x"),
    ("peak memory of one process", 2048.0, "MiB"),
    ("generated cells that ran fewer than 100 examples", 0.0, "cells"),
)
#: the run the targets are stated for
TARGET_RUN = {"backends": DEFAULT, "profile": "ci", "workers": 2}


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value, ``met``, and ``miss`` (measured / limit, or
    the excess where the limit is 0); ``met`` None where this run cannot measure it."""
    run = max(data["runs"], key=lambda r: r["workers"])
    comparable = (data["backends_selected"] == TARGET_RUN["backends"]
                  and data["profile"] == TARGET_RUN["profile"]
                  and run["workers"] == TARGET_RUN["workers"])
    rows = {r["backend"]: r for r in data["backends"]}
    floor_ms = data["floor"]["per_example_ms"]

    def per_floor(backend: str) -> float | None:
        row = rows.get(backend)
        return round(row["per_example_ms"] / floor_ms, 2) if row and floor_ms else None

    cold = bool(data["cold_jax_cache"])
    measured: dict[str, float | None] = {
        "wall time, warm JAX cache": None if cold else run["wall_s"],
        "wall time, cold JAX cache": run["wall_s"] if cold else None,
        "JAX per example, times torch's": rows["jax"]["ratio_to_torch"] if "jax" in rows else None,
        "numpy per example, times the draw floor": per_floor("numpy"),
        "torch per example, times the draw floor": per_floor("torch"),
        "peak memory of one process": run["peak_rss_mib"],
        "generated cells that ran fewer than 100 examples": data.get("short_cells"),
    }
    out = []
    for name, limit, unit in TARGETS:
        value = measured[name]
        met = None if value is None or not comparable else value <= limit
        miss = None
        if met is False:
            miss = f"{value / limit:.2f}x the limit" if limit else f"{value:g} over"
        out.append({"target": f"{name} <= {limit:g} {unit}", "measured": value, "met": met,
                    "miss": miss, "comparable": comparable})
    return out


def short_cells(results: dict[str, Any], minimum: int = 100) -> list[str]:
    """Generated cells that ran to an outcome with fewer than ``minimum`` examples (a
    cell that is not applicable runs none, and is not counted), each as
    ``spec/case-backend: outcome, N examples``."""
    return [f"{c['spec']}/{c['case']}-{c['backend']}: {c['outcome']}, {c['examples']} examples"
            for c in results["cells"] if c["kind"] == "generated"
            and c["outcome"] in ("pass", "functional", "divergence") and c["examples"] < minimum]


def floor(profile: str) -> dict[str, Any]:
    """Hypothesis drawing every generated case's inputs with an empty body."""
    sys.path.insert(0, str(ROOT))
    from hypothesis import settings

    from tensor_conformance import corpus
    from tensor_conformance.activation import register_profiles
    from tensor_conformance.spec import load_all

    register_profiles()
    settings.load_profile(profile)
    specs, _ = load_all(ROOT / "specs")
    examples, start = 0, time.perf_counter()
    for spec in specs:
        for case in spec.cases:
            drawn, _ = corpus._draw(case, ())
            examples += len(drawn)
    seconds = time.perf_counter() - start
    return {"examples": examples, "seconds": round(seconds, 2),
            "per_example_ms": round(1000 * seconds / examples, 3) if examples else None}


def report(data: dict[str, Any]) -> None:
    for run in data["runs"]:
        print(f"-n {run['workers']}: {run['wall_s']} s wall, exit {run['exit_status']}, "
              f"peak {run['peak_rss_mib']} MiB in one process, draws {run['draws']}")
        for cell in run.get("failed_cells", []):
            print(f"  {cell}")
    print(f"floor: {data['floor']['per_example_ms']} ms per example to draw "
          f"({data['floor']['examples']} examples in {data['floor']['seconds']} s)")
    print(f"{'backend':<12}{'examples':>9}{'ms/ex':>8}{'x torch':>8}"
          + "".join(f"{p[:9]:>10}" for p in PHASES))
    for row in data["backends"]:
        examples = row["generated_examples"] + row["gradient_examples"]
        print(f"{row['backend']:<12}{examples:>9}{row['per_example_ms']:>8}"
              f"{row['ratio_to_torch']!s:>8}"
              + "".join(f"{row['seconds'][p]:>10}" for p in PHASES))
    for cell in data.get("short_cell_names", []):
        print(f"  fewer than 100 examples: {cell}")


def report_targets(rows: list[dict[str, Any]]) -> None:
    print("targets:")
    for row in rows:
        verdict = ("not measured by this run" if row["measured"] is None
                   else "not comparable (another selection than the targets')"
                   if not row["comparable"] else "met" if row["met"] else f"missed: {row['miss']}")
        print(f"  {row['target']:<58} measured {row['measured']!s:>8}  {verdict}")


def compare(new: dict[str, Any], old: dict[str, Any]) -> None:
    def ratio(a: Any, b: Any) -> str:
        return f"{a / b:.2f}" if isinstance(a, int | float) and isinstance(b, int | float) and b \
            else "-"
    print("ratios new/old:")
    olds = {r["workers"]: r for r in old["runs"]}
    for run in new["runs"]:
        if run["workers"] in olds:
            o = olds[run["workers"]]
            print(f"  -n {run['workers']}: wall {ratio(run['wall_s'], o['wall_s'])}, "
                  f"peak memory {ratio(run['peak_rss_mib'], o['peak_rss_mib'])}")
    old_rows = {r["backend"]: r for r in old["backends"]}
    for row in new["backends"]:
        if row["backend"] in old_rows:
            o = old_rows[row["backend"]]
            print(f"  {row['backend']:<12} ms/example {ratio(row['per_example_ms'], o['per_example_ms'])}"
                  f", total {ratio(row['total_s'], o['total_s'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=DEFAULT)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--workers", default="2,1", help="pytest-xdist worker counts, one run each")
    parser.add_argument("--cold-jax-cache", action="store_true",
                        help="start JAX from an empty persistent compilation cache (as CI does)")
    parser.add_argument("--draw-per-cell", action="store_true",
                        help="passed on to pytest: every cell draws its own examples")
    parser.add_argument("--compare", metavar="OLD.json", help="print ratios against an earlier run")
    parser.add_argument("--out", default=str(ROOT / "reports" / "benchmark.json"))
    args = parser.parse_args()
    env = dict(os.environ)
    extra = ["--draw-per-cell"] if args.draw_per_cell else []
    runs, results = [], None
    for workers in sorted({int(w) for w in args.workers.split(",")}, reverse=True):
        if args.cold_jax_cache:
            env["TENSOR_CONFORMANCE_JAX_CACHE"] = tempfile.mkdtemp(prefix="jax-cache-")
        figures, found = run_suite(args.backend, args.profile, workers, env, extra)
        runs.append(figures)
        results = results or found  # the most workers: the run the targets are about
    assert results is not None
    data = {"profile": args.profile, "backends_selected": args.backend,
            "cold_jax_cache": args.cold_jax_cache, "runs": runs,
            "backends": by_backend(results), "floor": floor(args.profile),
            "short_cells": len(short := short_cells(results)), "short_cell_names": short}
    data["targets"] = targets(data)
    report(data)
    report_targets(data["targets"])
    if args.compare:
        compare(data, json.loads(Path(args.compare).read_text()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"written: {out}")
    return max(int(r["exit_status"]) for r in runs)


if __name__ == "__main__":
    raise SystemExit(main())
