"""Reporting for conformance runs: validate, render, merge and diff ``results.json``.

* :func:`validate_results` / :func:`load_results` -- check a results dict or file
  against ``results.schema.json`` (schema version 1);
* :func:`render_html` / :func:`write_html` -- the static, self-contained HTML page;
* :func:`merge` / :func:`diff` -- combine result files, list changed cells;
* :func:`build_matrix` / :func:`summarize` -- the claims x backends matrix as data.

Command line: ``python -m tensor_conformance.report {merge,diff,html} ...``.
"""

from .html import render_html, write_html
from .matrix import build_matrix, summarize
from .merge import diff, merge
from .schema import load_results, validate_results

__all__ = [
    "build_matrix",
    "diff",
    "load_results",
    "merge",
    "render_html",
    "summarize",
    "validate_results",
    "write_html",
]
