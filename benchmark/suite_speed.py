"""How long the whole suite takes per backend, per example: the speed targets live here,
not in timed tests.

    python benchmark/suite_speed.py                    # every built-in backend, ci profile
    python benchmark/suite_speed.py --backend torch,jax --cold-jax-cache

Each backend runs alone (``pytest conformance/ --backend NAME``) so its time is its
own; per-example cost is the sum of its cells' durations over the examples they ran
(hypothesis and the reference oracle included, as a user pays them).  The table and
``reports/benchmark.json`` give the wall time, examples, per-example milliseconds,
each backend's ratio to torch, and for JAX how many examples ran compiled whole.
Targets (design notes): JAX within 3x of torch per example.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = "reference,numpy,torch,jax,jax-x64"


def run_backend(name: str, profile: str, workers: str, env: dict[str, str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", str(ROOT / "conformance"), "--backend", name,
             f"--hypothesis-profile={profile}", "-n", workers, "-q", "-p", "no:cacheprovider",
             "--report-dir", tmp], check=False, cwd=ROOT, env=env, capture_output=True,
            text=True)
        wall = time.perf_counter() - start
        results = json.loads((Path(tmp) / "results.json").read_text())
    cells = [c for c in results["cells"] if c["backend"] == name]
    generated = [c for c in cells if c["kind"] == "generated" and c["examples"]]
    examples = sum(c["examples"] for c in generated)
    seconds = sum(c["duration_s"] for c in generated)
    return {
        "backend": name, "exit_status": proc.returncode, "wall_s": round(wall, 1),
        "cells": len(cells), "generated_examples": examples,
        "per_example_ms": round(1000 * seconds / examples, 2) if examples else None,
        "staged_examples": sum(c.get("staged_examples", 0) for c in generated),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=DEFAULT)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("-n", dest="workers", default="0", help="pytest-xdist workers per backend")
    parser.add_argument("--cold-jax-cache", action="store_true",
                        help="start JAX from an empty persistent compilation cache (as CI does)")
    parser.add_argument("--out", default=str(ROOT / "reports" / "benchmark.json"))
    args = parser.parse_args()
    env = dict(os.environ)
    if args.cold_jax_cache:
        env["TENSOR_CONFORMANCE_JAX_CACHE"] = tempfile.mkdtemp(prefix="jax-cache-")
    rows = [run_backend(b, args.profile, args.workers, env) for b in args.backend.split(",")]
    torch_ms = next((r["per_example_ms"] for r in rows if r["backend"] == "torch"), None)
    print(f"{'backend':<12}{'exit':>5}{'wall s':>9}{'examples':>10}{'ms/example':>12}"
          f"{'x torch':>9}{'compiled':>10}")
    for r in rows:
        ms = r["per_example_ms"]
        r["ratio_to_torch"] = round(ms / torch_ms, 2) if ms and torch_ms else None  # type: ignore[operator]
        print(f"{r['backend']:<12}{r['exit_status']:>5}{r['wall_s']:>9}{r['generated_examples']:>10}"
              f"{ms!s:>12}{r['ratio_to_torch']!s:>9}{r['staged_examples']:>10}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"profile": args.profile, "cold_jax_cache": args.cold_jax_cache,
                               "workers": args.workers, "backends": rows}, indent=2) + "\n")
    print(f"written: {out}")
    return max(int(r["exit_status"]) for r in rows)  # type: ignore[call-overload]


if __name__ == "__main__":
    raise SystemExit(main())
