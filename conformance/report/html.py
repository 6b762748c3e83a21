"""The static HTML report: one self-contained page (inline CSS and JS, no network).

All text goes through jinja2 with autoescape on; links become ``<a href>``
only when they are http(s) URLs, so a hostile ``javascript:`` link in a
results file is shown as text.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .matrix import build_matrix, summarize
from .outcomes import (
    BAD_OUTCOMES,
    LABELS,
    NOT_COVERED,
    OUTCOMES,
    SUMMARY_ORDER,
    CellKey,
    cell_key,
    severity,
)
from .schema import validate_results

TEMPLATE = "report.html.j2"


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (the page shows it as text instead)."""
    if url and re.match(r"^https?://", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.0f} s"


def format_shape(shape: list[int] | None) -> str:
    if shape is None:
        return "-"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = format_seconds
    env.filters["shape"] = format_shape
    env.filters["safe_url"] = safe_url
    env.filters["anchor_id"] = anchor_id
    env.globals["BAD_OUTCOMES"] = BAD_OUTCOMES
    env.globals["label"] = lambda outcome: LABELS.get(outcome, outcome)
    env.globals["EMPTY_SIDE"] = {
        "value": None,
        "dtype": None,
        "shape": None,
        "error": None,
    }
    return env


def anchor_id(text: str) -> str:
    """A fragment-safe id: runs of characters other than letters, digits, ``_.-`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def _anchors(cells: list[dict[str, Any]]) -> dict[CellKey, str]:
    """One id per cell, numbered in key order so the page does not depend on input order."""
    keys = sorted(cell_key(c) for c in cells)
    return {key: f"cell-{i}-{anchor_id('-'.join(key))}" for i, key in enumerate(keys)}


def _backend_rows(
    results: dict[str, Any], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    declared = {b["name"]: b for b in results["run"]["backends"]}
    rows = []
    for name in names:
        backend = declared.get(name)
        if backend is None:
            backend = {
                "name": name,
                "available": True,
                "reason": "has cells but is missing from run.backends",
                "versions": {},
                "capabilities": [],
                "policy": {},
            }
        rows.append(backend)
    return rows


def _context(results: dict[str, Any]) -> dict[str, Any]:
    cells = results["cells"]
    matrix = build_matrix(results)
    anchors = _anchors(cells)
    by_key = {cell_key(c): c for c in cells}
    problems = sorted(
        (c for c in cells if c["outcome"] != "pass"),
        key=lambda c: (-severity(c["outcome"]), cell_key(c)),
    )
    run = results["run"]
    missing = run.get("missing_cells", [])
    return {
        "run": run,
        "partial": None if run.get("complete", True) else {
            "selected": run.get("selected_cells", len(cells) + len(missing)),
            "missing": missing,
            "reason": run.get("incomplete_reason") or "unknown",
        },
        "backends": _backend_rows(results, matrix.backends),
        "summary": summarize(results, matrix),
        "summary_order": SUMMARY_ORDER,
        "legend": (*OUTCOMES, NOT_COVERED),
        "NOT_COVERED": NOT_COVERED,
        "matrix": matrix,
        "anchors": anchors,
        "by_key": by_key,
        "problems": problems,
        "cells": sorted(cells, key=cell_key),
    }


def render_html(results: dict[str, Any]) -> str:
    """The report page for a results dict (validated first; ValueError if invalid)."""
    validate_results(results)
    return _environment().get_template(TEMPLATE).render(**_context(results))


def write_html(results: dict[str, Any], path: Path) -> None:
    """Render and write the page to ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(results), encoding="utf-8")
