"""Scripted replies for a plan: what a model that is right on chosen items would say."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from lab.run.plan import RunPlan, WorkUnit, work_units
from lab.tasks.modes import MODES, Draws
from lab.tasks.prompts import followup_messages, solver_signature
from probes import Setting, strings
from probes.strings import Affix, ChangeCase, Cut, Field, Join, Operation, Replace, Slice
from tests.wu_solvers import spatial_solver_source, syntax_solver_source

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


ONE_ARGUMENT = "def solver(x: str) -> str"


def solver_source(setting: Setting, signature: str = ONE_ARGUMENT) -> str:
    """A correct solver for a setting, written the way a model would write it, with the signature
    its prompt asked for (`prompts.solver_signature`): only arithmetic's paper framing takes two."""
    if setting.family == "arithmetic":
        base = setting["base"]
        operands = "x.split('+')" if signature == ONE_ARGUMENT else "n1, n2"
        return (
            f"{signature}:\n"
            f"    digits = {DIGITS!r}\n"
            f"    a, b = {operands}\n"
            f"    total = int(a, {base}) + int(b, {base})\n"
            "    out = ''\n"
            "    while total > 0:\n"
            f"        out = digits[total % {base}] + out\n"
            f"        total = total // {base}\n"
            "    return out or '0'\n"
        )
    if setting.family == "syntax":
        return syntax_solver_source(setting)
    if setting.family == "cipher":
        return _cipher_solver_source(setting)
    if setting.family == "spatial":
        return spatial_solver_source(setting)
    if setting.family == "listfn":
        return listfn_solver_source(str(setting["function"]))
    if setting.family == "strings":
        return strings_solver_source(strings.program_of(setting).steps)
    raise ValueError(setting.family)


def _cipher_solver_source(setting: Setting) -> str:
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


# -- strings: each step of a program as the Python line(s) a model would write --------------------


def _needs_parts(delim: str) -> list[str]:
    return [f"p = x.split({delim!r})", "if len(p) == 1:", "    raise ValueError('no delimiter')"]


def step_lines(step: Operation) -> list[str]:
    if isinstance(step, Field):
        return [*_needs_parts(step.delim), f"x = p[{step.index}]"]
    if isinstance(step, Cut):
        cut = (
            f"x[x.index({step.delim!r}) + {len(step.delim)}:]"
            if step.after_first
            else f"x[:x.rindex({step.delim!r})]"
        )
        return [f"if {step.delim!r} not in x:", "    raise ValueError('no delimiter')", f"x = {cut}"]
    if isinstance(step, ChangeCase):
        capitalise = "' '.join(w.capitalize() for w in x.split(' '))"
        return ["x = " + {"upper": "x.upper()", "lower": "x.lower()"}.get(step.how, capitalise)]
    if isinstance(step, Affix):
        return [f"x = {step.text!r} + x" if step.at_start else f"x = x + {step.text!r}"]
    if isinstance(step, Slice):
        n = step.count
        cut = {"first": f"x[:{n}]", "last": f"x[len(x) - {n}:]", "drop": f"x[{n}:]"}[step.how]
        return [f"if len(x) <= {n}:", "    raise ValueError('too short')", f"x = {cut}"]
    if isinstance(step, Replace):
        return [f"x = {step.new!r}.join(x.split({step.old!r}))"]
    if isinstance(step, Join):
        fields = ", ".join(f"p[{i}]" for i in step.order)
        return [*_needs_parts(step.delim), f"x = {step.sep!r}.join([{fields}])"]
    return [
        *_needs_parts(step.delim),
        "if not all(w[:1].isalpha() for w in p):",
        "    raise ValueError('a part starts with no letter')",
        f"x = {step.sep!r}.join([w[0] for w in p])",
    ]


def strings_solver_source(steps: Sequence[Operation]) -> str:
    body = [line for step in steps for line in step_lines(step)]
    return "def solver(x: str) -> str:\n" + "".join(f"    {line}\n" for line in body) + "    return x\n"


def direct_reply(setting: Setting, answer: str, *, check: bool) -> str:
    """A direct answer as the family's prompts ask for it: a layout in a ```json block, else boxed."""
    if setting.family == "spatial" and not check:
        return f"Placing the objects.\n```json\n{answer}\n```"
    return f"Reasoning... \\boxed{{{answer}}}"


def fenced(code: str) -> str:
    return f"Here is the function.\n\n```python\n{code}```\n"


STATED_RULE = "The rule, in words: the outputs follow the setting's rule."


def plan_responder(plan: RunPlan, right: Callable[[WorkUnit], bool]) -> Callable[[list[dict[str, str]]], str]:
    """Answers every call of the plan: correctly where `right(unit)`, wrongly elsewhere.

    A verbal mode is two turns: the first (the rule asked for in words) gets `STATED_RULE`, the second
    (apply that rule to the held-out case, or write `solver` from it) is answered like the one-turn modes.
    """
    replies: dict[str, str] = {}
    for unit in work_units(plan):
        spec = MODES[unit.mode]
        messages = unit.messages
        if spec.verbal:
            replies[json.dumps(messages, sort_keys=True)] = STATED_RULE
            query = None if spec.returns_code else unit.cases[0][1].input
            messages = followup_messages(unit.setting, unit.mode, messages, STATED_RULE, query, cot=plan.cot)
        replies[json.dumps(messages, sort_keys=True)] = _reply(plan, unit, ok=right(unit))

    def respond(messages: list[dict[str, str]]) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        return replies.get(json.dumps(messages, sort_keys=True), "not scripted")

    return respond


def _reply(plan: RunPlan, unit: WorkUnit, *, ok: bool) -> str:
    if MODES[unit.mode].returns_code:
        signature = solver_signature(unit.setting, unit.mode, plan.framing)
        return fenced(
            solver_source(unit.setting, signature) if ok else "def solver(*x):\n    return 'wrong'\n"
        )
    answer = unit.cases[0][1].output if ok else "wrong"
    return direct_reply(unit.setting, answer, check=MODES[unit.mode].draws is Draws.CHECKS)


# One expression per list function, in `xs` (the parsed input list), as a model would write it.
LISTFN_BODIES: dict[str, str] = {
    "reverse": "xs[::-1]",
    "sort": "sorted(xs)",
    "sort_descending": "sorted(xs, reverse=True)",
    "drop_first_two": "xs[2:]",
    "take_first_three": "xs[:3]",
    "drop_last": "xs[:-1]",
    "add_three": "[v + 3 for v in xs]",
    "double": "[v * 2 for v in xs]",
    "keep_even": "[v for v in xs if v % 2 == 0]",
    "keep_odd": "[v for v in xs if v % 2 != 0]",
    "keep_above_fifty": "[v for v in xs if v > 50]",
    "first_element": "xs[:1]",
    "last_element": "xs[-1:]",
    "length": "[len(xs)]",
    "sum": "[sum(xs)]",
    "max": "[max(xs)] if xs else []",
    "min": "[min(xs)] if xs else []",
    "append_seven": "xs + [7]",
    "last_digits": "[abs(v) % 10 for v in xs]",
    "duplicate_each": "[v for v in xs for k in (0, 1)]",
    "mirror": "xs + list(reversed(xs))",
    "rotate_left": "xs[1:] + xs[:1]",
    "rotate_right": "xs[-1:] + xs[:-1]",
    "swap_first_last": "[xs[-1]] + xs[1:-1] + [xs[0]] if len(xs) > 1 else xs",
    "remove_duplicates": "[v for i, v in enumerate(xs) if v not in xs[:i]]",
    "every_other": "[v for i, v in enumerate(xs) if i % 2 == 0]",
    "add_position": "[v + i for i, v in enumerate(xs)]",
    "times_position": "[v * (i + 1) for i, v in enumerate(xs)]",
    "differences": "[xs[i + 1] - xs[i] for i in range(len(xs) - 1)]",
    "pairwise_sums": "[xs[i] + xs[i + 1] for i in range(len(xs) - 1)]",
    "keep_greater_than_first": "[v for v in xs[1:] if v > xs[0]]",
    "sort_unique": "sorted(set(xs))",
    "take_while_even": "list(itertools.takewhile(lambda v: v % 2 == 0, xs))",
    "remove_largest": "xs[:xs.index(max(xs))] + xs[xs.index(max(xs)) + 1:] if xs else []",
    "count_even": "[len([v for v in xs if v % 2 == 0])]",
    "zero_odds": "[v if v % 2 == 0 else 0 for v in xs]",
    "drop_every_third": "[v for i, v in enumerate(xs) if (i + 1) % 3 != 0]",
    "swap_pairs": "[xs[i ^ 1] if (i ^ 1) < len(xs) else xs[i] for i in range(len(xs))]",
    "remove_adjacent_duplicates": "[v for i, v in enumerate(xs) if i == 0 or xs[i - 1] != v]",
    "digit_sums": "[sum(int(c) for c in str(abs(v))) for v in xs]",
    "running_sum": "[sum(xs[:i + 1]) for i in range(len(xs))]",
    "running_max": "[max(xs[:i + 1]) for i in range(len(xs))]",
    "sort_by_last_digit": "sorted(xs, key=lambda v: abs(v) % 10)",
    "sort_by_digit_sum": "sorted(xs, key=lambda v: sum(int(c) for c in str(abs(v))))",
    "interleave_halves": (
        "[v for pair in itertools.zip_longest(xs[:(len(xs) + 1) // 2], xs[(len(xs) + 1) // 2:])"
        " for v in pair if v is not None]"
    ),
    "deinterleave": "xs[0::2] + xs[1::2]",
    "run_lengths": "[len(list(g)) for k, g in itertools.groupby(xs)]",
    "count_occurrences": "[xs.count(v) for v in xs]",
    "local_maxima": (
        "[v for i, v in enumerate(xs) if (i == 0 or v > xs[i - 1]) and (i == len(xs) - 1 or v > xs[i + 1])]"
    ),
    "evens_before_odds": "[v for v in xs if v % 2 == 0] + [v for v in xs if v % 2 != 0]",
    "keep_above_mean": "[v for v in xs if v * len(xs) > sum(xs)]",
    "reverse_chunks_of_three": "[v for s in range(0, len(xs), 3) for v in reversed(xs[s:s + 3])]",
    "repeat_by_value": "[v for v in xs for k in range(v)]",
}


def listfn_solver_source(function: str) -> str:
    """A solver for one list function: parse the list by hand, apply the body, write the list back."""
    return (
        "import itertools\n"
        "\n"
        "def solver(x: str) -> str:\n"
        "    inner = x.strip()[1:-1].strip()\n"
        "    xs = [int(t) for t in inner.split(',')] if inner else []\n"
        f"    ys = {LISTFN_BODIES[function]}\n"
        "    return '[' + ', '.join(str(v) for v in ys) + ']'\n"
    )
