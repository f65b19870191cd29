"""Recorded transcripts in Wu et al.'s `.tsv` form: prompt, response, then bookkeeping columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.?)", re.DOTALL)
_ESCAPES = {"\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Transcript:
    prompt: str
    response: str


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, "\\" + code)


def unescape(field: str) -> str:
    """Python's escapes as Wu et al. wrote them: `\\n` a newline, `\\t` a tab, `\\\\` a backslash (so
    `\\\\n` is a literal backslash-n), `\\xd7` / `\\u2192` / `\\U0001f600` the character (replies hold
    `\\xd7` for a multiplication sign); any other backslash is kept as written."""
    return _ESCAPE.sub(_unescape_one, field)


def read_wu_tsv(path: str | Path) -> list[Transcript]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError(f"{path}:{number}: expected prompt<TAB>response, got {len(fields)} field(s)")
            records.append(Transcript(unescape(fields[0]), unescape(fields[1])))
    return records
