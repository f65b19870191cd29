"""Scripted replies for a plan: what a model that is right on chosen items would say."""

from __future__ import annotations

import json
from collections.abc import Callable

from lab.modes import MODES
from lab.plan import RunPlan, WorkUnit, work_units
from probes import Setting

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def solver_source(setting: Setting) -> str:
    """A correct solver for a setting, written the way a model would write it."""
    if setting.family == "arithmetic":
        base = setting["base"]
        return (
            "def solver(x: str) -> str:\n"
            f"    digits = {DIGITS!r}\n"
            "    a, b = x.split('+')\n"
            f"    total = int(a, {base}) + int(b, {base})\n"
            "    out = ''\n"
            "    while total > 0:\n"
            f"        out = digits[total % {base}] + out\n"
            f"        total = total // {base}\n"
            "    return out or '0'\n"
        )
    if setting.family == "syntax":
        order = str(setting["order"])
        size = 1 if setting["phrase"] == "word" else 2
        return (
            "def solver(x: str) -> str:\n"
            "    words = x.rstrip('.').split()\n"
            f"    order = {order!r}\n"
            f"    size = {size}\n"
            "    parts = {}\n"
            "    pos = 0\n"
            "    for role in order:\n"
            "        width = 1 if role == 'v' else size\n"
            "        parts[role] = ' '.join(words[pos:pos + width])\n"
            "        pos = pos + width\n"
            "    return parts['s'] + ' ' + parts['v'] + ' ' + parts['o'] + '.'\n"
        )
    if setting.family == "cipher":
        cipher = setting["cipher"]
        if cipher == "caesar":
            table = "".join(chr((i - int(setting["shift"])) % 26 + 97) for i in range(26))
        elif cipher == "atbash":
            table = "abcdefghijklmnopqrstuvwxyz"[::-1]
        else:
            rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
            back = {}
            for row in rows:
                for i, ch in enumerate(row):
                    back[row[(i + 1) % len(row)]] = ch
            table = "".join(back[chr(97 + i)] for i in range(26))
        return (
            "def solver(x: str) -> str:\n"
            f"    table = {table!r}\n"
            "    return ''.join(table[ord(c) - 97] if 'a' <= c <= 'z' else c for c in x)\n"
        )
    raise ValueError(setting.family)


def fenced(code: str) -> str:
    return f"Here is the function.\n\n```python\n{code}```\n"


def plan_responder(plan: RunPlan, right: Callable[[WorkUnit], bool]) -> Callable[[list[dict[str, str]]], str]:
    """Answers every call of the plan: correctly where `right(unit)`, wrongly elsewhere."""
    replies: dict[str, str] = {}
    for unit in work_units(plan):
        ok = right(unit)
        if MODES[unit.mode].returns_code:
            code = solver_source(unit.setting) if ok else "def solver(x):\n    return 'wrong'\n"
            reply = fenced(code)
        else:
            expected = unit.cases[0][1].output
            reply = f"Reasoning... \\boxed{{{expected if ok else 'wrong'}}}"
        replies[json.dumps(unit.messages, sort_keys=True)] = reply

    def respond(messages: list[dict[str, str]]) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        return replies.get(json.dumps(messages, sort_keys=True), "not scripted")

    return respond
