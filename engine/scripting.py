"""The restricted Python of BPMN scripts and conditions (DESIGN.md, Engine: "Scripts").

SpiffWorkflow evaluates conditions, timer expressions and script tasks with plain eval/exec.
Every workflow of a Runtime gets SCRIPT_ENGINE instead: each source is parsed once, checked
(no imports, no dunder or private attributes, no frame or code introspection, no open, eval,
exec and the like), compiled and cached; it then runs with a small set of builtins under a
time limit. The operations that can allocate a lot in one C-level step, which the time limit
cannot interrupt (`*`, `+`, `<<` and `**` on strings, lists and integers, augmented
assignments, padding and `replace`), go through guards that refuse results over
MAX_ITEMS items or MAX_INT_BITS bits before computing them. Not a sandbox against a hostile
designer with unlimited tries (a list grown with `extend` in a loop is bounded only by the
time limit), but a guard against mistakes and the obvious escapes.
"""

from __future__ import annotations

import ast
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

TIME_LIMIT_SECONDS = 1.0
MAX_RANGE = 100_000
# The largest string, bytes or list and the largest integer one guarded operation may build.
MAX_ITEMS = 1_000_000
MAX_INT_BITS = 100_000
# Calls refused by name (most are also absent from the builtins, so the message is clearer).
FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "input", "breakpoint", "memoryview", "type", "help", "dir",
})
# Attributes that reach frames, code or globals without a leading underscore; `format`
# walks attributes inside its format string (f-strings are checked and allowed instead).
_INTROSPECTION_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_")
_FORBIDDEN_ATTRIBUTES = frozenset({"mro", "format", "format_map", "expandtabs"})
# The time limit stops a script by raising inside it (which also ends the tracing): nothing
# in a script may catch that or run on after it, so no try, with or class statements.
_REFUSED_STATEMENTS = (ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.ClassDef,
                       ast.AsyncFunctionDef, ast.Await, ast.Global, ast.Nonlocal)
_REFUSED_STATEMENTS_WHY = ("try, with, class, async, global and nonlocal statements are not "
                           "allowed: an error must reach the designer as an incident")


class ScriptError(Exception):
    """A script or condition was refused or stopped by the restrictions."""


class ScriptRefused(ScriptError):
    """The source uses a construct scripts may not use."""


class ScriptTimeout(ScriptError):
    """The script ran longer than the time limit."""


class ScriptTooLarge(ScriptError):
    """The script would build a value larger than the limits."""


class _Expired(BaseException):
    """Raised inside the script: a BaseException, so that `except Exception` does not stop it."""


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise ValueError(f"range of {len(values)} numbers: scripts may use at most {MAX_RANGE}")
    return values


SAFE_BUILTINS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round, "int": int,
    "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "set": set,
    "tuple": tuple, "sorted": sorted, "reversed": reversed, "any": any, "all": all,
    "range": _bounded_range, "enumerate": enumerate, "zip": zip, "isinstance": isinstance,
    "divmod": divmod,
    "Exception": Exception, "ValueError": ValueError, "KeyError": KeyError,
    "TypeError": TypeError, "IndexError": IndexError, "ZeroDivisionError": ZeroDivisionError,
}


def _refusal(node: ast.AST) -> str | None:
    """Why a node is refused, or None."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "imports are not allowed"
    if isinstance(node, _REFUSED_STATEMENTS):
        return _REFUSED_STATEMENTS_WHY
    if isinstance(node, ast.FunctionDef) and node.name.startswith("__"):
        return f"the name '{node.name}' is not allowed"
    if isinstance(node, ast.Name) and node.id.startswith("__"):
        return f"the name '{node.id}' is not allowed"
    if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr.startswith(_INTROSPECTION_PREFIXES)
            or node.attr in _FORBIDDEN_ATTRIBUTES):
        return f"the attribute '.{node.attr}' is not allowed"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS):
        return f"calling '{node.func.id}' is not allowed"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
            node.value.startswith("__") and node.value.endswith("__") and len(node.value) > 4):
        return f"the string '{node.value}' is not allowed"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not (
            isinstance(node.right, ast.Constant) and isinstance(node.right.value, int | float)
            and abs(node.right.value) <= 100):
        return "'**' needs a constant exponent of at most 100"
    return None


def _too_large(what: str) -> ScriptTooLarge:
    return ScriptTooLarge(f"the script would build {what}: scripts may build at most "
                          f"{MAX_ITEMS:,} items or integers of {MAX_INT_BITS:,} bits")


def _check_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise _too_large(f"a value of {count:,} items")


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _too_large(f"an integer of {bits:,} bits")


_SIZED = (str, bytes, bytearray, list, tuple)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mul(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        _check_bits(a.bit_length() + b.bit_length())
    elif isinstance(a, _SIZED) and _is_int(b):
        _check_items(len(a) * b)
    elif isinstance(b, _SIZED) and _is_int(a):
        _check_items(len(b) * a)
    return a * b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SIZED) and isinstance(b, _SIZED):
        _check_items(len(a) + len(b))
    return a + b


def _lshift(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b) and b > 0:
        _check_bits(a.bit_length() + b)
    return a << b


def _pow(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b) and b > 0:
        _check_bits(a.bit_length() * b)
    return a ** b


def _method(target: Any, name: str, *args: Any) -> Any:
    """A padding or replace call on `target`, refused if its result would be too large."""
    if name == "replace" and isinstance(target, str | bytes) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            text: Any = target  # str or bytes; a mismatch with `old` fails as replace would
            count = text.count(old) if old else len(text) + 1
            if len(args) > 2 and _is_int(args[2]) and args[2] >= 0:
                count = min(count, args[2])
            _check_items(len(target) + count * max(len(new) - len(old), 0))
    elif name in _PADDING and args and _is_int(args[0]):
        _check_items(args[0])
    return getattr(target, name)(*args)


_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})
_GUARDED_METHODS = _PADDING | {"replace"}
# Names no script can write (the check refuses names starting with "__"), bound in the
# builtins: the rewritten code calls them.
_GUARDS: dict[type[ast.operator], str] = {
    ast.Mult: "__motcua_mul", ast.Add: "__motcua_add", ast.LShift: "__motcua_lshift",
    ast.Pow: "__motcua_pow",
}
_GUARD_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "__motcua_mul": _mul, "__motcua_add": _add, "__motcua_lshift": _lshift,
    "__motcua_pow": _pow, "__motcua_method": _method,
}
SAFE_BUILTINS.update(_GUARD_FUNCTIONS)


class _Guarded(ast.NodeTransformer):
    """Rewrite the operations that can allocate a lot at once into calls of the guards."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(guard, ast.Load()),
                                          [node.left, node.right], []), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        # `x[i] *= n` evaluates `x[i]`'s parts twice once rewritten; scripts keep them simple.
        load = _as_load(node.target)
        value = ast.Call(ast.Name(guard, ast.Load()), [load, node.value], [])
        return ast.copy_location(ast.Assign([node.target], value), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in _GUARDED_METHODS
                and not node.keywords):
            return ast.copy_location(ast.Call(
                ast.Name("__motcua_method", ast.Load()),
                [func.value, ast.Constant(func.attr), *node.args], []), node)
        return node


def _as_load(target: ast.expr) -> ast.expr:
    """The same target as an expression that reads it."""
    return ast.parse(ast.unparse(target), mode="eval").body


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str) -> CodeType:
    """The source checked and compiled (`mode` "eval" or "exec"); cached per source."""
    tree: Any = ast.parse(source, "<string>", mode)
    for node in ast.walk(tree):
        reason = _refusal(node)
        if reason is not None:
            raise ScriptRefused(f"{reason} (line {getattr(node, 'lineno', 1)})")
    tree = ast.fix_missing_locations(_Guarded().visit(tree))
    return compile(tree, "<string>", mode)


def check_source(source: str, mode: str = "exec") -> str | None:
    """Why a script ("exec") or expression ("eval") would be refused, or None if it is fine."""
    try:
        compile_checked(source, mode)
    except (ScriptRefused, SyntaxError) as exc:
        return str(exc)
    return None


def _run_bounded(run: Callable[[], Any], limit: float) -> Any:
    """Run with a tracer that stops Python-level work after `limit` seconds."""
    deadline = time.perf_counter() + limit
    clock = time.perf_counter

    def trace(frame: FrameType, kind: str, arg: Any) -> Any:
        if clock() > deadline:
            raise _Expired
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return run()
    except _Expired:
        raise ScriptTimeout(f"stopped after {limit:g} s: the script runs too long") from None
    finally:
        sys.settrace(previous)


class RestrictedEnvironment(TaskDataEnvironment):
    """Task data as globals, the safe builtins, checked code and a time limit."""

    def __init__(self, time_limit: float = TIME_LIMIT_SECONDS) -> None:
        super().__init__({})
        self.time_limit = time_limit

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        """The value of an expression over the task data."""
        code = compile_checked(expression, "eval")
        scope = {**(external_context or {}), **context, "__builtins__": SAFE_BUILTINS}
        return _run_bounded(lambda: eval(code, scope), self.time_limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        """Run a script whose globals are the task data (what it assigns stays there)."""
        code = compile_checked(script, "exec")
        external = external_context or {}
        context.update(external)
        context["__builtins__"] = SAFE_BUILTINS
        try:
            _run_bounded(lambda: exec(code, context), self.time_limit)
        finally:
            self._remove_globals_and_functions_from_context(context, external)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine on the restricted environment."""

    def __init__(self, time_limit: float = TIME_LIMIT_SECONDS) -> None:
        super().__init__(environment=RestrictedEnvironment(time_limit))

    def validate(self, expression: str) -> None:
        """Refuse what the environment would refuse (SpiffWorkflow's DMN parser calls this)."""
        compile_checked(expression, "eval")


SCRIPT_ENGINE = RestrictedScriptEngine()
