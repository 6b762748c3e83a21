"""Validation of ``results.json`` (schema version 1) against ``results.schema.json``.

The JSON Schema checks shapes and types; :func:`validate_results` adds the few
rules a schema cannot say: a cell is identified by ``(spec, case, backend)``,
so that key, a claim id and a backend name must each be unique in one file.
Every error is a :class:`ValueError` that names the path of the bad field,
e.g. ``cells[3].outcome``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

SCHEMA_VERSION = 1
SCHEMA_FILE = "results.schema.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = (
        resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def load_schema() -> dict[str, Any]:
    """The JSON Schema of results.json, as a dict."""
    schema = _validator().schema
    assert not isinstance(schema, bool), "results.schema.json is an object"
    return dict(schema)


def format_path(parts: Iterable[Any]) -> str:
    """``["cells", 3, "outcome"]`` -> ``"cells[3].outcome"``; the root is ``"(top level)"``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def validate_results(data: Any) -> None:
    """Raise ValueError naming the bad field's path if ``data`` is not a valid results dict."""
    if (
        isinstance(data, dict)
        and "schema_version" in data
        and data["schema_version"] != SCHEMA_VERSION
    ):
        raise ValueError(
            f"schema_version: this report reads schema version {SCHEMA_VERSION}, "
            f"the file has {data['schema_version']!r}"
        )
    errors = list(_validator().iter_errors(data))
    if errors:
        error = best_match(errors)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ValueError(f"{format_path(error.absolute_path)}: {error.message}{more}")
    _check_unique(data)


def _check_unique(data: dict[str, Any]) -> None:
    def first_duplicate(items: list[Any], what: str, key: Any) -> None:
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            k = key(item)
            if k in seen:
                raise ValueError(
                    f"{what}[{i}]: duplicate {k!r}, already at {what}[{seen[k]}]"
                )
            seen[k] = i

    first_duplicate(data["run"]["backends"], "run.backends", lambda b: b["name"])
    first_duplicate(data["claims"], "claims", lambda c: c["id"])
    first_duplicate(
        data["cells"], "cells", lambda c: (c["spec"], c["case"], c["backend"])
    )


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and validate a results.json file; errors name the file and the field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    try:
        validate_results(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return data
