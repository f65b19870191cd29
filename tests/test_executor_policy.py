"""The restricted namespace itself, inspected from outside: what a solver can reach and what it cannot.

These tests read the policy tables and call the guards directly; no solver code runs here.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

import pytest

from executor import policy
from executor.policy import (
    ALLOWED_MODULES,
    SAFE_BUILTINS,
    ModuleProxy,
    RestrictedAccessError,
    compile_solver,
    guarded_getattr,
    guarded_import,
    guarded_write,
    make_class,
)

REVIEWED_BUILTINS = {
    # from RestrictedPython's safe_builtins
    "__build_class__",
    "None",
    "False",
    "True",
    "Ellipsis",
    "abs",
    "bool",
    "callable",
    "chr",
    "complex",
    "divmod",
    "float",
    "hash",
    "hex",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "oct",
    "ord",
    "pow",
    "range",
    "repr",
    "round",
    "slice",
    "str",
    # added back on purpose
    "list",
    "dict",
    "set",
    "frozenset",
    "tuple",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "map",
    "filter",
    "iter",
    "next",
    "bin",
    "ascii",
    "bytes",
    "staticmethod",
    "classmethod",
    "property",
    "__import__",
    "getattr",
    "hasattr",
    "format",
    # present only to say no
    "open",
    "exec",
    "eval",
    "compile",
    "globals",
    "locals",
    "vars",
    "dir",
    "input",
    "breakpoint",
    "help",
    "exit",
    "quit",
    "memoryview",
    "type",
    "object",
    "super",
    "setattr",
    "delattr",
    "id",
}


def test_builtins_are_exactly_the_reviewed_ones() -> None:
    names = {
        name
        for name in SAFE_BUILTINS
        if not (isinstance(SAFE_BUILTINS[name], type) and issubclass(SAFE_BUILTINS[name], BaseException))
    }
    assert names == REVIEWED_BUILTINS


@pytest.mark.parametrize("name", ["open", "eval", "exec", "type", "object", "vars", "setattr", "exit"])
def test_refused_builtins_name_the_refusal(name: str) -> None:
    with pytest.raises(RestrictedAccessError, match=name):
        SAFE_BUILTINS[name]()


def reachable(root: Any, depth: int) -> list[tuple[str, Any]]:
    """Everything reachable from root through attribute names the getattr guard lets through."""
    found, frontier = [], [("", root)]
    for _ in range(depth):
        following = []
        for path, obj in frontier:
            for name in dir(obj):
                try:
                    value = guarded_getattr(obj, name)
                except Exception:  # refused by the guard, or a descriptor that needs an instance
                    continue
                following.append((f"{path}.{name}", value))
        found.extend(following)
        frontier = following
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED_MODULES))
def test_no_allowed_module_leads_to_another_module_or_to_code(module: str) -> None:
    forbidden = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
    bad = [path for path, value in reachable(ALLOWED_MODULES[module], 3) if isinstance(value, forbidden)]
    assert bad == []


@pytest.mark.parametrize(
    ("module", "member"),
    [
        ("re", "enum"),
        ("re", "copyreg"),
        ("re", "functools"),
        ("re", "RegexFlag"),
        ("re", "template"),
        ("collections", "abc"),
        ("collections", "UserDict"),
        ("string", "Formatter"),
        ("string", "Template"),
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("operator", "setitem"),
        ("operator", "call"),
        ("functools", "update_wrapper"),
        ("functools", "wraps"),
        ("functools", "singledispatch"),
        ("functools", "total_ordering"),
        ("functools", "cached_property"),
    ],
)
def test_dangerous_members_are_withheld(module: str, member: str) -> None:
    if not hasattr(importlib.import_module(module), member):  # e.g. re.template, gone in Python 3.13
        with pytest.raises(AttributeError):
            guarded_getattr(ALLOWED_MODULES[module], member)
        return
    with pytest.raises(RestrictedAccessError, match=f"{module}.{member}"):
        guarded_getattr(ALLOWED_MODULES[module], member)


def test_re_flags_are_plain_ints() -> None:
    assert type(ALLOWED_MODULES["re"].IGNORECASE) is int


def test_module_proxies_are_read_only() -> None:
    proxy = ALLOWED_MODULES["math"]
    with pytest.raises(RestrictedAccessError):
        proxy.pi = 3
    with pytest.raises(RestrictedAccessError):
        guarded_write(proxy)
    with pytest.raises(RestrictedAccessError):
        guarded_getattr(proxy, "_members")
    assert isinstance(proxy, ModuleProxy) and proxy.pi > 3.14


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        ("text", "__class__"),
        ("text", "format"),
        (str, "format"),
        ("text", "format_map"),
        (str, "mro"),
        ((c for c in "ab"), "gi_frame"),
        ((c for c in "ab"), "gi_code"),
        (AttributeError("x"), "obj"),
        (types, "ModuleType"),
    ],
)
def test_getattr_guard_refuses(obj: Any, name: str) -> None:
    with pytest.raises(RestrictedAccessError):
        guarded_getattr(obj, name)


def test_getattr_guard_wants_a_plain_str_name() -> None:
    class Sneaky(str):
        def startswith(self, prefix: Any, *args: Any) -> bool:
            return False

    with pytest.raises(RestrictedAccessError):
        guarded_getattr("text", Sneaky("__class__"))
    assert guarded_getattr("text", "upper")() == "TEXT"
    assert guarded_getattr("text", "missing", "default") == "default"


def test_imports_only_from_the_allow_list() -> None:
    assert guarded_import("math") is ALLOWED_MODULES["math"]
    for name in ["os", "os.path", "sys", "socket", "subprocess", "collections.abc", "builtins", "importlib"]:
        with pytest.raises(RestrictedAccessError):
            guarded_import(name)
    with pytest.raises(RestrictedAccessError):
        guarded_import("math", None, None, (), 1)


def test_write_guard() -> None:
    for writable in ({}, [], set(), policy.collections.defaultdict(int), policy.collections.Counter()):
        assert guarded_write(writable) is writable
    made = make_class("Made", (), {})
    assert guarded_write(made) is made and type(guarded_write(made())) is made
    for shared in (policy.collections.Counter, str, len, (lambda: 0), "text", (1, 2), ALLOWED_MODULES["re"]):
        with pytest.raises(RestrictedAccessError):
            guarded_write(shared)


def test_class_statement_may_not_make_metaclasses() -> None:
    with pytest.raises(RestrictedAccessError):
        make_class("Meta", (type,), {})
    with pytest.raises(RestrictedAccessError):
        make_class("A", (), {}, metaclass=type)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("def solver(x):\n    return x\n", None),
        ("def solver(x)\n", "syntax_error"),
        ("def solver(x):\n    return x\x00\n", "syntax_error"),
        ("x = " + "(" * 500 + ")" * 500, "syntax_error"),
        ("def solver(x):\n    return x.__class__\n", "restricted"),
        ("def solver(x):\n    return eval(x)\n", "restricted"),
        ("def solver(x, _getiter_, /):\n    return x\n", "restricted"),
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", "restricted"),
        ("async def solver(x):\n    return x\n", "restricted"),
    ],
)
def test_compile_solver_categories(source: str, error: str | None) -> None:
    compiled = compile_solver(source)
    assert compiled.error == error
    assert (compiled.code is None) == (error is not None)
    assert (compiled.detail is None) == (error is None)


def test_only_the_class_statement_can_make_solver_classes() -> None:
    """A trusted helper calling type(cls)(name, bases, namespace) gets no unchecked class."""
    made = make_class("Made", (), {"__init__": lambda self: None, "value": 1})
    metaclass = type(made)
    for arguments in (("Exit", (), {"__exit__": lambda *a: None}), ("Plain", (), {}), (made,)):
        with pytest.raises((RestrictedAccessError, TypeError)):
            metaclass(*arguments)
    with pytest.raises(RestrictedAccessError):
        make_class("Exit", (), {"__exit__": lambda *a: None})
    with pytest.raises(RestrictedAccessError):
        make_class("Weird", (), {1: "not a name"})


def test_frames_tracebacks_and_code_are_opaque_whatever_the_attribute_name() -> None:
    try:
        raise ValueError("x")
    except ValueError as exc:
        traceback = exc.__traceback__
    assert traceback is not None
    opaque = (traceback, traceback.tb_frame, traceback.tb_frame.f_code)
    for obj in opaque:
        for name in ("clear", "co_name", "tb_lasti", "f_trace_lines", "replace", "no_such_attribute"):
            with pytest.raises(RestrictedAccessError):
                guarded_getattr(obj, name)
