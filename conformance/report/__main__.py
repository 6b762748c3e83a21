"""Command line: ``python -m tensor_conformance.report {merge,diff,html} ...``.

* ``merge a.json b.json [...] -o reports/`` writes ``reports/results.json`` and ``reports/index.html``;
* ``diff old.json new.json`` prints the cells whose outcome changed; exit 1 if one got worse
  (moved into crash, timeout, fail or stale) or if cells disappeared or appeared (a partial
  run, a changed selection);
* ``html results.json -o reports/`` writes ``reports/index.html``.

Exit status 2 for an unreadable or invalid input file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .html import write_html
from .merge import diff, merge
from .schema import load_results

RESULTS_NAME = "results.json"
HTML_NAME = "index.html"


def write_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def format_diff(changes: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`diff` entries."""
    if not changes:
        return "no cell changed outcome"
    header = ("change", "spec", "case", "backend", "old", "new", "")
    rows = [
        (
            c["change"],
            c["spec"],
            c["case"],
            c["backend"],
            c["old"] or "-",
            c["new"] or "-",
            "WORSE" if c["worse"] else "",
        )
        for c in changes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths[:-1]))
    worse = sum(c["worse"] for c in changes)
    gone = sum(c["change"] == "disappeared" for c in changes)
    new = sum(c["change"] == "appeared" for c in changes)
    lines.append(f"\n{len(changes)} cell(s) changed, {worse} got worse, "
                 f"{gone} disappeared, {new} appeared")
    return "\n".join(lines)


def partial_note(label: str, results: dict[str, Any]) -> str | None:
    run = results["run"]
    if run.get("complete", True):
        return None
    return (f"{label} is a partial run: {len(run.get('missing_cells', []))} of "
            f"{run.get('selected_cells', '?')} selected cells have no outcome "
            f"({run.get('incomplete_reason') or 'unknown'})")


def _cmd_merge(args: argparse.Namespace) -> int:
    inputs = [load_results(p) for p in args.inputs]
    merged = merge(inputs, sources=[str(p) for p in args.inputs])
    out = Path(args.output)
    write_results(merged, out / RESULTS_NAME)
    write_html(merged, out / HTML_NAME)
    print(
        f"wrote {out / RESULTS_NAME} and {out / HTML_NAME} ({len(merged['cells'])} cells)"
    )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    old, new = load_results(args.old), load_results(args.new)
    changes = diff(old, new)
    print(format_diff(changes))
    for label, results in ((args.old, old), (args.new, new)):
        note = partial_note(str(label), results)
        if note:
            print(note)
    lost = any(c["worse"] or c["change"] != "changed" for c in changes)
    return 1 if lost else 0


def _cmd_html(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    out = Path(args.output) / HTML_NAME
    write_html(results, out)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tensor_conformance.report",
        description="Merge, diff and render conformance results.json files.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "merge", help="merge result files, write results.json and index.html"
    )
    p.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        help="results.json files; a later file wins on the same cell",
    )
    p.add_argument(
        "-o", "--output", default="reports", help="output folder (default: reports)"
    )
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser(
        "diff", help="list cells whose outcome changed; exit 1 if one got worse, "
        "disappeared or appeared"
    )
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("html", help="write index.html for a results file")
    p.add_argument("results", type=Path)
    p.add_argument(
        "-o", "--output", default="reports", help="output folder (default: reports)"
    )
    p.set_defaults(func=_cmd_html)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
