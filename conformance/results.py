"""results.json: one record per (spec item, backend) cell, plus the run and the claims.

The schema is documented in ``conformance/report/README.md`` and checked by
``tensor_conformance.report.validate_results`` before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensor_conformance.adapters.protocol import Adapter
from tensor_conformance.adapters.registry import Unavailable
from tensor_conformance.corpus import replays
from tensor_conformance.differentiation import SHARE, examples_per_cell
from tensor_conformance.hooks import versions
from tensor_conformance.report import validate_results, write_html
from tensor_conformance.spec import Claim

if TYPE_CHECKING:
    from tensor_conformance.plugin import Cell

SCHEMA_VERSION = 1


def cell_record(cell: Cell, *, outcome: str, reason: str | None, link: str | None, examples: int,
                duration: float, checked: int = 0, staged: int = 0, oracles: dict[str, int] | None = None,
                replayed: int = 0, corpus_draw: float = 0.0, seconds: dict[str, float] | None = None,
                failure: dict[str, Any] | None,
                divergence: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "spec": cell.spec.id,
        "case": cell.item.id,
        "kind": cell.kind,
        "title": cell.spec.title,
        "claims": list(cell.claims),
        "backend": cell.backend,
        "outcome": outcome,
        "reason": reason,
        "link": link,
        "examples": examples,
        "checked_examples": checked,
        "duration_s": round(duration, 6),
        "per_example_s": round(duration / examples, 6) if examples else None,
        "staged_examples": staged,
        "replayed_examples": replayed,
        "corpus_draw_s": round(corpus_draw, 6),
        "seconds": {k: round(v, 6) for k, v in sorted((seconds or {}).items())},
        "gradient_oracles": dict(oracles or {}),
        "program": getattr(cell.item, "source", None) or cell.item.program.source,  # type: ignore[union-attr]
        "failure": failure,
        "divergence": divergence,
    }


def backend_record(name: str, backend: Adapter | Unavailable) -> dict[str, Any]:
    if isinstance(backend, Unavailable):
        return {"name": name, "available": False, "reason": backend.reason, "versions": {},
                "capabilities": [], "policy": {}}
    found, problem = versions(backend)  # a versions() that raises is shown, not fatal
    return {"name": name, "available": True, "reason": problem, "versions": found,
            "capabilities": sorted(backend.capabilities), "policy": asdict(backend.policy)}


def cost(backend: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A backend's generated examples and their mean cost (hypothesis, the reference
    oracle and the backend together: what a user pays per example), and the same for
    its gradient cells' examples."""
    out: dict[str, Any] = {}
    for kind, prefix in (("generated", ""), ("gradient", "gradient_")):
        cells = [r for r in records if r["backend"] == backend and r["kind"] == kind]
        examples = sum(r["examples"] for r in cells)
        seconds = sum(r["duration_s"] for r in cells if r["examples"])
        out |= {f"{prefix or 'generated_'}examples": examples,
                f"{prefix}per_example_s": round(seconds / examples, 6) if examples else None}
    return out


def build(*, records: list[dict[str, Any]], claims: dict[str, Claim],
          backends: dict[str, Adapter | Unavailable], started: float, duration: float,
          command: str, python: str, platform_name: str, profile: str,
          seed: Any) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(backends)}
    cells = sorted(records, key=lambda r: (r["spec"], r["case"], order.get(r["backend"], 99)))
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "command": command,
            "python": python,
            "platform": platform_name,
            "hypothesis_profile": profile,
            "hypothesis_seed": None if seed is None else str(seed),
            # generated cells replay their case's shared examples, or draw their own
            "draws": "per cell" if not replays() else "once per case",
            # gradient cells run a fixed share of the profile's examples (differentiation.py)
            "gradient_share": {"share": SHARE, "examples_per_cell": examples_per_cell()},
            "backends": [backend_record(n, b) | cost(n, records) for n, b in backends.items()],
        },
        "claims": [{"id": c.id, "group": c.group, "section": c.section, "claim": c.claim,
                    "example": c.example} for c in claims.values()],
        "cells": cells,
    }


def write(data: dict[str, Any], out: Path) -> None:
    validate_results(data)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    write_html(data, out / "index.html")
