"""The shared English word list (`data/words.txt`): lower-case words of 3 to 8 letters, no repeats."""

from __future__ import annotations

from importlib import resources


def _load_words() -> tuple[str, ...]:
    text = resources.files("probes").joinpath("data/words.txt").read_text(encoding="utf-8")
    return tuple(word for word in (line.strip() for line in text.splitlines()) if word)


WORDS: tuple[str, ...] = _load_words()
