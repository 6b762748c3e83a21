"""Cell outcomes, their severity order, and the key that identifies a cell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Every outcome, most severe first: the matrix shows the worst one.
OUTCOMES: tuple[str, ...] = (
    "crash",
    "timeout",
    "fail",
    "stale",
    "divergence",
    "functional",
    "not_applicable",
    "pass",
)

#: The order of the summary table's columns.
SUMMARY_ORDER: tuple[str, ...] = (
    "pass",
    "fail",
    "crash",
    "timeout",
    "divergence",
    "stale",
    "not_applicable",
    "functional",
)

#: A claim that no cell covers on a backend (a matrix state, not a cell outcome).
NOT_COVERED = "not_covered"

#: Outcomes that are problems: a cell that moves into one of them got worse.
BAD_OUTCOMES: frozenset[str] = frozenset({"crash", "timeout", "fail", "stale"})

LABELS: dict[str, str] = {
    "crash": "crash",
    "timeout": "timeout",
    "fail": "fail",
    "stale": "stale",
    "divergence": "divergence",
    "functional": "functional",
    "not_applicable": "n/a",
    "pass": "pass",
    NOT_COVERED: "not covered",
}

_RANK = {outcome: len(OUTCOMES) - i for i, outcome in enumerate(OUTCOMES)}

CellKey = tuple[str, str, str]


def severity(outcome: str) -> int:
    """Higher is worse; ``crash`` is the highest, ``pass`` the lowest."""
    return _RANK[outcome]


def worst(outcomes: Iterable[str]) -> str:
    """The most severe of ``outcomes`` (which must not be empty)."""
    return max(outcomes, key=severity)


def cell_key(cell: Mapping[str, Any]) -> CellKey:
    """The identity of a cell: ``(spec, case, backend)``."""
    return (cell["spec"], cell["case"], cell["backend"])


def got_worse(old: str | None, new: str | None) -> bool:
    """True when a cell moved into a bad outcome from a good one (or appeared there)."""
    return new in BAD_OUTCOMES and old not in BAD_OUTCOMES
