"""The suite's detection power: run it against every planted library fault and print the
kill matrix.

    python -m tensor_conformance.selftest                       # the whole catalogue, 2 processes
    python -m tensor_conformance.selftest --faults torch-cumsum-exclusive,jax -j 2
    python -m tensor_conformance.selftest --profile quick --json reports/selftest.json

Each fault of ``conformance/fault_catalogue.py`` runs as one pytest process
(``--backend tensor_conformance.faults:FAULT``) on the specs of the claims it must be caught by,
stopping at the first failing cell.  It is *killed* when that cell names one of those
claims and fails on the output the fault breaks.  Then each library runs unmodified, as a
control, on the same specs under the same backend name and divergence registry: it must
show no failure at all, so that every kill is the fault's doing.  Exit status 0 when
every fault is killed and every control passes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensor_conformance import locations
from tensor_conformance.differentiation import gradient_check
from tensor_conformance.faults import Fault, catalogue, failing_outputs
from tensor_conformance.spec import load_all

SPECS = locations.SPECS


@dataclass
class Run:
    """One pytest process: its exit status, failing cells and wall time."""

    exit_status: int
    failures: list[dict[str, Any]]
    cells: int
    wall_s: float
    output: str = ""


@dataclass
class Verdict:
    fault: Fault
    run: Run
    killed: bool = False
    cell: str | None = None
    outputs: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.killed:
            return "killed"
        if self.run.exit_status == 0:
            return "SURVIVED"
        if self.run.failures:
            return "WRONG CATCH"  # failed, but not on the fault's claim and output
        return f"ERROR (exit {self.run.exit_status})"


@functools.cache
def _claims_by_spec(specs_dir: Path) -> dict[str, frozenset[str]]:
    """Each spec's claims, with those its gradient cells check (D02, D04, D06, A06: a
    wrong backward of cumsum is caught by tensors/cumsum's gradient cells)."""
    specs, _ = load_all(specs_dir)
    return {s.id: frozenset(s.claims).union(*(g.claims for c in s.cases
                                              if (g := gradient_check(c)) is not None))
            for s in specs}


def specs_for(claims: Iterable[str], specs_dir: Path = SPECS) -> list[str]:
    """The ids of the specs that check any of these claims."""
    wanted = set(claims)
    return sorted(s for s, checks in _claims_by_spec(specs_dir).items() if wanted & checks)


def run_suite(backend: str, spec_ids: list[str], *, profile: str, stop_at_first: bool,
              extra: tuple[str, ...] = ()) -> Run:
    """pytest conformance/ on one backend and some specs, in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="selftest-") as tmp:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(locations.BASE), os.environ.get("PYTHONPATH", "")) if p)}
        command = [sys.executable, "-m", "pytest", str(locations.PACKAGE),
                   "--backend", backend, "--specs", str(SPECS), "-k", " or ".join(spec_ids),
                   f"--hypothesis-profile={profile}", "--report-dir", tmp, "-q",
                   "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(locations.BASE),
                   *(["--maxfail=1"] if stop_at_first else []), *extra]
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=locations.BASE, env=env, capture_output=True, text=True,
                              check=False)
        wall = time.perf_counter() - start
        path = Path(tmp) / "results.json"
        cells = json.loads(path.read_text())["cells"] if path.exists() else []
    failures = [c for c in cells if c["outcome"] in ("fail", "stale")]
    return Run(proc.returncode, failures, len(cells), round(wall, 1),
               proc.stdout[-4000:] + proc.stderr[-2000:])


def judge(fault: Fault, run: Run) -> Verdict:
    verdict = Verdict(fault, run)
    for cell in run.failures:
        if fault.catches(cell):
            verdict.killed = True
            verdict.cell = f"{cell['spec']}/{cell['case']}"
            verdict.outputs = list(dict.fromkeys(failing_outputs(cell, fault.breaks)))
            return verdict
    if run.failures:
        cell = run.failures[0]
        verdict.cell = f"{cell['spec']}/{cell['case']}"
        failure = cell.get("failure") or {}
        verdict.outputs = list(dict.fromkeys(
            o["name"] for o in failure.get("outputs", []) if o.get("problem")))
    return verdict


def run_fault(fault: Fault, profile: str = "ci") -> Verdict:
    """Run the fault's specs until the first failing cell; when that cell does not name
    the fault's claim and output (a gradient cell, which cites the calculus claims, may
    fail first on a wrong forward operation), run them all: the fault is killed when any
    cell catches it, whatever order pytest runs the cells in."""
    backend, specs = f"tensor_conformance.faults:{fault.id}", specs_for(fault.claims)
    verdict = judge(fault, run_suite(backend, specs, profile=profile, stop_at_first=True))
    if verdict.killed or not verdict.run.failures:
        return verdict
    return judge(fault, run_suite(backend, specs, profile=profile, stop_at_first=False))


def run_control(library: str, faults: list[Fault], profile: str = "ci") -> Run:
    """The unmodified library on every spec its faults ran on."""
    claims = {c for f in faults for c in f.claims}
    return run_suite(library, specs_for(claims), profile=profile, stop_at_first=False)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_matrix(verdicts: list[Verdict], controls: dict[str, Run], wall: float) -> None:
    print(f"\n{'fault':<38} {'claims':<9} {'verdict':<12} {'caught by (cell: output)'}")
    for v in verdicts:
        where = f"{v.cell}: {', '.join(v.outputs)}" if v.cell else "-"
        note = f"  [{v.fault.pending}]" if v.fault.pending and not v.killed else ""
        print(f"{v.fault.id:<38} {','.join(v.fault.claims):<9} {v.status:<12} "
              f"{_shorten(where, 70)} ({v.run.wall_s:.0f}s){note}")
    print()
    for library, run in controls.items():
        state = "passes" if run.exit_status == 0 and not run.failures else (
            f"FAILS: {len(run.failures)} unexplained failure(s) "
            + ", ".join(f"{c['spec']}/{c['case']}" for c in run.failures[:5]))
        print(f"control {library:<8} (no fault, same name and registry): {run.cells} cells, {state}"
              f" ({run.wall_s:.0f}s)")
    killed = sum(v.killed for v in verdicts)
    pending = [v for v in verdicts if not v.killed and v.fault.pending]
    print(f"\nkill rate: {killed}/{len(verdicts)} = {100 * killed / max(len(verdicts), 1):.1f}%"
          + (f" ({len(pending)} not killed are pending: {pending[0].fault.pending})"
             if pending else "")
          + f"; wall time {wall:.0f}s")


def select(names: str | None) -> list[Fault]:
    faults = list(catalogue().values())
    if not names:
        return faults
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    chosen = [f for f in faults if f.id in wanted or f.library in wanted]
    unknown = [n for n in wanted if not any(n in (f.id, f.library) for f in faults)]
    if unknown:
        raise SystemExit(f"unknown fault or library: {', '.join(unknown)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tensor_conformance.selftest",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--faults", help="fault ids or libraries, comma-separated (default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="faults run at once (default 2)")
    parser.add_argument("--profile", default="ci", help="hypothesis profile (default ci)")
    parser.add_argument("--no-controls", action="store_true", help="skip the unmodified runs")
    parser.add_argument("--json", help="also write the matrix as JSON to this file")
    args = parser.parse_args(argv)
    faults = select(args.faults)
    libraries = sorted({f.library for f in faults})
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = [pool.submit(run_fault, f, args.profile) for f in faults]
        control_futures = {} if args.no_controls else {
            lib: pool.submit(run_control, lib, [f for f in faults if f.library == lib],
                             args.profile) for lib in libraries}
        verdicts = []
        for future in futures:
            verdict = future.result()
            verdicts.append(verdict)
            print(f"{verdict.fault.id}: {verdict.status}", flush=True)
        controls = {lib: f.result() for lib, f in control_futures.items()}
    wall = time.perf_counter() - start
    print_matrix(verdicts, controls, wall)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "wall_s": round(wall, 1), "profile": args.profile,
            "faults": [{"id": v.fault.id, "library": v.fault.library, "target": v.fault.target,
                        "what": v.fault.what, "claims": list(v.fault.claims),
                        "status": v.status, "cell": v.cell, "outputs": v.outputs,
                        "wall_s": v.run.wall_s, "pending": v.fault.pending} for v in verdicts],
            "controls": {lib: {"exit_status": r.exit_status, "cells": r.cells,
                               "failures": [f"{c['spec']}/{c['case']}" for c in r.failures],
                               "wall_s": r.wall_s} for lib, r in controls.items()},
        }, indent=1) + "\n")
    for verdict in verdicts:
        if not verdict.killed:
            print(f"\n--- {verdict.fault.id} ({verdict.status}) ---\n{verdict.run.output[-1500:]}")
    ok = all(v.killed for v in verdicts) and all(
        r.exit_status == 0 and not r.failures for r in controls.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
