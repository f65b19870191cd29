"""The restricted namespace a solver runs in: compiler, guards, builtins and module proxies.

Layer 1 of the executor. Everything a solver can reach is listed here on purpose:
RestrictedPython rewrites attribute access, item access, iteration, unpacking, writes, in-place
operators, ``print`` and class definitions into calls of the guards below, and rejects names
that start with ``_``, ``exec``/``eval`` calls, frame and generator attributes and ``except*`` at
compile time. Allowed modules are handed over as read-only proxies holding only the listed
members, so no module attribute leads to another module and no helper does attribute access by
name (``operator.attrgetter``, ``string.Formatter``, ``functools.update_wrapper`` and the like
are left out).

This module runs only inside the worker process; the app's own process never executes solver code.
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import itertools
import math
import operator
import re
import string
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from RestrictedPython import PrintCollector, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
    safer_getattr_raise,
)
from RestrictedPython.transformer import ALLOWED_FUNC_NAMES, INSPECT_ATTRIBUTES

SOLVER_FILENAME = "<solver>"
SOLVER_NAME = "solver"


class RestrictedAccessError(Exception):
    """Raised by a guard when solver code reaches for something the sandbox does not allow."""


class RestrictedAttributeError(RestrictedAccessError, AttributeError):
    pass


class RestrictedImportError(RestrictedAccessError, ImportError):
    pass


class RestrictedWriteError(RestrictedAccessError, TypeError):
    pass


# ---------------------------------------------------------------------------------------------
# Compiling


@dataclass(frozen=True)
class Compiled:
    code: types.CodeType | None
    error: str | None  # "syntax_error" or "restricted" when code is None
    detail: str | None


def compile_solver(source: str) -> Compiled:
    """Parse, restrict and compile solver source; never raises for bad source."""
    try:
        tree = ast.parse(source, SOLVER_FILENAME, "exec")
    except SyntaxError as exc:
        return Compiled(None, "syntax_error", _syntax_detail(exc))
    except (ValueError, MemoryError, RecursionError) as exc:
        return Compiled(None, "syntax_error", _nesting_detail(exc))
    try:
        result = compile_restricted_exec(tree, SOLVER_FILENAME)
    except SyntaxError as exc:
        return Compiled(None, "syntax_error", _syntax_detail(exc))
    except (ValueError, MemoryError, RecursionError) as exc:
        return Compiled(None, "syntax_error", _nesting_detail(exc))
    if result.errors or result.code is None:
        detail = "; ".join(result.errors[:5]) or "rejected by the restricted compiler"
        return Compiled(None, "restricted", detail)
    return Compiled(result.code, None, None)


def _nesting_detail(exc: Exception) -> str:
    if isinstance(exc, (MemoryError, RecursionError)):
        return f"{type(exc).__name__}: the source is nested too deeply to compile"
    return f"{type(exc).__name__}: {exc}"  # e.g. null bytes


def _syntax_detail(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}: " if exc.lineno else ""
    return f"{where}{type(exc).__name__}: {exc.msg}"


# ---------------------------------------------------------------------------------------------
# Guards

# Attribute names no solver may read on any object, on top of names starting with "_".
DENIED_ATTRIBUTES: frozenset[str] = INSPECT_ATTRIBUTES | {
    "mro",  # type.mro(): the road to object and its subclasses
    "gi_running",
    "gi_suspended",
    "f_lasti",
    "f_lineno",
    "tb_lasti",
    "tb_lineno",
    "func_globals",
    "func_code",
    "func_closure",
    "im_func",
    "im_self",
    "im_class",
}
# No attribute of these may be read at all, whatever its name: they lead to frames, globals and
# builtins. None is handed out to solver code (no class it defines can receive one, see
# make_class), so this holds even if a new attribute name appears in a later Python.
_OPAQUE_TYPES = (types.FrameType, types.TracebackType, types.CodeType)
_STR_FORMATTERS = frozenset({"format", "format_map"})
_MISSING = object()


def guarded_getattr(obj: Any, name: str, default: Any = _MISSING) -> Any:
    """``_getattr_`` and the solver's ``getattr``: no private names, no introspection, no str.format."""
    if type(name) is not str:  # a str subclass could lie in startswith()
        raise RestrictedAttributeError("attribute names must be plain str objects in the sandbox")
    if name.startswith("_") or name in DENIED_ATTRIBUTES:
        raise RestrictedAttributeError(f"access to attribute {name!r} is not allowed in the sandbox")
    if isinstance(obj, types.ModuleType):
        raise RestrictedAttributeError("module objects are not available in the sandbox")
    if isinstance(obj, _OPAQUE_TYPES):
        raise RestrictedAttributeError(f"{type(obj).__name__} objects are not available in the sandbox")
    if name in _STR_FORMATTERS and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
        raise RestrictedAttributeError(f"str.{name}() is not allowed in the sandbox (it looks up attributes)")
    if name == "obj" and isinstance(obj, BaseException):
        raise RestrictedAttributeError("AttributeError.obj is not allowed in the sandbox")
    # RestrictedPython's own checks last, so that its future fixes apply here too
    if default is _MISSING:
        return safer_getattr_raise(obj, name)
    return safer_getattr(obj, name, default)


def guarded_hasattr(obj: Any, name: str) -> bool:
    try:
        guarded_getattr(obj, name)
    except RestrictedAccessError:
        raise
    except AttributeError:
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


# The only names starting with "_" a class body compiled by RestrictedPython can bind: the
# comparison methods and __init__ it allows, and what Python itself puts in a class namespace.
CLASS_DUNDERS: frozenset[str] = ALLOWED_FUNC_NAMES | {
    "__module__",
    "__qualname__",
    "__doc__",
    "__annotations__",
    "__firstlineno__",
    "__static_attributes__",
}
_FACTORY = object()  # held only by make_class: solver code cannot name module globals


class SolverClass(type):
    """Metaclass of every class the solver defines; instances of these may be written to.

    Only ``make_class`` can make one. A trusted helper that calls ``type(obj)(name, bases,
    namespace)`` on a solver class would otherwise build a class from a namespace no compiler
    checked (any dunder method, such as an ``__exit__`` that receives traceback objects).
    """

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **keywords: Any
    ) -> Any:
        if keywords.get("factory") is not _FACTORY:
            raise RestrictedAccessError("classes can only be made by a class statement in the sandbox")
        return super().__new__(mcs, name, bases, namespace)

    def __init__(
        cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **keywords: Any
    ) -> None:
        super().__init__(name, bases, namespace)


def make_class(name: str, bases: tuple[Any, ...], namespace: dict[str, Any], **keywords: Any) -> type:
    """``__metaclass__`` of restricted class statements."""
    if keywords:
        raise RestrictedAccessError("class keywords are not allowed in the sandbox")
    for base in bases:
        if not isinstance(base, type) or issubclass(base, type):
            raise RestrictedAccessError(f"class {name!r} may only derive from ordinary classes")
    for key in namespace:
        if type(key) is not str or (key.startswith("_") and key not in CLASS_DUNDERS):
            raise RestrictedAccessError(f"class {name!r} may not define {key!r} in the sandbox")
    return SolverClass(name, bases, namespace, factory=_FACTORY)


# Containers a solver creates and may fill; items and attributes of anything else are read-only.
_WRITABLE_TYPES: frozenset[type] = frozenset(
    {
        dict,
        list,
        set,
        bytearray,
        collections.defaultdict,
        collections.OrderedDict,
        collections.Counter,
        collections.deque,
        collections.ChainMap,
    }
)


def guarded_write(obj: Any) -> Any:
    """``_write_``: the object an item or attribute assignment goes to, or a refusal."""
    kind = type(obj)
    if kind in _WRITABLE_TYPES or type(kind) is SolverClass or type(obj) is SolverClass:
        return obj
    raise RestrictedWriteError(f"objects of type {kind.__name__!r} cannot be modified in the sandbox")


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def inplace_var(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def apply_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class CappedPrintCollector(PrintCollector):
    """``_print_``: RestrictedPython's collector, keeping at most ``cap`` characters for ``printed``."""

    cap = 10_000

    def __init__(self, _getattr_: Any = None) -> None:
        super().__init__(_getattr_)
        self.size = 0

    def write(self, text: str) -> None:
        if self.size < self.cap:
            self.txt.append(text[: self.cap - self.size])
            self.size += len(self.txt[-1])

    def _call_print(
        self, *objects: Any, sep: str | None = " ", end: str | None = "\n", **kwargs: Any
    ) -> None:
        if kwargs:
            raise RestrictedAccessError("print() takes no file or flush arguments in the sandbox")
        print(*objects, sep=sep, end=end, file=self)


def safe_format(value: Any, spec: str = "") -> str:
    if type(value) not in (str, int, float, bool, complex) or type(spec) is not str:
        raise RestrictedAccessError("format() is only available for str, int, float, bool and complex values")
    return format(value, spec)


# ---------------------------------------------------------------------------------------------
# Modules


class ModuleProxy:
    """A read-only stand-in for an allowed module, holding only its listed members."""

    __slots__ = ("_members", "_name", "_withheld")

    def __init__(self, name: str, members: Mapping[str, Any], withheld: Iterable[str]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", types.MappingProxyType(dict(members)))
        object.__setattr__(self, "_withheld", frozenset(withheld))

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._members[attr]
        except KeyError:
            pass
        if attr in self._withheld:
            raise RestrictedAttributeError(f"{self._name}.{attr} is not available in the sandbox")
        raise AttributeError(f"module {self._name!r} has no attribute {attr!r}")

    def __setattr__(self, attr: str, value: Any) -> None:
        raise RestrictedWriteError(f"module {self._name!r} is read-only in the sandbox")

    def __delattr__(self, attr: str) -> None:
        raise RestrictedWriteError(f"module {self._name!r} is read-only in the sandbox")

    def __dir__(self) -> list[str]:
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<sandboxed module {self._name!r}>"


_RE_FLAGS = (
    "A",
    "ASCII",
    "I",
    "IGNORECASE",
    "M",
    "MULTILINE",
    "S",
    "DOTALL",
    "X",
    "VERBOSE",
    "U",
    "UNICODE",
    "NOFLAG",
)
_OPERATOR_NAMES = (
    "abs",
    "add",
    "and_",
    "concat",
    "contains",
    "countOf",
    "eq",
    "floordiv",
    "ge",
    "getitem",
    "gt",
    "index",
    "indexOf",
    "inv",
    "invert",
    "is_",
    "is_not",
    "itemgetter",
    "le",
    "length_hint",
    "lshift",
    "lt",
    "matmul",
    "mod",
    "mul",
    "ne",
    "neg",
    "not_",
    "or_",
    "pos",
    "pow",
    "rshift",
    "sub",
    "truediv",
    "truth",
    "xor",
)

# name -> (module, members handed over). Flags of `re` become plain ints so that no enum class
# (and through it the `enum` module) is reachable.
_MODULE_MEMBERS: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {
    "math": (math, {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}),
    "string": (
        string,
        {
            n: getattr(string, n)
            for n in (
                "ascii_letters",
                "ascii_lowercase",
                "ascii_uppercase",
                "digits",
                "hexdigits",
                "octdigits",
                "printable",
                "punctuation",
                "whitespace",
                "capwords",
            )
        },
    ),
    "re": (
        re,
        {
            **{
                n: getattr(re, n)
                for n in (
                    "compile",
                    "search",
                    "match",
                    "fullmatch",
                    "split",
                    "findall",
                    "finditer",
                    "sub",
                    "subn",
                    "escape",
                    "error",
                )
            },
            **{n: int(getattr(re, n)) for n in _RE_FLAGS},
        },
    ),
    "itertools": (
        itertools,
        {
            n: getattr(itertools, n)
            for n in (
                "accumulate",
                "chain",
                "combinations",
                "combinations_with_replacement",
                "compress",
                "count",
                "cycle",
                "dropwhile",
                "filterfalse",
                "groupby",
                "islice",
                "pairwise",
                "permutations",
                "product",
                "repeat",
                "starmap",
                "takewhile",
                "tee",
                "zip_longest",
            )
        },
    ),
    "functools": (
        functools,
        {n: getattr(functools, n) for n in ("reduce", "partial", "lru_cache", "cache", "cmp_to_key")},
    ),
    "collections": (
        collections,
        {
            n: getattr(collections, n)
            for n in ("Counter", "OrderedDict", "defaultdict", "deque", "namedtuple", "ChainMap")
        },
    ),
    "operator": (operator, {n: getattr(operator, n) for n in _OPERATOR_NAMES}),
}


def _check_member(module: str, name: str, value: Any) -> None:
    """Refuse to hand over a member that is itself a module or a path to one."""
    if isinstance(value, types.ModuleType):
        raise RuntimeError(f"policy error: {module}.{name} is a module")
    allowed_types = (int, float, str, type, types.BuiltinFunctionType, types.FunctionType)
    if not isinstance(value, allowed_types):
        raise RuntimeError(f"policy error: {module}.{name} has unexpected type {type(value).__name__}")


def _build_modules() -> dict[str, ModuleProxy]:
    proxies = {}
    for name, (module, members) in _MODULE_MEMBERS.items():
        for member, value in members.items():
            _check_member(name, member, value)
        withheld = {n for n in dir(module) if not n.startswith("_")} - set(members)
        proxies[name] = ModuleProxy(name, members, withheld)
    return proxies


ALLOWED_MODULES: dict[str, ModuleProxy] = _build_modules()


def guarded_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> ModuleProxy:
    """``__import__``: only the allow-listed modules, as proxies; no packages, no relative imports."""
    if level != 0 or type(name) is not str or name not in ALLOWED_MODULES:
        raise RestrictedImportError(
            f"import of {name!r} is not allowed in the sandbox; allowed: {', '.join(sorted(ALLOWED_MODULES))}"
        )
    return ALLOWED_MODULES[name]


# ---------------------------------------------------------------------------------------------
# Builtins

# Taken from RestrictedPython's safe_builtins, minus what a solver has no use for.
_DROPPED_SAFE_BUILTINS = frozenset({"setattr", "delattr", "id", "_getattr_"})
# Plain builtins added back; each either takes no callbacks into attribute access or only
# calls solver code, and none returns a module, frame, code object or class not already reachable.
_ADDED_BUILTINS = (
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
    "StopAsyncIteration",
    "RecursionError",
)
# Builtins that are deliberately absent; calling one names the reason instead of a NameError.
_REFUSED_BUILTINS = (
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
)


def _refused(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RestrictedAccessError(f"{name}() is not available in the sandbox")

    refuse.__name__ = name
    return refuse


def _build_builtins() -> dict[str, Any]:
    table = {name: value for name, value in safe_builtins.items() if name not in _DROPPED_SAFE_BUILTINS}
    table.update({name: getattr(builtins, name) for name in _ADDED_BUILTINS})
    table.update({name: _refused(name) for name in _REFUSED_BUILTINS})
    table.update(
        {
            "__import__": guarded_import,
            "getattr": guarded_getattr,
            "hasattr": guarded_hasattr,
            "format": safe_format,
        }
    )
    return table


SAFE_BUILTINS: dict[str, Any] = _build_builtins()

GUARDS: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "__name__": "solver_module",
    "__metaclass__": make_class,
    "_getattr_": guarded_getattr,
    "_getitem_": guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": guarded_write,
    "_inplacevar_": inplace_var,
    "_apply_": apply_call,
    "_print_": CappedPrintCollector,
}


def fresh_namespace() -> dict[str, Any]:
    """A new module namespace for one case."""
    return dict(GUARDS)
