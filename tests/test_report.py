"""Tests of tensor_conformance.report: schema, HTML page, merge, diff and the CLI."""

from __future__ import annotations

import copy
import html as html_lib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tensor_conformance.report import (
    build_matrix,
    diff,
    merge,
    render_html,
    summarize,
    validate_results,
    write_html,
)
from tensor_conformance.report.__main__ import main

REPO = Path(__file__).resolve().parents[1]


# -- building results dicts ------------------------------------------------------------


def make_backend(
    name: str, available: bool = True, reason: str | None = None
) -> dict[str, Any]:
    if not available:
        return {
            "name": name,
            "available": False,
            "reason": reason or f"{name} is not installed",
            "versions": {},
            "capabilities": [],
            "policy": {},
        }
    return {
        "name": name,
        "available": True,
        "reason": None,
        "versions": {name: "1.2.3"},
        "capabilities": ["in_place", "random"],
        "policy": {
            "default_int": "int64",
            "default_float": "float32",
            "max_bits": 64,
            "int_float_promotion": "float_operand",
        },
    }


def make_failure(
    message: str = "sum(axis=1) returned float64, expected float32",
) -> dict[str, Any]:
    return {
        "message": message,
        "example": {"A": "tensor([[0.0, 1.5]], dtype=float32)", "axis": "1"},
        "outputs": [
            {
                "name": "A.sum(axis=axis)",
                "reference": {
                    "value": "tensor([1.5])",
                    "dtype": "float32",
                    "shape": [1],
                    "error": None,
                },
                "backend": {
                    "value": "array([1.5])",
                    "dtype": "float64",
                    "shape": [1],
                    "error": None,
                },
                "problem": "dtype",
                "difference": "dtype float64 != float32",
                "tolerance": "|got-ref| <= 3.0e-07",
            }
        ],
        "reproducer": (
            "import numpy as np\nA = np.array([[0.0, 1.5]], dtype=np.float32)\n"
            "print(A.sum(axis=1).dtype)\n"
        ),
    }


def make_cell(
    spec: str,
    backend: str,
    outcome: str = "pass",
    *,
    case: str = "generated",
    claims: tuple[str, ...] = ("T01",),
    **extra: Any,
) -> dict[str, Any]:
    cell = {
        "spec": spec,
        "case": case,
        "kind": "generated" if case == "generated" else "example",
        "title": f"{spec} behaves as documented",
        "claims": list(claims),
        "backend": backend,
        "outcome": outcome,
        "reason": None,
        "link": None,
        "examples": 10,
        "duration_s": 0.5,
        "per_example_s": 0.05,
        "program": "A.sum(axis=axis)",
        "failure": None,
        "divergence": None,
    }
    if outcome == "fail":
        cell["failure"] = make_failure()
    if outcome in ("divergence", "stale"):
        cell["reason"] = "numpy defaults to float64"
        cell["link"] = "https://github.com/numpy/numpy/issues/1"
        cell["divergence"] = {
            "id": "numpy-default-float",
            "reason": "numpy defaults to float64",
            "link": "https://github.com/numpy/numpy/issues/1",
            "observed": 0 if outcome == "stale" else 3,
        }
    if outcome in ("not_applicable", "functional"):
        cell["reason"] = f"{backend} has no in-place writes"
    cell.update(extra)
    return cell


CLAIMS = [
    {
        "id": "T01",
        "group": "tensors",
        "section": "1",
        "claim": "arange(n) creates a vector of n values",
        "example": "torch.arange(12) -> tensor([0, ..., 11])",
    },
    {
        "id": "T02",
        "group": "tensors",
        "section": "1",
        "claim": "reshape keeps the elements",
        "example": None,
    },
    {
        "id": "T15",
        "group": "tensors",
        "section": "2",
        "claim": "sum along an axis removes that axis",
        "example": None,
    },
    {
        "id": "L01",
        "group": "linear-algebra",
        "section": "3",
        "claim": "matmul multiplies matrices",
        "example": None,
    },
]


def make_results(
    cells: list[dict[str, Any]],
    backends: list[dict[str, Any]] | None = None,
    command: str = "pytest conformance/",
    duration: float = 12.5,
) -> dict[str, Any]:
    names = list(dict.fromkeys(c["backend"] for c in cells))
    return {
        "schema_version": 1,
        "run": {
            "started": "2026-11-29T08:30:00+00:00",
            "duration_s": duration,
            "command": command,
            "python": "3.11.7",
            "platform": "Linux-6.1-x86_64",
            "hypothesis_profile": "ci",
            "hypothesis_seed": None,
            "backends": backends
            if backends is not None
            else [make_backend(n) for n in names],
        },
        "claims": copy.deepcopy(CLAIMS),
        "cells": cells,
    }


def numpy_cells() -> list[dict[str, Any]]:
    return [
        make_cell("tensors/arange", "numpy", claims=("T01",)),
        make_cell("tensors/arange", "numpy", case="literal", claims=("T01",)),
        make_cell("tensors/sum_axis", "numpy", "fail", claims=("T15",)),
        make_cell("defaults/float", "numpy", "divergence", claims=("T02",)),
    ]


def torch_cells() -> list[dict[str, Any]]:
    return [
        make_cell("tensors/arange", "torch", claims=("T01",)),
        make_cell("tensors/arange", "torch", case="literal", claims=("T01",)),
        make_cell("tensors/sum_axis", "torch", claims=("T15",)),
        make_cell("defaults/float", "torch", "stale", claims=("T02",)),
        make_cell("linalg/matmul", "torch", "functional", claims=("L01",)),
    ]


@pytest.fixture
def combined() -> dict[str, Any]:
    return make_results(
        numpy_cells() + torch_cells(),
        backends=[
            make_backend("numpy"),
            make_backend("torch"),
            make_backend("jax", available=False),
        ],
    )


# -- schema ----------------------------------------------------------------------------


def test_schema_accepts_a_good_file(combined: dict[str, Any]) -> None:
    validate_results(combined)
    validate_results(json.loads(json.dumps(combined)))


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: r["cells"][2].update(outcome="broken"), "cells[2].outcome"),
        (lambda r: r["cells"][1].pop("examples"), "cells[1]"),
        (
            lambda r: r["cells"][2]["failure"]["outputs"][0]["backend"].update(
                shape="(1,)"
            ),
            "cells[2].failure.outputs[0].backend.shape",
        ),
        (
            lambda r: r["run"]["backends"][0].update(available="yes"),
            "run.backends[0].available",
        ),
        (lambda r: r["claims"][1].update(section=2), "claims[1].section"),
        (
            lambda r: r["cells"][3]["divergence"].pop("reason"),
            "cells[3].divergence: 'reason'",
        ),
        (lambda r: r.update(schema_version=2), "schema_version"),
        (lambda r: r["cells"].append(copy.deepcopy(r["cells"][0])), "cells[9]"),
    ],
)
def test_schema_rejects_a_bad_file_naming_the_field(
    combined: dict[str, Any], mutate: Any, path: str
) -> None:
    mutate(combined)
    with pytest.raises(ValueError) as info:
        validate_results(combined)
    assert str(info.value).startswith(path), str(info.value)


def test_schema_rejects_a_missing_property_by_name(combined: dict[str, Any]) -> None:
    del combined["run"]["hypothesis_seed"]
    with pytest.raises(
        ValueError, match=r"^run: 'hypothesis_seed' is a required property"
    ):
        validate_results(combined)


# -- matrix and summary ----------------------------------------------------------------


def test_matrix_takes_the_worst_outcome_and_flags_uncovered_claims(
    combined: dict[str, Any],
) -> None:
    combined["cells"].append(
        make_cell("tensors/more", "numpy", "not_applicable", claims=("T01", "X99"))
    )
    matrix = build_matrix(combined)
    assert matrix.backends == ("numpy", "torch", "jax")
    assert matrix.entry("T01", "numpy").outcome == "not_applicable"
    assert matrix.entry("T01", "numpy").examples == 30
    assert matrix.entry("T01", "torch").outcome == "pass"
    assert matrix.entry("T15", "numpy").outcome == "fail"
    assert matrix.entry("T15", "numpy").worst == (
        "tensors/sum_axis",
        "generated",
        "numpy",
    )
    assert matrix.entry("T02", "torch").outcome == "stale"
    assert matrix.entry("L01", "numpy").outcome == "not_covered"
    assert matrix.entry("T01", "jax").outcome == "not_covered"
    assert [(s.group, s.section) for s in matrix.sections] == [
        ("tensors", "1"),
        ("tensors", "2"),
        ("linear-algebra", "3"),
        ("(claims missing from the claims list)", ""),
    ]
    assert not matrix.sections[-1].rows[0].listed

    summary = summarize(combined, matrix)
    assert summary["numpy"] == {
        "pass": 2,
        "fail": 1,
        "crash": 0,
        "timeout": 0,
        "divergence": 1,
        "stale": 0,
        "not_applicable": 1,
        "functional": 0,
        "cells": 5,
        "examples": 50,
        "not_covered": 1,
    }
    assert summary["jax"]["not_covered"] == 5


# -- HTML ------------------------------------------------------------------------------


def test_html_shows_backends_claims_and_the_failure(combined: dict[str, Any]) -> None:
    page = render_html(combined)
    for name in ("numpy", "torch", "jax"):
        assert f">{name}<" in page
    assert "jax is not installed" in page
    for claim in CLAIMS:
        assert f'id="claim-{claim["id"]}"' in page
        assert claim["claim"] in page
    failure = make_failure()
    assert failure["message"] in page
    assert "tensor([[0.0, 1.5]], dtype=float32)" in page
    assert (
        "import numpy as np\nA = np.array([[0.0, 1.5]], dtype=np.float32)\nprint(A.sum(axis=1).dtype)"
        in page
    )
    assert 'class="copy"' in page
    assert 'id="matrix"' in page
    assert '<a href="https://github.com/numpy/numpy/issues/1"' in page
    assert "not covered" in page
    assert (
        "pytest conformance/" in page
        and "3.11.7" in page
        and "int_float_promotion" in page
    )


def test_html_matrix_cells_link_to_details(combined: dict[str, Any]) -> None:
    page = render_html(combined)
    matrix_html = _page_part(page, '<table class="grid" id="matrix">', "</table>")
    targets = {part.split('"', 1)[0] for part in matrix_html.split('href="#')[1:]}
    assert targets, "matrix has no links"
    for target in targets:
        assert f'id="{target}"' in page


def test_html_escapes_everything(combined: dict[str, Any]) -> None:
    cell = combined["cells"][2]
    cell["title"] = "<script>alert('title')</script>"
    cell["failure"]["example"]["A"] = "<script>alert(1)</script>"
    cell["failure"]["message"] = "got <b>bold</b> & more"
    cell["link"] = "javascript:alert(2)"
    combined["claims"][0]["claim"] = "x < y && <img src=x onerror=alert(3)>"
    page = render_html(combined)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "got &lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    assert "<img" not in page
    assert 'href="javascript:' not in page
    assert page.count("<script>") == 1  # only the page's own script


def test_html_works_offline(combined: dict[str, Any]) -> None:
    page = render_html(combined)
    for needle in ('src="http', "src='http", 'href="//', "@import", "<link "):
        assert needle not in page


def test_html_all_pass_and_missing_parts() -> None:
    cell = make_cell("tensors/arange", "numpy", "fail")
    cell["failure"]["reproducer"] = None
    cell["failure"]["outputs"][0]["backend"] = None
    cell["failure"]["outputs"][0]["problem"] = "missing"
    cell["per_example_s"] = None
    page = render_html(make_results([cell]))
    assert "the backend produced no such output" in page
    page = render_html(make_results([make_cell("tensors/arange", "numpy")]))
    assert "Every cell passed." in page


def test_write_html_creates_the_folder(
    tmp_path: Path, combined: dict[str, Any]
) -> None:
    target = tmp_path / "deep" / "index.html"
    write_html(combined, target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_render_rejects_an_invalid_file(combined: dict[str, Any]) -> None:
    combined["cells"][0]["outcome"] = "meh"
    with pytest.raises(ValueError, match=r"cells\[0\]\.outcome"):
        render_html(combined)


# -- merge -----------------------------------------------------------------------------


def _keyed(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["spec"], c["case"], c["backend"]): c for c in results["cells"]}


def _page_part(page: str, start: str, end: str) -> str:
    first = page.index(start)
    return page[first : page.index(end, first)]


@pytest.mark.parametrize("order", ["numpy-first", "torch-first"])
def test_merging_per_backend_files_equals_the_combined_run(
    combined: dict[str, Any], order: str
) -> None:
    # each CI job only has its own library; it lists the others as unavailable with n/a cells
    jax = make_backend("jax", available=False)
    only_numpy = make_results(
        numpy_cells()
        + [
            make_cell(
                c["spec"],
                "torch",
                "not_applicable",
                case=c["case"],
                claims=c["claims"],
                reason="torch is not installed",
            )
            for c in torch_cells()
        ],
        backends=[make_backend("numpy"), make_backend("torch", available=False), jax],
        command="job numpy",
        duration=5,
    )
    only_torch = make_results(
        torch_cells(),
        backends=[make_backend("torch"), jax],
        command="job torch",
        duration=7,
    )
    inputs, names = [only_numpy, only_torch], ["numpy.json", "torch.json"]
    if order == "torch-first":
        inputs, names = inputs[::-1], names[::-1]

    merged = merge(inputs, sources=names)
    validate_results(merged)
    assert _keyed(merged) == _keyed(combined)
    assert {b["name"]: b for b in merged["run"]["backends"]} == {
        b["name"]: b for b in combined["run"]["backends"]
    }
    assert merged["claims"] == combined["claims"]
    if order == "numpy-first":
        assert build_matrix(merged) == build_matrix(combined)
    assert summarize(merged) == summarize(combined)
    assert merged["run"]["duration_s"] == 12
    assert (
        "numpy.json" in merged["run"]["command"]
        and "torch.json" in merged["run"]["command"]
    )
    sources = {m["source"]: m for m in merged["run"]["merged_from"]}
    assert set(sources) == {"numpy.json", "torch.json"}
    moved = (
        sources["torch.json"]["replaced"]
        if order == "numpy-first"
        else sources["numpy.json"]["ignored"]
    )
    assert len(moved) == len(torch_cells())
    page, expected = render_html(merged), render_html(combined)
    assert page.count('id="claim-') == len(CLAIMS)
    details = ('<section id="details">', "</section>")
    assert _page_part(page, *details) == _page_part(expected, *details)
    if order == "numpy-first":  # same backend (column) order as the combined run
        for part in [
            ('<section id="summary">', "</section>"),
            ('<table class="grid" id="matrix">', "</table>"),
        ]:
            assert _page_part(page, *part) == _page_part(expected, *part)


def test_merge_later_file_wins_and_is_recorded() -> None:
    first = make_results(
        [make_cell("tensors/arange", "numpy", "fail")], command="first"
    )
    second = make_results(
        [make_cell("tensors/arange", "numpy", "pass")], command="second"
    )
    merged = merge([first, second], sources=["a.json", "b.json"])
    assert [c["outcome"] for c in merged["cells"]] == ["pass"]
    note = merged["run"]["merged_from"][1]["replaced"][0]
    assert note == {
        "spec": "tensors/arange",
        "case": "generated",
        "backend": "numpy",
        "source": "a.json",
        "old_outcome": "fail",
        "new_outcome": "pass",
    }
    assert merge([second, first])["cells"][0]["outcome"] == "fail"
    assert first["cells"][0]["outcome"] == "fail"  # inputs are not modified


def test_merge_rejects_nothing_and_invalid_inputs(combined: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        merge([])
    combined["cells"][0]["kind"] = "other"
    with pytest.raises(ValueError, match=r"^input 2: cells\[0\]\.kind"):
        merge([make_results(numpy_cells()), combined])


# -- diff ------------------------------------------------------------------------------


def test_diff_lists_changed_appeared_and_disappeared_cells(
    combined: dict[str, Any],
) -> None:
    new = copy.deepcopy(combined)
    new["cells"][0]["outcome"] = "fail"  # numpy arange: pass -> fail
    new["cells"][2]["outcome"] = "pass"  # numpy sum_axis: fail -> pass
    removed = new["cells"].pop(5)  # torch arange/literal disappears
    new["cells"].append(make_cell("tensors/new", "torch", "stale"))
    changes = diff(combined, new)
    by_key = {(c["spec"], c["case"], c["backend"]): c for c in changes}
    assert len(changes) == 4
    assert by_key["tensors/arange", "generated", "numpy"] == {
        "spec": "tensors/arange",
        "case": "generated",
        "backend": "numpy",
        "old": "pass",
        "new": "fail",
        "change": "changed",
        "worse": True,
    }
    assert by_key["tensors/sum_axis", "generated", "numpy"]["worse"] is False
    gone = by_key[removed["spec"], removed["case"], removed["backend"]]
    assert (gone["change"], gone["old"], gone["new"], gone["worse"]) == (
        "disappeared",
        "pass",
        None,
        False,
    )
    new_cell = by_key["tensors/new", "generated", "torch"]
    assert (new_cell["change"], new_cell["old"], new_cell["worse"]) == (
        "appeared",
        None,
        True,
    )
    assert diff(combined, combined) == []


# -- command line ----------------------------------------------------------------------


def _write(path: Path, results: dict[str, Any]) -> Path:
    path.write_text(json.dumps(results), encoding="utf-8")
    return path


def test_cli_merge_writes_both_files(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", make_results(numpy_cells()))
    b = _write(tmp_path / "b.json", make_results(torch_cells()))
    out = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tensor_conformance.report",
            "merge",
            str(a),
            str(b),
            "-o",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    merged = json.loads((out / "results.json").read_text(encoding="utf-8"))
    validate_results(merged)
    assert len(merged["cells"]) == len(numpy_cells()) + len(torch_cells())
    assert [m["source"] for m in merged["run"]["merged_from"]] == [str(a), str(b)]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="matrix"' in page and "torch" in page


def test_cli_html_and_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], combined: dict[str, Any]
) -> None:
    old = _write(tmp_path / "old.json", combined)
    assert main(["html", str(old), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").exists()

    assert main(["diff", str(old), str(old)]) == 0
    assert "no cell changed" in capsys.readouterr().out

    better = copy.deepcopy(combined)
    better["cells"][2]["outcome"] = "pass"
    better["cells"][2]["failure"] = None
    assert main(["diff", str(old), str(_write(tmp_path / "better.json", better))]) == 0
    assert "fail" in capsys.readouterr().out

    worse = copy.deepcopy(combined)
    worse["cells"][0]["outcome"] = "stale"
    assert main(["diff", str(old), str(_write(tmp_path / "worse.json", worse))]) == 1
    out = capsys.readouterr().out
    assert "WORSE" in out and "tensors/arange" in out


def test_cli_reports_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = make_results(numpy_cells())
    bad["cells"][1]["examples"] = -1
    path = _write(tmp_path / "bad.json", bad)
    assert main(["html", str(path), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "cells[1].examples" in err
    assert main(["diff", str(path), str(tmp_path / "missing.json")]) == 2


# -- the page in a real browser (optional) ---------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-headless-shell")

#: injected before the page's own script: records every uncaught error
_RECORD_ERRORS = (
    "<script>window.__errors = []; window.addEventListener('error', function (e) {"
    " window.__errors.push(String(e.message)); });</script>"
)
#: injected last: once the page has loaded, writes what a reader would see into the DOM
_REPORT_RENDERING = """<script>window.addEventListener('load', function () {
  var body = document.body, style = getComputedStyle(body), matrix = document.getElementById('matrix');
  document.documentElement.setAttribute('data-rendering', JSON.stringify({
    errors: window.__errors, display: style.display, visibility: style.visibility,
    hidden: body.hidden, matrix_height: matrix ? matrix.getBoundingClientRect().height : 0,
    text: body.innerText}));
});</script>"""


def rendering_in_chromium(page: Path, profile: Path) -> dict[str, Any]:
    """Open ``page`` in headless chromium: its script errors and what it renders."""
    html = page.read_text(encoding="utf-8")
    probe = page.with_name("probed.html")
    probe.write_text(html.replace("<head>", "<head>" + _RECORD_ERRORS, 1)
                     .replace("</body>", _REPORT_RENDERING + "</body>", 1), encoding="utf-8")
    proc = subprocess.run(
        [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    root = re.search(r"<html[^>]*data-rendering=\"([^\"]*)\"", proc.stdout)
    assert root is not None, "the page's load event never ran: " + proc.stdout[:500]
    rendering: dict[str, Any] = json.loads(html_lib.unescape(root.group(1)))
    return rendering


def assert_rendered(rendering: dict[str, Any]) -> None:
    assert rendering["errors"] == [], rendering["errors"]
    assert (rendering["display"], rendering["visibility"], rendering["hidden"]) == (
        "block", "visible", False)
    assert rendering["matrix_height"] > 0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed; the browser check is skipped")
def test_page_renders_in_headless_chromium(tmp_path: Path, combined: dict[str, Any]) -> None:
    page = tmp_path / "index.html"
    write_html(combined, page)
    rendering = rendering_in_chromium(page, tmp_path / "profile")
    assert_rendered(rendering)
    assert "tensors/sum_axis" in rendering["text"]  # rendered text, not only markup
    assert "T15" in rendering["text"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed; the browser check is skipped")
@pytest.mark.parametrize("script", [
    "throw new Error('report script broke');",
    "document.body.hidden = true;",
    "document.body.style.visibility = 'hidden';",
])
def test_the_browser_check_sees_a_script_error_and_a_hidden_page(
    tmp_path: Path, combined: dict[str, Any], script: str
) -> None:
    page = tmp_path / "index.html"
    write_html(combined, page)
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", f"<script>{script}</script></body>", 1), encoding="utf-8")
    rendering = rendering_in_chromium(page, tmp_path / "profile")
    with pytest.raises(AssertionError):
        assert_rendered(rendering)
