"""The restricted Python of BPMN scripts and conditions (DESIGN.md, Engine: "Scripts").

SpiffWorkflow evaluates conditions, timer expressions and script tasks with plain eval/exec.
Every workflow of a Runtime gets SCRIPT_ENGINE instead: each source is parsed once, checked
(no imports, no dunder or private attributes, no frame or code introspection, no open, eval,
exec and the like), compiled and cached; it then runs with a small set of builtins under a
time limit. Not a sandbox against a hostile designer with unlimited tries (one huge C-level
operation such as `"x" * 10**10` is not interrupted), but a guard against mistakes and the
obvious escapes.
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
# Calls refused by name (most are also absent from the builtins, so the message is clearer).
FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "input", "breakpoint", "memoryview", "type", "help", "dir",
})
# Attributes that reach frames, code or globals without a leading underscore; `format`
# walks attributes inside its format string (f-strings are checked and allowed instead).
_INTROSPECTION_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_")
_FORBIDDEN_ATTRIBUTES = frozenset({"mro", "format", "format_map"})
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


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str) -> CodeType:
    """The source checked and compiled (`mode` "eval" or "exec"); cached per source."""
    tree: Any = ast.parse(source, "<string>", mode)
    for node in ast.walk(tree):
        reason = _refusal(node)
        if reason is not None:
            raise ScriptRefused(f"{reason} (line {getattr(node, 'lineno', 1)})")
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
