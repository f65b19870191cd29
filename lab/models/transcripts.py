"""Recorded transcripts in Wu et al.'s `.tsv` form: prompt, response, then bookkeeping columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_ESCAPES = {"\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Transcript:
    prompt: str
    response: str


def unescape(field: str) -> str:
    """`\\n` is a newline, `\\\\` a backslash (so `\\\\n` is a literal backslash-n)."""
    out: list[str] = []
    chars = iter(field)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append(_ESCAPES.get(following, "\\" + following))
        else:
            out.append(char)
    return "".join(out)


def read_wu_tsv(path: str | Path) -> list[Transcript]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError(f"{path}:{number}: expected prompt<TAB>response, got {len(fields)} field(s)")
            records.append(Transcript(unescape(fields[0]), unescape(fields[1])))
    return records
