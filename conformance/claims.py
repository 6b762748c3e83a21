"""A checklist for one backend: every claim, what can run there, what cannot and why.

    python -m tensor_conformance.claims --backend NAME [--specs DIR] [--divergences PATH ...]

Before running anything, for the backend named as ``--backend`` names it (a built-in,
``array-api:MODULE``, ``package.module:Class`` or ``path/to/file.py:Class``), it lists
claim by claim every spec item (the notes' example or a generated case) that checks the
claim and whether its cell can run: ``runs``, or ``not applicable`` with the reason the
run would give (the library is missing, a capability is missing, an adapter method is
missing: the method to implement is named), and the registered divergences of that
cell.  The summary counts cells and the claims that no runnable cell checks.  Exit
status 0, or 2 on a usage error (an unknown backend, a bad spec or registry).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tensor_conformance import divergences, locations
from tensor_conformance.adapters import registry
from tensor_conformance.adapters.protocol import Adapter
from tensor_conformance.adapters.registry import Unavailable
from tensor_conformance.engine import missing_capability
from tensor_conformance.requirements import missing_method
from tensor_conformance.spec import Case, Claim, Example, Spec, SpecError, load_all


@dataclass(frozen=True)
class Verdict:
    """Whether one spec item can run on the backend, and why not."""

    spec: str
    item: str
    kind: str
    runs: bool
    reason: str | None
    divergences: tuple[str, ...] = ()


def verdict(spec: Spec, item: Example | Case, backend: Adapter | Unavailable,
            reg: divergences.Registry, name: str) -> Verdict:
    kind = "example" if isinstance(item, Example) else "generated"
    if isinstance(backend, registry.Broken):
        reason: str | None = "the adapter is broken (above)"
    elif isinstance(backend, Unavailable):
        reason = f"library missing: {backend.reason}"
    else:
        reason = missing_capability(item.needs, backend) or missing_method(item, backend)
    entries = tuple(e.id for e in reg.for_cell(spec.id, item.id, name))
    return Verdict(spec.id, item.id, kind, reason is None, reason, entries)


def checklist(specs: list[Spec], claims: dict[str, Claim], backend: Adapter | Unavailable,
              reg: divergences.Registry) -> tuple[dict[str, list[Verdict]], list[Verdict]]:
    """Claim id -> the verdicts of the items that check it; and every item's verdict."""
    by_claim: dict[str, list[Verdict]] = {c: [] for c in claims}
    every: list[Verdict] = []
    for spec in specs:
        items: tuple[Example | Case, ...] = (*spec.examples, *spec.cases)
        for item in items:
            v = verdict(spec, item, backend, reg, backend.name)
            every.append(v)
            for claim in item.claims or spec.claims:
                by_claim.setdefault(claim, []).append(v)
    return by_claim, every


def render(name: str, backend: Adapter | Unavailable, claims: dict[str, Claim],
           by_claim: dict[str, list[Verdict]], every: list[Verdict]) -> str:
    lines = [f"backend {name}" + (f" ({backend.name})" if backend.name != name else "")]
    if isinstance(backend, registry.Broken):
        lines.append(f"BROKEN: {backend.reason}")
    if not isinstance(backend, Unavailable):
        caps = ", ".join(sorted(backend.capabilities)) or "none"
        lines.append(f"capabilities: {caps}")
        for cap, why in sorted(backend.missing.items()):
            lines.append(f"  without {cap}: {why}")
    for claim_id, verdicts in by_claim.items():
        claim = claims.get(claim_id)
        runnable = sum(v.runs for v in verdicts)
        lines.append("")
        lines.append(f"{claim_id}  {claim.claim if claim else ''}  [{runnable} of "
                     f"{len(verdicts)} runnable]")
        for v in verdicts:
            status = "runs" if v.runs else f"not applicable: {v.reason}"
            known = f"  (registered: {', '.join(v.divergences)})" if v.divergences else ""
            lines.append(f"  {v.spec}/{v.item} ({v.kind}): {status}{known}")
    runs = sum(v.runs for v in every)
    uncovered = [c for c, vs in by_claim.items() if not any(v.runs for v in vs)]
    lines.append("")
    lines.append(f"{runs} of {len(every)} cells can run on {name}; "
                 f"{len(by_claim) - len(uncovered)} of {len(by_claim)} claims are checked by "
                 "at least one runnable cell")
    if uncovered:
        lines.append(f"claims no runnable cell checks: {', '.join(uncovered)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tensor_conformance.claims",
        description="For one backend, list every claim with what can run there and what "
                    "cannot and why (before running anything).")
    parser.add_argument("--backend", required=True, metavar="NAME",
                        help="as pytest's --backend: a built-in name, array-api:MODULE, "
                        "package.module:Class or path/to/file.py:Class")
    parser.add_argument("--specs", default=str(locations.SPECS), metavar="DIR")
    parser.add_argument("--divergences", action="append", default=[], metavar="PATH",
                        help="a registry file or folder added to the built-in one (repeatable)")
    args = parser.parse_args(argv)
    try:
        specs, claims = load_all(Path(args.specs))
        added = [Path(p) for p in args.divergences]
        for path in added:
            if not path.exists():
                raise SpecError(path, "", "--divergences: no such file or folder")
        reg = divergences.load([Path(args.specs) / "divergences", *added], specs)
        backend = registry.load(args.backend)
    except (SpecError, registry.AdapterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    by_claim, every = checklist(specs, claims, backend, reg)
    print(render(args.backend, backend, claims, by_claim, every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
