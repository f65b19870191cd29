"""Solver-controlled text made safe to print in a terminal."""

from __future__ import annotations

import unicodedata

# Control characters (C0 with newlines, DEL, C1: escape sequences, carriage returns, backspaces),
# format characters (bidirectional overrides, zero-width joiners) and line separators can rewrite
# or hide what a terminal shows.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def escape_controls(text: str) -> str:
    """``text`` on one line, every control or format character written as a visible escape."""
    return "".join(
        _escape(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char for char in text
    )


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
