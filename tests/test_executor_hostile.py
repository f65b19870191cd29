"""Hostile solvers: each gets its expected category, and each test looks for what must not have happened.

Every program runs in one shared pool. Around each run the test checks that nothing escaped
(no file in a directory the test owns, no connection to a TCP listener the test runs, no
secret from the parent's environment in any output or detail), that the pool still serves a
good solver correctly afterwards, and that no worker process is left behind: a worker that was
replaced has no process left in its process group, not even a zombie.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor import Limits, SandboxPool

SECRET = "solverlab-test-secret-7f3a9c"
LIMITS = Limits(case_seconds=1.0, batch_seconds=15.0, cpu_seconds=10, memory_mb=256, max_output_chars=1000)
INPUTS = ["abc", "hello"]


@dataclass(frozen=True)
class Hostile:
    name: str
    source: str
    expect: str  # error category every case must carry (or "ok:<output>" for programs that are harmless)
    verdict: bool = False  # the category is a verdict on the source as a whole


def prog(body: str) -> str:
    return body.strip("\n") + "\n"


HOSTILE = [
    # -- imports and builtins that would reach the machine ----------------------------------
    Hostile(
        "import_os_module_level",
        prog("""
import os
def solver(x):
    os.system('touch TMP/pwned')
    return os.environ.get('SOLVERLAB_TEST_SECRET', 'none')
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "import_os_in_solver",
        prog("""
def solver(x):
    import os
    return os.environ['SOLVERLAB_TEST_SECRET']
"""),
        "restricted",
    ),
    Hostile(
        "from_os_import",
        prog("""
def solver(x):
    from os import system
    system('touch TMP/pwned')
    return x
"""),
        "restricted",
    ),
    Hostile(
        "import_os_path_submodule",
        prog("""
def solver(x):
    import os.path
    return str(os.path)
"""),
        "restricted",
    ),
    Hostile(
        "dunder_import",
        prog("""
def solver(x):
    return __import__('os').system('touch TMP/pwned')
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "builtins_name",
        prog("""
def solver(x):
    return __builtins__['open']('TMP/pwned', 'w')
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "open_for_writing",
        prog("""
def solver(x):
    open('TMP/pwned', 'w').write(x)
    return 'written'
"""),
        "restricted",
    ),
    Hostile(
        "open_for_reading",
        prog("""
def solver(x):
    return open('/proc/self/environ').read()
"""),
        "restricted",
    ),
    Hostile(
        "eval_call",
        prog("""
def solver(x):
    return eval("__import__('os').getcwd()")
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "exec_call",
        prog("""
def solver(x):
    exec("import os")
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "eval_by_alias",
        prog("""
def solver(x):
    run = eval
    return run("1 + 1")
"""),
        "restricted",
    ),
    Hostile(
        "compile_builtin",
        prog("""
def solver(x):
    return str(compile('1', 's', 'eval'))
"""),
        "restricted",
    ),
    Hostile(
        "globals_and_vars",
        prog("""
def solver(x):
    return str(globals()) + str(vars())
"""),
        "restricted",
    ),
    Hostile(
        "exit_builtin",
        prog("""
def solver(x):
    exit(0)
"""),
        "restricted",
    ),
    # -- attribute tricks --------------------------------------------------------------------
    Hostile(
        "getattr_dunder",
        prog("""
def solver(x):
    return str(getattr(x, '__class__'))
"""),
        "restricted",
    ),
    Hostile(
        "getattr_built_name",
        prog("""
def solver(x):
    name = '_' + '_cl' + 'ass__'
    return str(getattr(getattr(x, name), '_' + '_bases__'))
"""),
        "restricted",
    ),
    Hostile(
        "getattr_str_subclass_name",
        prog("""
class Name(str):
    def startswith(self, prefix):
        return False
def solver(x):
    return str(getattr(x, Name('__class__')))
"""),
        "restricted",
    ),
    Hostile(
        "class_bases_subclasses_walk",
        prog("""
def solver(x):
    return str(().__class__.__bases__[0].__subclasses__())
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "mro_walk",
        prog("""
def solver(x):
    return str(str.mro()[-1])
"""),
        "restricted",
    ),
    Hostile(
        "type_builtin",
        prog("""
def solver(x):
    return str(type(x))
"""),
        "restricted",
    ),
    Hostile(
        "function_globals",
        prog("""
def solver(x):
    return str(solver.__globals__)
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "generator_frame",
        prog("""
def solver(x):
    g = (c for c in x)
    return str(g.gi_frame.f_back.f_globals)
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "generator_frame_by_getattr",
        prog("""
def solver(x):
    g = (c for c in x)
    return str(getattr(g, 'gi_' + 'frame'))
"""),
        "restricted",
    ),
    Hostile(
        "generator_code",
        prog("""
def solver(x):
    def gen():
        yield 1
    return str(getattr(gen(), 'gi_code'))
"""),
        "restricted",
    ),
    Hostile(
        "traceback_frame",
        prog("""
def solver(x):
    try:
        1 / 0
    except ZeroDivisionError as exc:
        return str(exc.__traceback__.tb_frame.f_globals)
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "traceback_by_getattr",
        prog("""
def solver(x):
    try:
        1 / 0
    except ZeroDivisionError as exc:
        tb = getattr(exc, '__trace' + 'back__')
        return str(getattr(tb, 'tb_' + 'frame'))
"""),
        "restricted",
    ),
    Hostile(
        "attribute_error_obj",
        prog("""
def solver(x):
    try:
        x.missing
    except AttributeError as exc:
        return str(exc.obj)
"""),
        "restricted",
    ),
    # -- formatting ------------------------------------------------------------------------
    Hostile(
        "str_format_attribute",
        prog("""
def solver(x):
    return '{0.__class__.__mro__}'.format(x)
"""),
        "restricted",
    ),
    Hostile(
        "str_format_via_class",
        prog("""
def solver(x):
    return str.format('{0.__class__}', x)
"""),
        "restricted",
    ),
    Hostile(
        "str_format_map",
        prog("""
def solver(x):
    return '{v.__class__}'.format_map({'v': x})
"""),
        "restricted",
    ),
    Hostile(
        "string_formatter_get_field",
        prog("""
import string
def solver(x):
    return str(string.Formatter().get_field('0.__class__', [x], {}))
"""),
        "restricted",
    ),
    Hostile(
        "string_template",
        prog("""
import string
def solver(x):
    return string.Template('$a').substitute(a=x)
"""),
        "restricted",
    ),
    Hostile(
        "format_builtin_on_object",
        prog("""
class A:
    pass
def solver(x):
    return format(A(), '')
"""),
        "restricted",
    ),
    # -- allowed modules as paths around the guards ------------------------------------------
    Hostile(
        "re_enum_sys_modules",
        prog("""
import re
def solver(x):
    return str(re.enum.sys.modules['os'].system('touch TMP/pwned'))
"""),
        "restricted",
    ),
    Hostile(
        "re_copyreg_and_functools",
        prog("""
import re
def solver(x):
    return str(re.copyreg) + str(re.functools)
"""),
        "restricted",
    ),
    Hostile(
        "re_flag_enum_class",
        prog("""
import re
def solver(x):
    return str(re.I.name)
"""),
        "runtime_error",
    ),
    Hostile(
        "collections_abc_sys",
        prog("""
import collections
def solver(x):
    return str(collections.abc.sys.modules['os'].getcwd())
"""),
        "restricted",
    ),
    Hostile(
        "import_collections_abc",
        prog("""
import collections.abc
def solver(x):
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "operator_attrgetter",
        prog("""
import operator
def solver(x):
    return str(operator.attrgetter('__class__')(x))
"""),
        "restricted",
    ),
    Hostile(
        "operator_methodcaller",
        prog("""
import operator
def solver(x):
    return operator.methodcaller('format', '{0.__class__}')(x)
"""),
        "restricted",
    ),
    Hostile(
        "functools_update_wrapper",
        prog("""
import functools
def solver(x):
    def f():
        pass
    functools.update_wrapper(f, x, assigned=('__class__',))
    return x
"""),
        "restricted",
    ),
    Hostile(
        "functools_partial_getattr",
        prog("""
import functools
def solver(x):
    return str(functools.partial(getattr, x)('__class__'))
"""),
        "restricted",
    ),
    Hostile(
        "map_getattr",
        prog("""
def solver(x):
    return str(list(map(getattr, [x], ['__class__'])))
"""),
        "restricted",
    ),
    Hostile(
        "write_module_attribute",
        prog("""
import math
def solver(x):
    math.pi = 3
    return x
"""),
        "restricted",
    ),
    Hostile(
        "write_module_attribute_setattr",
        prog("""
import math
def solver(x):
    setattr(math, 'pi', 3)
    return x
"""),
        "restricted",
    ),
    Hostile(
        "write_shared_class_attribute",
        prog("""
import collections
def solver(x):
    collections.Counter.most_common = None
    return x
"""),
        "restricted",
    ),
    # -- language features the compiler rejects -----------------------------------------------
    Hostile(
        "except_star",
        prog("""
def solver(x):
    try:
        raise ExceptionGroup('g', [ValueError(x)])
    except* ValueError as group:
        return str(group.exceptions)
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "metaclass_keyword",
        prog("""
class Meta:
    pass
class A(metaclass=Meta):
    pass
def solver(x):
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "metaclass_by_deriving_type",
        prog("""
def solver(x):
    class Meta(type):
        pass
    return x
"""),
        "restricted",
    ),
    Hostile(
        "positional_only_shadows_guard",
        prog("""
def solver(x):
    def peek(obj, _getattr_=lambda o, n: o, /):
        return obj.upper
    return str(peek(x))
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "match_class_pattern_reads_attributes",
        prog("""
def solver(x):
    match x:
        case str(__class__=found):
            return str(found)
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "print_to_a_file_object",
        prog("""
def solver(x):
    print('escaped', file=open('TMP/printed', 'w'))
    return x
"""),
        "restricted",
    ),
    Hostile(
        "delete_module_attribute",
        prog("""
import string
def solver(x):
    del string.digits
    return x
"""),
        "restricted",
    ),
    Hostile(
        "nonlocal_statement",
        prog("""
def solver(x):
    n = 0
    def bump():
        nonlocal n
        n = n + 1
    bump()
    return str(n)
"""),
        "restricted",
        verdict=True,
    ),
    # -- resources ---------------------------------------------------------------------------
    Hostile(
        "infinite_loop",
        prog("""
def solver(x):
    while True:
        pass
"""),
        "timeout",
    ),
    Hostile(
        "infinite_loop_catching_everything",
        prog("""
def solver(x):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
"""),
        "timeout",
    ),
    Hostile(
        "power_tower",
        prog("""
def solver(x):
    return str(10 ** 10 ** 10)
"""),
        "timeout",
    ),
    Hostile(
        "catastrophic_regex",
        prog("""
import re
def solver(x):
    return str(re.match('(a+)+$', 'a' * 40 + 'b'))
"""),
        "timeout",
    ),
    Hostile(
        "huge_string",
        prog("""
def solver(x):
    return 'a' * 10 ** 10
"""),
        "memory",
    ),
    Hostile(
        "huge_list",
        prog("""
def solver(x):
    return str(len([0] * 10 ** 9))
"""),
        "memory",
    ),
    Hostile(
        "recursion_bomb",
        prog("""
def solver(x):
    return solver(x + 'a')
"""),
        "runtime_error",
    ),
    Hostile(
        "deep_structure_repr",
        prog("""
def solver(x):
    nest = []
    for i in range(100000):
        nest = [nest]
    return str(nest)
"""),
        "runtime_error",
    ),
    Hostile(
        "deep_nesting_in_source",
        "x = " + "(" * 300 + "1" + ")" * 300 + "\ndef solver(x):\n    return x\n",
        "syntax_error",
        verdict=True,
    ),
    Hostile(
        "deep_unary_nesting_in_source",
        "x = " + "-" * 100_000 + "1\ndef solver(x):\n    return x\n",
        "syntax_error",
        verdict=True,
    ),
    Hostile(
        "print_flood",
        prog("""
def solver(x):
    for i in range(100000):
        print('FLOOD' * 20)
    return 'done'
"""),
        "ok:done",
    ),
    Hostile(
        "raise_system_exit",
        prog("""
def solver(x):
    raise SystemExit(3)
"""),
        "runtime_error",
    ),
    Hostile(
        "raise_keyboard_interrupt",
        prog("""
def solver(x):
    raise KeyboardInterrupt
"""),
        "runtime_error",
    ),
    Hostile(
        "system_exit_at_module_level",
        prog("""
raise SystemExit(0)
def solver(x):
    return x
"""),
        "runtime_error",
        verdict=True,
    ),
    Hostile(
        "infinite_loop_at_module_level",
        prog("""
while True:
    pass
def solver(x):
    return x
"""),
        "timeout",
        verdict=True,
    ),
    # -- outputs that are not what they claim -------------------------------------------------
    Hostile(
        "eq_that_lies",
        prog("""
class Liar:
    def __eq__(self, other):
        return True
def solver(x):
    return Liar()
"""),
        "bad_output",
    ),
    Hostile(
        "str_subclass_that_lies",
        prog("""
class Liar(str):
    def __eq__(self, other):
        return True
def solver(x):
    return Liar('right answer')
"""),
        "bad_output",
    ),
    Hostile(
        "returns_generator",
        prog("""
def solver(x):
    yield x
"""),
        "bad_output",
    ),
    Hostile(
        "returns_circular_list",
        prog("""
def solver(x):
    loop = [x]
    loop.append(loop)
    return loop
"""),
        "bad_output",
    ),
    Hostile(
        "returns_nan",
        prog("""
def solver(x):
    return float('nan')
"""),
        "bad_output",
    ),
    Hostile(
        "returns_huge_string",
        prog("""
def solver(x):
    return x * 100000
"""),
        "bad_output",
    ),
    Hostile(
        "returns_lone_surrogate",
        prog("""
def solver(x):
    return x + chr(0xD800)
"""),
        "bad_output",
    ),
    # -- state ---------------------------------------------------------------------------------
    Hostile(
        "state_in_globals",
        prog("""
seen = []
def solver(x):
    seen.append(x)
    return str(len(seen))
"""),
        "ok:1",
    ),
    Hostile(
        "state_in_default_argument",
        prog("""
def solver(x, seen=[]):
    seen.append(x)
    return str(len(seen))
"""),
        "ok:1",
    ),
    Hostile(
        "state_in_class_attribute",
        prog("""
class Counter:
    calls = 0
def solver(x):
    Counter.calls = Counter.calls + 1
    return str(Counter.calls)
"""),
        "ok:1",
    ),
    Hostile(
        "mutate_the_input",
        prog("""
def solver(x):
    x += '!'
    return str(x.count('!'))
"""),
        "ok:1",
    ),
    # -- network and processes -----------------------------------------------------------------
    Hostile(
        "open_socket",
        prog("""
import socket
def solver(x):
    s = socket.create_connection(('127.0.0.1', PORT))
    s.sendall(b'pwned')
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "spawn_process",
        prog("""
import subprocess
def solver(x):
    subprocess.run(['touch', 'TMP/spawned'])
    return x
"""),
        "restricted",
        verdict=True,
    ),
    Hostile(
        "spawn_via_os_fork",
        prog("""
def solver(x):
    import os
    if os.fork() == 0:
        open('TMP/child', 'w')
    return x
"""),
        "restricted",
    ),
]


@dataclass
class Listener:
    port: int
    connections: int = 0


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    state = Listener(server.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            state.connections += 1
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    os.environ["SOLVERLAB_TEST_SECRET"] = SECRET  # the parent has a secret; workers must never see it
    try:
        with SandboxPool(size=2, limits=LIMITS) as shared:
            yield shared
    finally:
        del os.environ["SOLVERLAB_TEST_SECRET"]


def process_groups() -> dict[int, list[tuple[int, str]]]:
    """pgid -> [(pid, state)] for every process on the machine, from /proc."""
    groups: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        groups.setdefault(int(fields[2]), []).append((int(entry), fields[0]))
    return groups


def children_states() -> list[tuple[int, str]]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.append((int(entry), fields[0]))
    return found


def assert_no_worker_left_behind(pool: SandboxPool, before: list[int]) -> None:
    after = pool.worker_pids()
    assert len(after) <= pool.size
    groups = process_groups()
    for pid in set(before) - set(after):
        assert pid not in groups, f"replaced worker {pid} left processes behind: {groups[pid]}"
    for pid in after:
        assert [p for p, _ in groups.get(pid, [])] == [pid], "a worker's process group holds other processes"
    assert not [c for c in children_states() if c[1] == "Z"], "zombie children"


def assert_pool_serves(pool: SandboxPool) -> None:
    report = pool.run("def solver(x):\n    return x.upper()[::-1]\n", ["abc", "xyz"])
    assert report.verdict is None
    assert [r.output for r in report.results] == ["CBA", "ZYX"]


def test_suite_is_big_enough() -> None:
    assert len(HOSTILE) >= 40
    assert len({h.name for h in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_program(
    hostile: Hostile, pool: SandboxPool, listener: Listener, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    source = hostile.source.replace("TMP", str(tmp_path)).replace("PORT", str(listener.port))
    before = pool.worker_pids()

    report = pool.run(source, INPUTS)

    assert len(report.results) == len(INPUTS)
    assert [r.input for r in report.results] == INPUTS
    if hostile.expect.startswith("ok:"):
        assert report.verdict is None
        assert [(r.output, r.error) for r in report.results] == [(hostile.expect[3:], None)] * len(INPUTS)
    else:
        assert [r.error for r in report.results] == [hostile.expect] * len(INPUTS), report
        assert all(r.output is None and r.detail for r in report.results)
        assert report.verdict == (hostile.expect if hostile.verdict else None)
        if hostile.verdict:
            assert report.detail == report.results[0].detail

    # nothing escaped
    assert list(tmp_path.iterdir()) == [], "the solver created a file"
    assert listener.connections == 0, "the solver reached the TCP listener"
    texts = [report.detail or ""] + [(r.output or "") + (r.detail or "") for r in report.results]
    assert not any(SECRET in text for text in texts), "the parent's secret reached the solver"
    captured = capfd.readouterr()
    assert "FLOOD" not in captured.out + captured.err

    assert_pool_serves(pool)
    assert_no_worker_left_behind(pool, before)


def test_module_state_was_not_poisoned(pool: SandboxPool) -> None:
    """The attribute writes above were refused, so the modules are what they were."""
    source = prog("""
import math, collections
def solver(x):
    return str(math.pi)[:4] + ' ' + str(collections.Counter(x).most_common(1))
""")
    assert pool.run(source, ["aab"]).results[0].output == "3.14 [('a', 2)]"


def test_one_hanging_case_keeps_the_others(pool: SandboxPool) -> None:
    source = prog("""
def solver(x):
    while x == 'hang':
        pass
    return x.upper()
""")
    before = pool.worker_pids()
    report = pool.run(source, ["a", "hang", "b", "hang", "c"])
    assert [(r.output, r.error) for r in report.results] == [
        ("A", None),
        (None, "timeout"),
        ("B", None),
        (None, "timeout"),
        ("C", None),
    ]
    assert report.verdict is None
    assert_no_worker_left_behind(pool, before)
