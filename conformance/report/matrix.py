"""The claims x backends matrix and the per-backend summary, as plain data.

Both are pure functions of a results dict, so the HTML page and the tests read
the same thing: a merged file and the equivalent single run give equal matrices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .outcomes import NOT_COVERED, SUMMARY_ORDER, CellKey, cell_key, severity

UNLISTED_GROUP = "(claims missing from the claims list)"


@dataclass(frozen=True)
class MatrixEntry:
    """One matrix cell: a claim on a backend."""

    backend: str
    outcome: str  # the worst outcome of the covering cells, or NOT_COVERED
    examples: int  # examples run, summed over the covering cells
    #: examples that compared a value or reached a holds/agree check, summed over the
    #: covering cells; None when a cell does not record it (results of an older run)
    checked: int | None
    cells: tuple[CellKey, ...]  # the covering cells, sorted
    worst: CellKey | None  # the covering cell that decided the outcome


@dataclass(frozen=True)
class ClaimRow:
    id: str
    text: str
    example: str | None
    listed: bool  # False: cells cite this id but the claims list lacks it
    entries: tuple[MatrixEntry, ...]  # one per backend, in Matrix.backends order


@dataclass(frozen=True)
class SectionRows:
    group: str
    section: str
    rows: tuple[ClaimRow, ...]


@dataclass(frozen=True)
class Matrix:
    backends: tuple[str, ...]
    sections: tuple[SectionRows, ...]

    def entry(self, claim_id: str, backend: str) -> MatrixEntry:
        column = self.backends.index(backend)
        for section in self.sections:
            for row in section.rows:
                if row.id == claim_id:
                    return row.entries[column]
        raise KeyError(claim_id)


def backend_names(results: dict[str, Any]) -> list[str]:
    """Backends in run order, then any that only appear in cells."""
    names = [b["name"] for b in results["run"]["backends"]]
    for cell in results["cells"]:
        if cell["backend"] not in names:
            names.append(cell["backend"])
    return names


def _entry(backend: str, cells: list[dict[str, Any]]) -> MatrixEntry:
    if not cells:
        return MatrixEntry(backend, NOT_COVERED, 0, None, (), None)
    ordered = sorted(cells, key=cell_key)
    # the worst outcome; among equals max() keeps the first, i.e. the smallest key
    decider = max(ordered, key=lambda c: severity(c["outcome"]))
    return MatrixEntry(
        backend=backend,
        outcome=decider["outcome"],
        examples=sum(c["examples"] for c in ordered),
        checked=(sum(c["checked_examples"] for c in ordered)
                 if all("checked_examples" in c for c in ordered) else None),
        cells=tuple(cell_key(c) for c in ordered),
        worst=cell_key(decider),
    )


def build_matrix(results: dict[str, Any]) -> Matrix:
    """Rows: claims grouped by group, then section (in order of first appearance)."""
    backends = backend_names(results)
    covering: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for cell in results["cells"]:
        for claim_id in dict.fromkeys(cell["claims"]):
            covering[claim_id, cell["backend"]].append(cell)

    claims = list(results["claims"])
    listed = {c["id"] for c in claims}
    cited = dict.fromkeys(cid for cell in results["cells"] for cid in cell["claims"])
    for claim_id in cited:
        if claim_id not in listed:
            claims.append(
                {
                    "id": claim_id,
                    "group": UNLISTED_GROUP,
                    "section": "",
                    "claim": "",
                    "example": None,
                }
            )

    grouped: dict[str, dict[str, list[ClaimRow]]] = {}
    for claim in claims:
        row = ClaimRow(
            id=claim["id"],
            text=claim["claim"],
            example=claim["example"],
            listed=claim["id"] in listed,
            entries=tuple(
                _entry(b, covering.get((claim["id"], b), [])) for b in backends
            ),
        )
        grouped.setdefault(claim["group"], {}).setdefault(claim["section"], []).append(
            row
        )

    sections = tuple(
        SectionRows(group, section, tuple(rows))
        for group, by_section in grouped.items()
        for section, rows in by_section.items()
    )
    return Matrix(tuple(backends), sections)


def summarize(
    results: dict[str, Any], matrix: Matrix | None = None
) -> dict[str, dict[str, int]]:
    """Per backend: a count per outcome, ``cells``, ``examples`` and ``not_covered`` claims."""
    matrix = matrix or build_matrix(results)
    summary = {
        b: {o: 0 for o in SUMMARY_ORDER} | {"cells": 0, "examples": 0, NOT_COVERED: 0}
        for b in matrix.backends
    }
    for cell in results["cells"]:
        counts = summary[cell["backend"]]
        counts[cell["outcome"]] += 1
        counts["cells"] += 1
        counts["examples"] += cell["examples"]
    for section in matrix.sections:
        for row in section.rows:
            for entry in row.entries:
                if entry.outcome == NOT_COVERED:
                    summary[entry.backend][NOT_COVERED] += 1
    return summary
