"""Correct solvers for Wu et al.'s syntax and spatial tasks, written the way a model would write them."""

from __future__ import annotations

from probes import Setting, spatial


def syntax_solver_source(setting: Setting) -> str:
    order = str(setting["order"])
    size = 1 if setting["phrase"] == "word" else 2
    answer = (
        "parts['v'] + ' ' + parts['s'].split()[-1]"
        if setting["task"] == "main"
        else "parts['s'] + ' ' + parts['v'] + ' ' + parts['o']"
    )
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
        f"    return {answer}\n"
    )


def spatial_solver_source(setting: Setting) -> str:
    vectors = spatial.WORLDS[str(setting["world"])]
    return (
        "import re\n"
        "\n"
        "def solver(x: str) -> str:\n"
        f"    vectors = {vectors!r}\n"
        "    out = []\n"
        "    for name, side in re.findall(r'[Tt]here is an? (.+?) on the (\\w+) side', x):\n"
        "        vx, vy = vectors[side.lower()]\n"
        '        out.append(\'{"name": "\' + name.lower() + \'", "x": \' + str(vx) + \', "y": \' + '
        "str(vy) + '}')\n"
        "    return '{\"objects\": [' + ', '.join(out) + ']}'\n"
    )
