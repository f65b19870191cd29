"""Is a solver a lookup table of the shown examples rather than a rule? Judged from its structure.

A function that memorised the examples holds them: a container or a branch chain keyed by the
shown inputs, or the shown outputs, in some encoding (plain, reversed, as numbers in any base, as
character codes, hex or base64) or computed from literals (``str(1 + 1)``, ``'2+1'[::-1]``). So
every literal expression of the code is evaluated (without running the code: a small evaluator
of constants, containers, operators, slices and a few pure builtins and str methods), rendered in
those encodings, and compared with the shown inputs and outputs. Pure: no code is executed.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from probes import Case

MAX_TEXT = 10_000  # longest value the evaluator builds; anything bigger is not a table entry
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.BitXor: operator.xor,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "str": str,
    "int": int,
    "chr": chr,
    "ord": ord,
    "bytes": bytes,
    "tuple": tuple,
    "list": list,
    "reversed": lambda value: list(reversed(value)),
    "sorted": sorted,
}
_METHODS = frozenset({"join", "upper", "lower", "strip", "replace", "encode", "decode", "split"})


class NotLiteralError(Exception):
    """The expression depends on something other than literals (or would be too big)."""


@dataclass(frozen=True)
class Evidence:
    """How many shown inputs and outputs the code's literals hold, out of how many shown."""

    inputs_held: int
    outputs_held: int
    shown: int

    @property
    def memorised(self) -> bool:
        needed = max(2, math.ceil(self.shown / 2))
        return self.shown > 0 and (self.inputs_held >= needed or self.outputs_held >= needed)


def looks_memorised(code: str, examples: Sequence[Case]) -> bool:
    """A lookup table rather than a rule: half the shown inputs or outputs (and two) are in its literals."""
    return memorised_evidence(code, examples).memorised


def memorised_evidence(code: str, examples: Sequence[Case]) -> Evidence:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Evidence(0, 0, len(examples))
    held = literal_renderings(tree)
    inputs = sum(1 for case in examples if normal(case.input) in held)
    outputs = sum(1 for case in examples if normal(case.output) in held)
    return Evidence(inputs, outputs, len(examples))


def normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def literal_renderings(tree: ast.AST) -> set[str]:
    """Every literal expression of the tree, each rendered in every encoding considered."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.expr):
            try:
                value = evaluate(node)
            except (
                NotLiteralError,
                ArithmeticError,
                ValueError,
                TypeError,
                IndexError,
                KeyError,
                RecursionError,
            ):
                continue
            found.update(normal(text) for text in renderings(value, in_table=False))
    return found


def evaluate(node: ast.expr) -> Any:
    """The value of a literal-only expression; NotLiteralError for anything else."""
    value = _evaluate(node)
    if isinstance(value, (str, bytes, tuple, list)) and len(value) > MAX_TEXT:
        raise NotLiteralError("too big")
    if isinstance(value, int) and value.bit_length() > 4 * MAX_TEXT:
        raise NotLiteralError("too big")
    return value


def _evaluate(node: ast.expr) -> Any:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Tuple(elts=items) | ast.List(elts=items) | ast.Set(elts=items):
            return tuple(evaluate(item) for item in items)
        case ast.Dict(keys=keys, values=values) if None not in keys:
            return tuple((evaluate(k), evaluate(v)) for k, v in zip(keys, values, strict=True))  # type: ignore[arg-type]
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _binary(op, evaluate(left), evaluate(right))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](evaluate(operand))
        case ast.Subscript(value=value, slice=ast.Slice(lower=lower, upper=upper, step=step)):
            bounds = [None if part is None else evaluate(part) for part in (lower, upper, step)]
            return evaluate(value)[slice(*bounds)]
        case ast.Subscript(value=value, slice=index):
            return evaluate(value)[evaluate(index)]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            return _FUNCTIONS[name](*(evaluate(arg) for arg in args))
        case ast.Call(func=ast.Attribute(value=receiver, attr=method), args=args, keywords=[]) if (
            method in _METHODS
        ):
            target = evaluate(receiver)
            if not isinstance(target, (str, bytes)):
                raise NotLiteralError(method)
            return getattr(target, method)(*(evaluate(arg) for arg in args))
    raise NotLiteralError(type(node).__name__)


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Mult) and (
        isinstance(left, (str, bytes, tuple)) or isinstance(right, (str, bytes, tuple))
    ):
        count = right if isinstance(right, int) else left
        if isinstance(count, int) and count > MAX_TEXT:
            raise NotLiteralError("too big")
    return _BINARY[type(op)](left, right)


def renderings(value: Any, in_table: bool) -> Iterable[str]:
    """The texts a value may encode. Numbers in other bases only inside a table (a dict, or rows
    of a container): a constant such as 9 or 16, or a flat list of digit values, in a rule would
    otherwise match short numerals by chance."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        yield from _text_renderings(value)
    elif isinstance(value, bytes):
        yield from _text_renderings(value.decode("latin-1"))
    elif isinstance(value, int):
        yield from _number_renderings(value, in_table)
    elif isinstance(value, float) and value.is_integer():
        yield from _number_renderings(int(value), in_table)
    elif isinstance(value, tuple):
        yield from _sequence_renderings(value, nested=in_table)


def _text_renderings(text: str) -> Iterable[str]:
    yield text
    yield text[::-1]
    yield codecs.encode(text, "rot13")
    try:
        yield bytes.fromhex(text).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        pass
    if len(text) >= 4:
        try:
            yield base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass


def _number_renderings(number: int, in_table: bool) -> Iterable[str]:
    yield str(number)
    yield str(number)[::-1]
    if in_table:
        for base in range(2, 37):
            yield numeral(number, base)


def numeral(number: int, base: int) -> str:
    sign, number = ("-", -number) if number < 0 else ("", number)
    digits = []
    while True:
        number, digit = divmod(number, base)
        digits.append(DIGITS[digit])
        if number == 0:
            return sign + "".join(reversed(digits))


def _sequence_renderings(items: tuple[Any, ...], nested: bool) -> Iterable[str]:
    for item in items:
        # a dict's (key, value) pairs and a container's rows are tuples inside the container
        yield from renderings(item, in_table=nested or isinstance(item, tuple))
    if items and all(isinstance(item, int) and 0 <= item < 0x110000 for item in items):
        yield "".join(map(chr, items))
        yield "".join(map(str, items))
    if items and all(isinstance(item, str) for item in items):
        yield "".join(items)
        yield " ".join(items)
