"""Merging several results files into one, and diffing two of them.

A cell is identified by ``(spec, case, backend)``.  When two inputs hold the
same key the later input wins, with one exception: a cell from a run where
that backend was *unavailable* never replaces a cell from a run where it was
available (so merging per-backend CI jobs gives the same answer in any order).
Both cases are recorded in ``run.merged_from``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .outcomes import CellKey, cell_key, got_worse
from .schema import SCHEMA_VERSION, validate_results


def _available(results: dict[str, Any]) -> dict[str, bool]:
    return {b["name"]: b["available"] for b in results["run"]["backends"]}


def _joined(values: Sequence[str | None]) -> str | None:
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    return ", ".join(distinct) if distinct else None


def _earliest(stamps: Sequence[str]) -> str:
    def when(stamp: str) -> tuple[int, Any]:
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return (1, stamp)
        return (0, moment.timestamp()) if moment.tzinfo else (1, stamp)

    return min(stamps, key=when)


def _note(key: CellKey, source: str, old: str, new: str) -> dict[str, str]:
    spec, case, backend = key
    return {
        "spec": spec,
        "case": case,
        "backend": backend,
        "source": source,
        "old_outcome": old,
        "new_outcome": new,
    }


def merge(
    results_list: Sequence[dict[str, Any]], sources: Sequence[str] | None = None
) -> dict[str, Any]:
    """Merge results dicts (validated first) into one results dict.

    ``sources`` names the inputs in ``run.merged_from`` and ``run.command``
    (default: ``input 1``, ``input 2``, ...).
    """
    if not results_list:
        raise ValueError("merge: nothing to merge")
    labels = (
        list(sources)
        if sources is not None
        else [f"input {i + 1}" for i in range(len(results_list))]
    )
    if len(labels) != len(results_list):
        raise ValueError("merge: need exactly one source name per input")
    for label, results in zip(labels, results_list, strict=False):
        try:
            validate_results(results)
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from exc

    cells: dict[CellKey, tuple[dict[str, Any], str, bool]] = {}
    backends: dict[str, dict[str, Any]] = {}
    claims: dict[str, dict[str, Any]] = {}
    merged_from: list[dict[str, Any]] = []

    for label, results in zip(labels, results_list, strict=False):
        run = results["run"]
        available = _available(results)
        record: dict[str, Any] = {
            "source": label,
            "command": run["command"],
            "started": run["started"],
            "duration_s": run["duration_s"],
            "cells": len(results["cells"]),
            "complete": run.get("complete", True),
            "replaced": [],
            "ignored": [],
        }
        for cell in results["cells"]:
            key = cell_key(cell)
            here = available.get(cell["backend"], True)
            if key in cells:
                previous, previous_source, previous_available = cells[key]
                note = _note(key, previous_source, previous["outcome"], cell["outcome"])
                if previous_available and not here:
                    record["ignored"].append(note)
                    continue
                record["replaced"].append(note)
            cells[key] = (copy.deepcopy(cell), label, here)
        for backend in run["backends"]:
            known = backends.get(backend["name"])
            if known is None or backend["available"] or not known["available"]:
                backends[backend["name"]] = copy.deepcopy(backend)
        for claim in results["claims"]:
            claims[claim["id"]] = copy.deepcopy(claim)
        merged_from.append(record)

    runs = [r["run"] for r in results_list]
    missing = {cell_key(m): m for r in runs for m in r.get("missing_cells", [])}
    remaining = [copy.deepcopy(m) for key, m in missing.items() if key not in cells]
    # complete: every cell an input selected has an outcome here (an input's missing cells
    # may come from another input); an incomplete input that does not list them keeps it false
    complete = not remaining and all(r.get("complete", True) or "missing_cells" in r for r in runs)
    merged = {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "started": _earliest([r["started"] for r in runs]),
            "duration_s": sum(r["duration_s"] for r in runs),
            "command": "merged from "
            + "; ".join(f"{s} [{r['command']}]" for s, r in zip(labels, runs, strict=False)),
            "python": _joined([r["python"] for r in runs]),
            "platform": _joined([r["platform"] for r in runs]),
            "hypothesis_profile": _joined([r["hypothesis_profile"] for r in runs]),
            "hypothesis_seed": _joined([r["hypothesis_seed"] for r in runs]),
            "backends": list(backends.values()),
            "merged_from": merged_from,
            "complete": complete,
            "selected_cells": len(cells) + len(remaining),
            "missing_cells": remaining,
            "incomplete_reason": None if complete else _joined(
                [f"{label}: {r.get('incomplete_reason') or 'partial'}"
                 for label, r in zip(labels, runs, strict=False) if not r.get("complete", True)]),
        },
        "claims": list(claims.values()),
        "cells": [cell for cell, _, _ in cells.values()],
    }
    validate_results(merged)
    return merged


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Every cell whose outcome changed, appeared or disappeared, sorted by key.

    Each entry: ``spec, case, backend, old, new`` (an outcome, or None when
    absent), ``change`` (``changed`` / ``appeared`` / ``disappeared``) and
    ``worse`` (True when the cell moved into crash, timeout, fail or stale).
    """
    before = {cell_key(c): c["outcome"] for c in old["cells"]}
    after = {cell_key(c): c["outcome"] for c in new["cells"]}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        change = (
            "appeared" if was is None else "disappeared" if now is None else "changed"
        )
        spec, case, backend = key
        changes.append(
            {
                "spec": spec,
                "case": case,
                "backend": backend,
                "old": was,
                "new": now,
                "change": change,
                "worse": got_worse(was, now),
            }
        )
    return changes
