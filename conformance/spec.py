"""Loading and validating specs: YAML files under ``specs/`` into frozen objects.

A bad file never reaches the engine: every problem becomes one ``SpecError``
naming the file, the case and the field, and what was expected.  The YAML is
read with ``safe_load``; a spec's code is parsed, never executed, at load time.
See ``specs/README.md`` for the format.
"""

from __future__ import annotations

import doctest
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tensor_conformance import printed
from tensor_conformance.program import Program, ProgramError, bound_names, undefined_names
from tensor_conformance.strategies import DTYPE_NAMES, Draw, build


class SpecError(ValueError):
    """A spec file that does not follow the format."""

    def __init__(self, path: Path | str, where: str, message: str) -> None:
        self.path, self.where, self.message = str(path), where, message
        location = f"{path}: {where}" if where else str(path)
        super().__init__(f"{location}: {message}")


@dataclass(frozen=True)
class Claim:
    id: str
    group: str
    section: str
    claim: str
    example: str | None = None


@dataclass(frozen=True)
class Step:
    """One ``>>>`` line of a literal example and what the notes print for it."""

    program: Program
    printed: printed.Printed
    has_output: bool
    line: int
    #: the notes' printed text, as written
    text: str = ""


@dataclass(frozen=True)
class Example:
    id: str
    steps: tuple[Step, ...]
    exact_dtypes: bool
    source: str
    why: str | None = None
    #: the claims this example checks (its spec's, unless it narrows them)
    claims: tuple[str, ...] = ()

    @property
    def needs(self) -> frozenset[str]:
        return frozenset().union(*(s.program.needs for s in self.steps))

    @property
    def operations(self) -> frozenset[str]:
        return frozenset().union(*(s.program.operations for s in self.steps))


@dataclass(frozen=True)
class Case:
    """A generated case: hypothesis draws ``given``, every backend runs ``program``."""

    id: str
    given: dict[str, Draw] = field(repr=False)
    given_spec: dict[str, Any]
    program: Program
    #: expressions that must be true on every backend (the claim, stated as code)
    holds: tuple[str, ...]
    #: pairs of expressions that must agree on every backend within the bounds
    agree: tuple[tuple[str, str], ...]
    #: outputs that must raise on every backend
    raises: tuple[str, ...] = ()
    why: str | None = None
    #: run compiled as a whole (``stage``), never operation by operation
    compiled: bool = False
    #: the claims this case checks (its spec's, unless it narrows them)
    claims: tuple[str, ...] = ()

    @property
    def needs(self) -> frozenset[str]:
        return self.program.needs | ({"compile"} if self.compiled else set())

    @property
    def operations(self) -> frozenset[str]:
        return self.program.operations


@dataclass(frozen=True)
class Spec:
    id: str
    path: Path
    title: str
    claims: tuple[str, ...]
    notes: str
    examples: tuple[Example, ...]
    cases: tuple[Case, ...]


@cache
def _schema() -> dict[str, Any]:
    # beside this module (conformance/ in a checkout, the installed package's folder)
    text = Path(__file__).with_name("spec.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _path_text(path: Any) -> str:
    parts: list[str] = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _schema_errors(data: Any, path: Path) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    best = jsonschema.exceptions.best_match(errors)
    where = _path_text(best.absolute_path)
    message = best.message
    if best.validator == "additionalProperties":
        allowed = sorted(best.schema.get("properties", {}))
        message += f"; allowed keys here: {', '.join(allowed)}"
    raise SpecError(path, where, message)


def read_yaml(path: Path) -> Any:
    """A YAML file's data; an unreadable file, bad UTF-8 or bad YAML is a SpecError."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(path, "", "no such file") from None
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(path, "", f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        raise SpecError(path, "", f"not valid YAML: {' '.join(str(exc).split())}") from None


def load_claims(path: Path) -> dict[str, Claim]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(path, "", "expected a mapping: group -> list of claims")
    claims: dict[str, Claim] = {}
    for group, items in data.items():
        if not isinstance(items, list):
            raise SpecError(path, str(group), "expected a list of claims")
        for i, item in enumerate(items):
            where = f"{group}[{i}]"
            if not isinstance(item, dict):
                raise SpecError(path, where, "expected a mapping with id, section, claim")
            for key in ("id", "section", "claim"):
                if key not in item:
                    raise SpecError(path, where, f"missing key {key!r}")
            claims[item["id"]] = Claim(item["id"], group, str(item["section"]), item["claim"],
                                       item.get("example"))
    return claims


def _parse_program(code: str, path: Path, where: str) -> Program:
    try:
        return Program.parse(code)
    except ProgramError as exc:
        raise SpecError(path, where, f"code: {exc}") from None


def _check_names(program: Program, known: set[str], path: Path, where: str,
                 relations: int = 0) -> None:
    """Every name the code reads must be one the interpreter resolves (see
    ``program.undefined_names``); ``relations``: lines after this one are holds/agree."""
    for name, line in undefined_names(program, frozenset(known)):
        place = f"line {line}" if not relations or line <= relations else (
            f"relation {program.source.splitlines()[line - 1]!r}")
        raise SpecError(path, where, f"{place}: name {name!r} is not defined: a program may "
                        f"use its drawn names ({', '.join(sorted(known)) or 'none'}), names it "
                        "assigns before that line, def parameters, torch and the builtins "
                        "len, id, abs, max, min")


def _claims(raw: dict[str, Any], spec_claims: tuple[str, ...], path: Path,
            where: str) -> tuple[str, ...]:
    """An item's claims: the spec's, or the subset the item names."""
    own = tuple(raw.get("claims", spec_claims))
    for i, cid in enumerate(own):
        if cid not in spec_claims:
            raise SpecError(path, f"{where}.claims[{i}]",
                            f"{cid!r} is not one of the spec's claims ({', '.join(spec_claims)})")
    return own


def _example(raw: dict[str, Any], path: Path, where: str,
             spec_claims: tuple[str, ...] = ()) -> Example:
    parser = doctest.DocTestParser()
    try:
        parts = parser.get_examples(raw["doctest"])
    except ValueError as exc:
        raise SpecError(path, f"{where}.doctest", str(exc)) from None
    if not parts:
        raise SpecError(path, f"{where}.doctest", "no '>>> ' lines found")
    steps = []
    known: set[str] = set()  # a notebook: each line sees what earlier lines bound
    for part in parts:
        step_where = f"{where}.doctest line {part.lineno + 1}"
        program = _parse_program(part.source, path, step_where)
        _check_names(program, known, path, step_where)
        known |= bound_names(program)
        want = part.want.strip()
        if want and len(program.outputs) != 1:
            raise SpecError(path, step_where,
                            "a line with printed output must be one expression")
        try:
            expected = printed.parse(want) if want else None
        except printed.PrintedError as exc:
            raise SpecError(path, step_where, str(exc)) from None
        steps.append(Step(program, expected, bool(want), part.lineno + 1, want))
    return Example(raw["id"], tuple(steps), bool(raw.get("exact_dtypes", False)), raw["doctest"],
                   raw.get("why"), _claims(raw, spec_claims, path, where))


def _case(raw: dict[str, Any], path: Path, where: str,
          spec_claims: tuple[str, ...] = ()) -> Case:
    holds = tuple(raw.get("holds", ()))
    agree = tuple(tuple(pair) for pair in raw.get("agree", ()))
    # the relations run as extra output lines after the case's code
    extra = [*holds, *(side for pair in agree for side in pair)]
    program = _parse_program(raw["code"].rstrip("\n") + "\n" + "\n".join(extra), path,
                             f"{where}.code")
    for relation in extra:
        try:
            Program.parse(relation)
        except ProgramError as exc:
            raise SpecError(path, f"{where}: relation {relation!r}", str(exc)) from None
    _check_names(program, set(raw["given"]), path, f"{where}.code",
                 relations=raw["code"].rstrip("\n").count("\n") + 1)
    for output in raw.get("raises", ()):
        if output not in program.outputs:
            raise SpecError(path, f"{where}.raises",
                            f"{output!r} is not a top-level line of the code "
                            f"(its lines: {', '.join(program.outputs)})")
    given = {name: build(name, entry) for name, entry in raw["given"].items()}
    for name, entry in raw["given"].items():
        (kind, spec), = entry.items()
        refs = []
        if kind == "array":
            refs = [spec["dtype"], *(spec["shape"] if isinstance(spec.get("shape"), list)
                                     else [spec.get("shape")])]
        elif kind == "axis_of":
            refs = [spec]
        elif kind == "integers":
            refs = [spec.get("min_value"), spec.get("max_value")]
        earlier = list(raw["given"])[: list(raw["given"]).index(name)]
        for ref in refs:
            if isinstance(ref, str) and ref.split(".")[0] not in earlier and ref not in DTYPE_NAMES:
                raise SpecError(path, f"{where}.given.{name}",
                                f"refers to {ref!r}, which is not drawn before it "
                                f"(drawn before: {', '.join(earlier) or 'nothing'})")
    return Case(raw["id"], given, raw["given"], program, holds, agree,
                raises=tuple(raw.get("raises", ())), why=raw.get("why"),
                compiled=bool(raw.get("compiled", False)),
                claims=_claims(raw, spec_claims, path, where))


def load_spec(path: Path, root: Path, claims: dict[str, Claim] | None = None) -> Spec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(path, "", "expected a mapping with title, claims, examples/cases")
    _schema_errors(data, path)
    if claims is not None:
        for i, cid in enumerate(data["claims"]):
            if cid not in claims:
                raise SpecError(path, f"claims[{i}]", f"unknown claim id {cid!r} (see specs/claims.yaml)")
    spec_claims = tuple(data["claims"])
    examples = tuple(_example(raw, path, f"examples[{i}] ({raw['id']})", spec_claims)
                     for i, raw in enumerate(data.get("examples", ())))
    cases = tuple(_case(raw, path, f"cases[{i}] ({raw['id']})", spec_claims)
                  for i, raw in enumerate(data.get("cases", ())))
    ids = [e.id for e in examples] + [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SpecError(path, "", f"example/case ids must be unique within a spec: {dupes}")
    spec_id = path.relative_to(root).with_suffix("").as_posix()
    return Spec(spec_id, path, data["title"], tuple(data["claims"]), data.get("notes", ""),
                examples, cases)


def spec_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml")
                  if p.name != "claims.yaml" and "divergences" not in p.relative_to(root).parts)


def load_all(root: Path) -> tuple[list[Spec], dict[str, Claim]]:
    if not root.is_dir():
        raise SpecError(root, "", "--specs: no such folder")
    claims = load_claims(root / "claims.yaml")
    return [load_spec(p, root, claims) for p in spec_files(root)], claims
