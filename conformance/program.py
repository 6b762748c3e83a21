"""Programs: the notes' PyTorch code, run on any adapter.

A spec's code is written exactly as the documentation writes it
(``torch.arange(12)``, ``A.sum(axis=0)``, ``X[1, 2] = 9``, ``X += Y``,
``y.backward()``).  It is parsed once with ``ast`` (never ``eval``'d), checked
against the subset below, and interpreted: every tensor operation becomes one
call of the adapter's canonical method, Python values (ints, tuples, ``id()``)
stay Python.

The subset: assignments (to names, tuples of names and subscripts), ``+=``,
expressions, ``if``/``while``, ``def``/``return``; operators ``+ - * / ** == < >``
and unary ``-``; subscripts with ints, slices and ``...``; calls of the
``torch.*`` functions and tensor methods in ``FUNCTIONS`` and ``METHODS``; the
builtins ``len``, ``id``, ``abs``.

Top-level expression statements are the program's *outputs* (as in a notebook
cell): each is named by its source text and compared across backends.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tensor_conformance.adapters.protocol import NOT_GIVEN, Adapter, DtypeArg, NotApplicable
from tensor_conformance.hooks import AdapterHookError


class ProgramError(ValueError):
    """Code outside the supported subset (raised when a spec is loaded)."""


@dataclass(frozen=True)
class DtypeName:
    """``torch.float32`` and friends inside a program."""

    name: str


DTYPE_NAMES = {"float32", "float64", "int32", "int64", "bool", "float", "long"}
_DTYPE_ALIASES = {"float": "float32", "long": "int64"}


# -- the torch.* functions and tensor methods ----------------------------------------
def _shape_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...]:
    if "size" in kwargs:
        args = (kwargs.pop("size"),)
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return tuple(args[0])
    return tuple(args)


def _dtype(kwargs: dict[str, Any]) -> DtypeArg:
    """``dtype=`` as the program wrote it: a dtype's name, None, or ``NOT_GIVEN``."""
    if "dtype" not in kwargs:
        return NOT_GIVEN
    d = kwargs.pop("dtype")
    if d is None:
        return None
    if not isinstance(d, DtypeName):
        raise TypeError(f"dtype must be a torch dtype, got {d!r}")
    return d.name


def _axis(args: tuple[Any, ...], kwargs: dict[str, Any], default: Any = None) -> Any:
    for name in ("axis", "dim"):
        if name in kwargs:
            return kwargs.pop(name)
    return args[0] if args else default


def _keepdims(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    for name in ("keepdims", "keepdim"):
        if name in kwargs:
            return bool(kwargs.pop(name))
    return bool(args[1]) if len(args) > 1 else False


def _requires_grad(ad: Adapter, x: Any, kwargs: dict[str, Any]) -> Any:
    if kwargs.pop("requires_grad", False):
        return ad.requires_grad_(x)  # type: ignore[attr-defined]
    return x


Call = Callable[[Adapter, "Interpreter", tuple[Any, ...], dict[str, Any]], Any]

FUNCTIONS: dict[str, Call] = {
    "arange": lambda ad, it, a, k: _requires_grad(ad, ad.arange(a[0], _dtype(k)), k),
    "zeros": lambda ad, it, a, k: _requires_grad(ad, ad.zeros(_shape_args(a, k), _dtype(k)), k),
    "ones": lambda ad, it, a, k: _requires_grad(ad, ad.ones(_shape_args(a, k), _dtype(k)), k),
    "zeros_like": lambda ad, it, a, k: ad.zeros_like(a[0]),
    "randn": lambda ad, it, a, k: _requires_grad(ad, ad.randn(_shape_args(a, k), it.seed), k),
    "tensor": lambda ad, it, a, k: _requires_grad(ad, ad.tensor(a[0], _dtype(k)), k),
    "cat": lambda ad, it, a, k: ad.cat(tuple(a[0]), _axis(a[1:], k, 0)),
    "exp": lambda ad, it, a, k: ad.exp(a[0]),
    "abs": lambda ad, it, a, k: ad.abs(a[0]),
    "dot": lambda ad, it, a, k: ad.dot(a[0], a[1]),
    "mv": lambda ad, it, a, k: ad.mv(a[0], a[1]),
    "mm": lambda ad, it, a, k: ad.mm(a[0], a[1]),
    "norm": lambda ad, it, a, k: ad.norm(a[0], k.pop("p", a[1] if len(a) > 1 else 2)),
    "sum": lambda ad, it, a, k: ad.sum(a[0], _axis(a[1:], k), _keepdims(a[1:], k)),
    "mean": lambda ad, it, a, k: ad.mean(a[0], _axis(a[1:], k), _keepdims(a[1:], k)),
    "cumsum": lambda ad, it, a, k: ad.cumsum(a[0], _axis(a[1:], k)),
    "reshape": lambda ad, it, a, k: ad.reshape(a[0], _shape_args(a[1:], k)),
}

METHODS: dict[str, Call] = {
    "reshape": lambda ad, it, a, k: ad.reshape(a[0], _shape_args(a[1:], k)),
    "sum": FUNCTIONS["sum"],
    "mean": FUNCTIONS["mean"],
    "cumsum": FUNCTIONS["cumsum"],
    "numel": lambda ad, it, a, k: ad.numel(a[0]),
    "norm": FUNCTIONS["norm"],
    "abs": FUNCTIONS["abs"],
    "exp": FUNCTIONS["exp"],
    "requires_grad_": lambda ad, it, a, k: ad.requires_grad_(a[0]),  # type: ignore[attr-defined]
    "backward": lambda ad, it, a, k: ad.backward(a[0]),  # type: ignore[attr-defined]
    "detach": lambda ad, it, a, k: ad.detach(a[0]),  # type: ignore[attr-defined]
    "zero_": lambda ad, it, a, k: ad.zero_(a[0]),  # type: ignore[attr-defined]
}

ATTRIBUTES: dict[str, Callable[[Adapter, Any], Any]] = {
    "shape": lambda ad, x: ad.shape(x),
    "T": lambda ad, x: ad.transpose(x),
    "grad": lambda ad, x: ad.grad(x),  # type: ignore[attr-defined]
}

BUILTINS = {"len", "id", "abs", "max", "min"}

#: capability each operation needs (everything else needs none)
NEEDS: dict[str, str] = {
    "setitem": "in_place",
    "iadd": "in_place",
    "requires_grad_": "autograd",
    "requires_grad": "autograd",
    "backward": "autograd",
    "detach": "autograd",
    "zero_": "autograd",
    "grad": "autograd",
    "randn": "random",
}

_BINOPS: dict[type, str] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
                            ast.Pow: "pow"}
_CMPOPS: dict[type, str] = {ast.Eq: "eq", ast.Lt: "lt", ast.Gt: "gt"}
#: operators on Python values only (shapes, axes, counts), never on tensors
_PY_ONLY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Mod: lambda a, b: a % b, ast.FloorDiv: lambda a, b: a // b,
    ast.NotEq: lambda a, b: a != b, ast.LtE: lambda a, b: a <= b, ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_PY_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a**b, "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b, "gt": lambda a, b: a > b,
}

MAX_LOOP = 10_000


class LoopLimit(ProgramError):
    """A ``while`` loop reached ``MAX_LOOP`` iterations: an error of the spec (its loop
    does not end on these inputs), never a result to compare."""


# -- validation ---------------------------------------------------------------------------
_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.While, ast.FunctionDef,
    ast.Return, ast.Pass, ast.arguments, ast.arg, ast.Name, ast.Load, ast.Store, ast.Constant,
    ast.Attribute, ast.Call, ast.keyword, ast.BinOp, ast.UnaryOp, ast.USub, ast.Compare,
    ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.BoolOp, ast.And, ast.Or, ast.Not,
    *_BINOPS, *_CMPOPS, *_PY_ONLY,
)


@dataclass(frozen=True)
class Program:
    """Parsed, checked code; ``outputs`` are the top-level expression statements."""

    source: str
    tree: ast.Module = field(repr=False)
    outputs: tuple[str, ...]
    needs: frozenset[str]
    #: each top-level statement with its source text (how outputs are named)
    statements: tuple[tuple[ast.stmt, str], ...] = field(repr=False, default=())
    #: the operations that need a capability (keys of NEEDS) the program uses
    operations: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, source: str) -> Program:
        """Parse once: the same relation text is checked on every example."""
        return _parse(source)

    @classmethod
    def _parse_uncached(cls, source: str) -> Program:
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ProgramError(f"line {exc.lineno}: {exc.msg}") from None
        needs: set[str] = set()
        operations: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED_NODES):
                line = getattr(node, "lineno", "?")
                raise ProgramError(
                    f"line {line}: {type(node).__name__} is outside the supported subset "
                    "(see specs/README.md, 'Programs')"
                )
            _check_names(node, needs)
            name = node.attr if isinstance(node, ast.Attribute) else (
                node.arg if isinstance(node, ast.keyword) else None)
            if name in NEEDS:
                operations.add(name)
        statements = tuple((s, ast.get_source_segment(source, s) or ast.unparse(s))
                           for s in tree.body)
        outputs = tuple(text for s, text in statements if isinstance(s, ast.Expr))
        return cls(source, tree, outputs, frozenset(needs), statements, frozenset(operations))


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> Program:
    return Program._parse_uncached(source)


def _check_names(node: ast.AST, needs: set[str]) -> None:
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "torch":
            if node.attr not in FUNCTIONS and node.attr not in DTYPE_NAMES:
                raise ProgramError(
                    f"line {node.lineno}: torch.{node.attr} is not supported; "
                    f"supported: {', '.join(sorted(FUNCTIONS))}"
                )
        elif node.attr not in METHODS and node.attr not in ATTRIBUTES:
            raise ProgramError(
                f"line {node.lineno}: .{node.attr} is not a supported method or attribute; "
                f"supported: {', '.join(sorted(METHODS | ATTRIBUTES))}"
            )
        if node.attr in NEEDS:
            needs.add(NEEDS[node.attr])
    elif isinstance(node, ast.keyword) and node.arg in NEEDS:
        needs.add(NEEDS[node.arg])
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
        needs.add("in_place")
    elif isinstance(node, ast.AugAssign):
        if not isinstance(node.op, ast.Add) or not isinstance(node.target, ast.Name):
            raise ProgramError(f"line {node.lineno}: only `name += value` is supported")
        needs.add("in_place")


# -- names ----------------------------------------------------------------------------------
#: names every program may use besides its own: the module and the supported builtins
PREDEFINED = frozenset({"torch", *BUILTINS})


def _stores(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def bound_names(program: Program) -> frozenset[str]:
    """Names the program binds at top level (assignments, ``def``s), in any branch."""
    names: set[str] = set()
    for stmt, _ in program.statements:
        names.update(_stores(stmt))
        names.update(n.name for n in ast.walk(stmt) if isinstance(n, ast.FunctionDef))
    return frozenset(names)


def undefined_names(program: Program, known: frozenset[str] | set[str]) -> list[tuple[str, int]]:
    """Every name the program reads that nothing defines, with its line: ``known`` (the
    drawn names, or what earlier lines of a notebook bound), names assigned before the
    line, ``def`` parameters and locals, ``torch`` and the supported builtins.  The
    interpreter resolves nothing else (``open``, ``getattr``, ``__import__``, a typo)."""
    module_names = set(known) | PREDEFINED | bound_names(program)
    found: list[tuple[str, int]] = []

    def reads(node: ast.AST | None, scope: set[str]) -> None:
        if node is None:
            return
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store) and n.id not in scope:
                found.append((n.id, n.lineno))

    def block(stmts: list[ast.stmt], scope: set[str]) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.FunctionDef):
                scope.add(stmt.name)
                local = set(module_names) | scope | {a.arg for a in stmt.args.args}
                for s in stmt.body:
                    if not isinstance(s, ast.FunctionDef):
                        local.update(_stores(s))
                    else:
                        local.add(s.name)
                block(list(stmt.body), local)
            elif isinstance(stmt, ast.Assign):
                reads(stmt.value, scope)
                for target in stmt.targets:
                    reads(target, scope)  # the subscripted object of `X[i] = v`
                    scope.update(_stores(target))
            elif isinstance(stmt, ast.AugAssign):
                reads(stmt.value, scope)
                if isinstance(stmt.target, ast.Name) and stmt.target.id not in scope:
                    found.append((stmt.target.id, stmt.lineno))
            elif isinstance(stmt, ast.If | ast.While):
                reads(stmt.test, scope)
                block(list(stmt.body), scope)
                block(list(stmt.orelse), scope)
            elif isinstance(stmt, ast.Expr | ast.Return):
                reads(stmt.value, scope)

    block(list(program.tree.body), set(known) | PREDEFINED)
    return found


# -- running -------------------------------------------------------------------------------
@dataclass
class Raised:
    """An operation raised: the output is the error, compared as 'raises'."""

    error: BaseException
    statement: str

    def describe(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class Function:
    node: ast.FunctionDef
    scope: dict[str, Any]


class Interpreter:
    """Runs programs on one adapter, keeping variables between calls (a notebook)."""

    def __init__(self, adapter: Adapter, variables: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        self.adapter = adapter
        self.globals: dict[str, Any] = dict(variables or {})
        self.seed: Any = seed  # an int, or the compiled program's traced argument

    def run(self, program: Program, snapshot: Callable[[Any], Any] = lambda v: v) -> dict[str, Any]:
        """Execute; return {output source: snapshot(value)}.  ``snapshot`` reads an output
        the moment it is produced, as a notebook prints it (a later in-place change, such
        as gradient accumulation, must not alter what was shown).  An exception of the
        backend becomes a ``Raised`` output for the statement that raised it, and stops
        the program."""
        outputs: dict[str, Any] = {}
        for stmt, text in program.statements:
            try:
                if isinstance(stmt, ast.Expr):
                    outputs[text] = snapshot(self.eval(stmt.value, self.globals))
                else:
                    self.exec(stmt, self.globals)
            except _Return:
                raise ProgramError("return outside a function") from None
            except (ProgramError, KeyboardInterrupt, AdapterHookError):
                raise
            except AttributeError as exc:
                if exc.obj is self.adapter and exc.name:  # an adapter method left out
                    raise NotApplicable(f"needs adapter method {exc.name}(): {self.adapter.name} "
                                        "does not implement it (see adapters/protocol.py)") from exc
                outputs[text] = snapshot(Raised(exc, text))
                break
            except Exception as exc:  # the backend's own error is a result
                if type(exc).__name__ == "Indeterminate":
                    raise
                outputs[text] = snapshot(Raised(exc, text))
                break
        return outputs

    # statements
    def exec(self, stmt: ast.stmt, scope: dict[str, Any]) -> None:
        ad = self.adapter
        if isinstance(stmt, ast.Expr):
            self.eval(stmt.value, scope)
        elif isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value, scope)
            for target in stmt.targets:
                self._assign(target, value, scope)
        elif isinstance(stmt, ast.AugAssign):
            assert isinstance(stmt.target, ast.Name)
            current = self.eval(stmt.target, scope)
            value = self.eval(stmt.value, scope)
            if ad.is_tensor(current):
                scope[stmt.target.id] = ad.iadd(current, value)
            else:
                scope[stmt.target.id] = current + value
        elif isinstance(stmt, ast.If):
            branch = stmt.body if self._truth(stmt.test, scope) else stmt.orelse
            for s in branch:
                self.exec(s, scope)
        elif isinstance(stmt, ast.While):
            for _ in range(MAX_LOOP):
                if not self._truth(stmt.test, scope):
                    break
                for s in stmt.body:
                    self.exec(s, scope)
            else:
                raise LoopLimit(f"line {stmt.lineno}: the while loop reached the interpreter's "
                                f"cap of {MAX_LOOP} iterations (an error of the spec: the loop "
                                "must end on every drawn input)")
        elif isinstance(stmt, ast.FunctionDef):
            scope[stmt.name] = Function(stmt, scope)
        elif isinstance(stmt, ast.Return):
            raise _Return(None if stmt.value is None else self.eval(stmt.value, scope))
        elif isinstance(stmt, ast.Pass):
            pass
        else:  # pragma: no cover - rejected by Program.parse
            raise ProgramError(type(stmt).__name__)

    def _truth(self, test: ast.expr, scope: dict[str, Any]) -> bool:
        value = self.eval(test, scope)
        return self.adapter.to_bool(value) if self.adapter.is_tensor(value) else bool(value)

    def _assign(self, target: ast.expr, value: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = value
        elif isinstance(target, ast.Tuple):
            items = list(value)
            if len(items) != len(target.elts):
                raise ValueError(f"cannot unpack {len(items)} values into {len(target.elts)}")
            for t, v in zip(target.elts, items, strict=True):
                self._assign(t, v, scope)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value, scope)
            self.adapter.setitem(obj, self._key(target.slice, scope), value)
        else:
            raise ProgramError(f"cannot assign to {ast.unparse(target)}")

    # expressions
    def eval(self, node: ast.expr, scope: dict[str, Any]) -> Any:
        ad = self.adapter
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._lookup(node.id, scope)
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e, scope) for e in node.elts)
        if isinstance(node, ast.List):
            return [self.eval(e, scope) for e in node.elts]
        if isinstance(node, ast.BinOp) and type(node.op) in _PY_ONLY:
            return self._python_only(node.op, node.left, node.right, scope)
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _PY_ONLY:
            return self._python_only(node.ops[0], node.left, node.comparators[0], scope)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            for value in node.values:
                result = self.eval(value, scope)
                truth = ad.to_bool(result) if ad.is_tensor(result) else bool(result)
                if truth != is_and:
                    return result
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self._truth(node.operand, scope)
        if isinstance(node, ast.BinOp):
            return self._binary(_BINOPS[type(node.op)], self.eval(node.left, scope),
                                self.eval(node.right, scope))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ProgramError("chained comparisons are not supported")
            return self._binary(_CMPOPS[type(node.ops[0])], self.eval(node.left, scope),
                                self.eval(node.comparators[0], scope))
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand, scope)
            return ad.neg(operand) if ad.is_tensor(operand) else -operand
        if isinstance(node, ast.Subscript):
            obj = self.eval(node.value, scope)
            key = self._key(node.slice, scope)
            return ad.getitem(obj, key) if ad.is_tensor(obj) else obj[key]
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "torch":
                if node.attr in DTYPE_NAMES:
                    return DtypeName(_DTYPE_ALIASES.get(node.attr, node.attr))
                raise ProgramError(f"torch.{node.attr} must be called")
            obj = self.eval(node.value, scope)
            if node.attr in ATTRIBUTES:
                return ATTRIBUTES[node.attr](ad, obj)
            raise ProgramError(f".{node.attr} must be called")
        if isinstance(node, ast.Call):
            return self._call(node, scope)
        raise ProgramError(f"unsupported expression {ast.unparse(node)}")

    def _binary(self, op: str, a: Any, b: Any) -> Any:
        ad = self.adapter
        if ad.is_tensor(a) or ad.is_tensor(b):
            return getattr(ad, op)(a, b)
        return _PY_BINOPS[op](a, b)

    def _python_only(self, op: ast.AST, left: ast.expr, right: ast.expr,
                     scope: dict[str, Any]) -> Any:
        a, b = self.eval(left, scope), self.eval(right, scope)
        identity = isinstance(op, ast.Is | ast.IsNot)  # `x.grad is None` is about any object
        if not identity and (self.adapter.is_tensor(a) or self.adapter.is_tensor(b)):
            raise ProgramError(f"{type(op).__name__} is only supported on Python values")
        return _PY_ONLY[type(op)](a, b)

    def _key(self, node: ast.expr, scope: dict[str, Any]) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.eval(p, scope)
                     for p in (node.lower, node.upper, node.step)]
            return slice(*parts)
        if isinstance(node, ast.Tuple):
            return tuple(self._key(e, scope) for e in node.elts)
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return Ellipsis
        return self.eval(node, scope)

    def _lookup(self, name: str, scope: dict[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name in self.globals:
            return self.globals[name]
        raise NameError(f"name {name!r} is not defined")

    def _call(self, node: ast.Call, scope: dict[str, Any]) -> Any:
        ad = self.adapter
        args = tuple(self.eval(a, scope) for a in node.args)
        kwargs = {k.arg: self.eval(k.value, scope) for k in node.keywords if k.arg}
        func = node.func
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "torch":
                result = FUNCTIONS[func.attr](ad, self, args, kwargs)
            else:
                obj = self.eval(func.value, scope)
                result = METHODS[func.attr](ad, self, (obj, *args), kwargs)
                if func.attr == "requires_grad_" and isinstance(func.value, ast.Name):
                    # PyTorch marks x itself; a functional library returns a new tracked
                    # value, which x must now name (for PyTorch it is the same object);
                    # documented in adapters/protocol.py (Autograd) and the README
                    scope[func.value.id] = result
            if kwargs:
                raise TypeError(f"{func.attr}() got unexpected arguments {sorted(kwargs)}")
            return result
        if isinstance(func, ast.Name):
            if func.id == "len":
                return ad.length(args[0]) if ad.is_tensor(args[0]) else len(args[0])
            if func.id == "id":
                return id(args[0])
            if func.id == "abs":
                return ad.abs(args[0]) if ad.is_tensor(args[0]) else abs(args[0])
            if func.id in ("max", "min"):
                return (max if func.id == "max" else min)(*args)
            target = self._lookup(func.id, scope)
            if isinstance(target, Function):
                return self._call_function(target, args)
        raise ProgramError(f"cannot call {ast.unparse(func)}")

    def _call_function(self, fn: Function, args: tuple[Any, ...]) -> Any:
        params = [a.arg for a in fn.node.args.args]
        if len(params) != len(args):
            raise TypeError(f"{fn.node.name}() takes {len(params)} arguments, got {len(args)}")
        local = dict(zip(params, args, strict=True))
        chained = _Chain(local, fn.scope)
        try:
            for s in fn.node.body:
                self.exec(s, chained)
        except _Return as ret:
            return ret.value
        return None


class _Chain(dict):  # type: ignore[type-arg]
    """A function's local scope that reads through to the enclosing one."""

    def __init__(self, local: dict[str, Any], parent: dict[str, Any]) -> None:
        super().__init__(local)
        self.parent = parent

    def __missing__(self, key: str) -> Any:
        return self.parent[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.parent
