"""The process layer on its own: what a worker is started with, checked from /proc, and what
unrestricted Python could do inside the same launcher and limits (nothing that reaches out)."""

from __future__ import annotations

import importlib.util
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import executor.process
from executor import Limits, SandboxPool, SandboxUnavailableError, isolation_info, network_isolation_available
from executor.isolation import PACKAGE_ROOT, UID_BASE

LIMITS = Limits(case_seconds=2.0, batch_seconds=10.0, cpu_seconds=7, memory_mb=200)
SECRET = "solverlab-isolation-secret-51e2"


@pytest.fixture(scope="module")
def worker_pid() -> Iterator[int]:
    os.environ["SOLVERLAB_TEST_SECRET"] = SECRET
    try:
        with SandboxPool(size=1, limits=LIMITS) as pool:
            [pid] = pool.worker_pids()
            yield pid
    finally:
        del os.environ["SOLVERLAB_TEST_SECRET"]


def proc_limits(pid: int) -> dict[str, tuple[str, str]]:
    table = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name, soft, hard = line[:26].strip(), *line[26:].split()[:2]
        table[name] = (soft, hard)
    return table


def test_worker_environment_is_empty(worker_pid: int) -> None:
    assert Path(f"/proc/{worker_pid}/environ").read_bytes() == b""


def test_worker_runs_python_in_isolated_mode(worker_pid: int) -> None:
    argv = Path(f"/proc/{worker_pid}/cmdline").read_bytes().split(b"\0")
    assert argv[0] == sys.executable.encode() and argv[1] == b"-I"


def test_worker_sits_in_an_empty_read_only_temporary_directory(worker_pid: int) -> None:
    cwd = Path(os.readlink(f"/proc/{worker_pid}/cwd"))
    assert cwd.name.startswith("solverlab-worker-")
    assert list(cwd.iterdir()) == []
    assert stat.S_IMODE(cwd.stat().st_mode) == 0o500


def test_worker_has_its_own_session_and_process_group(worker_pid: int) -> None:
    assert os.getpgid(worker_pid) == worker_pid
    assert os.getsid(worker_pid) == worker_pid
    assert os.getpgid(worker_pid) != os.getpgid(0)


def test_worker_resource_limits(worker_pid: int) -> None:
    limits = proc_limits(worker_pid)
    assert limits["Max cpu time"] == ("7", "8")
    assert limits["Max address space"] == (str(200 << 20), str(200 << 20))
    assert limits["Max file size"] == ("0", "0")
    assert limits["Max open files"] == ("16", "16")
    assert limits["Max core file size"] == ("0", "0")
    assert limits["Max processes"] == ("0", "0")


def test_worker_network_namespace(worker_pid: int) -> None:
    if not network_isolation_available():
        pytest.skip("this machine does not allow a network namespace; see the README")
    assert os.readlink(f"/proc/{worker_pid}/ns/net") != os.readlink("/proc/self/ns/net")


def test_worker_privileges(worker_pid: int) -> None:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{worker_pid}/status").read_text().splitlines())
    privileges = isolation_info().privileges
    if isolation_info().uid_per_worker:
        assert int(status["Uid"].split()[1]) >= UID_BASE
    if privileges.startswith(("own uid", "no capabilities")):
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0
        assert status["NoNewPrivs"].strip() == "1"


def test_isolation_is_described() -> None:
    info = isolation_info()
    assert info.network_namespace == network_isolation_available()
    assert ("NOT isolated" in info.describe()) != info.network_namespace


RAW_PROBE = """
import os, socket, sys
sys.path.insert(0, sys.argv[1])
from executor.worker import apply_limits
apply_limits(5, 200)
seen = [','.join(sorted(os.environ)) or '-']
try:
    socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=2).close()
    seen.append('connected')
except OSError:
    seen.append('no-connection')
try:
    with open(os.path.join(sys.argv[3], 'written'), 'w') as handle:
        handle.write('escaped' * 100)
    seen.append('wrote')
except OSError:
    seen.append('no-write')
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    seen.append('forked')
except OSError:
    seen.append('no-fork')
print(' '.join(seen), os.geteuid())
"""


def test_unrestricted_code_in_the_worker_launcher_cannot_reach_out(tmp_path: Path) -> None:
    """Layer 2 without layer 1: plain Python, same launcher and limits, tries the network and files."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        command = [
            *isolation_info().launcher_for(UID_BASE),
            sys.executable,
            "-I",
            "-c",
            RAW_PROBE,
            PACKAGE_ROOT,
            str(port),
            str(tmp_path),
        ]
        completed = subprocess.run(
            command, env={}, capture_output=True, text=True, timeout=60, start_new_session=True, check=False
        )
        try:
            server.accept()[0].close()
            connections = 1
        except TimeoutError:
            connections = 0
    finally:
        server.close()
    assert completed.returncode == 0, completed.stderr
    environ_names, connection, write, fork, euid = completed.stdout.split()
    assert environ_names in ("-", "LC_CTYPE")  # Python's own C-locale coercion, nothing inherited
    assert write == "no-write"
    written = tmp_path / "written"
    assert not written.exists() or written.stat().st_size == 0
    if network_isolation_available():
        assert connection == "no-connection" and connections == 0
    if euid != "0":  # the kernel exempts root from RLIMIT_NPROC
        assert fork == "no-fork"


def test_refuses_to_run_without_restricted_python(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "RestrictedPython" else real_find_spec(name, *a),
    )
    with pytest.raises(SandboxUnavailableError, match="RestrictedPython"):
        SandboxPool(size=1, limits=LIMITS)


def test_worker_refuses_when_its_policy_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that cannot import RestrictedPython says so and the pool refuses; no fallback."""
    # not under /tmp: workers may see a private, empty /tmp of their own
    with tempfile.TemporaryDirectory(dir="/var/tmp") as outside_tmp:
        refuse_to_load_the_policy(Path(outside_tmp), monkeypatch)


def refuse_to_load_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "executor").symlink_to(Path(PACKAGE_ROOT) / "executor")
    (tmp_path / "RestrictedPython").mkdir()
    fake = tmp_path / "RestrictedPython" / "__init__.py"
    fake.write_text("raise ImportError('simulated: not installed')\n")
    monkeypatch.setattr(executor.process, "PACKAGE_ROOT", str(tmp_path))
    with pytest.raises(SandboxUnavailableError, match="simulated: not installed"):
        SandboxPool(size=1, limits=LIMITS)


def test_workers_under_root_get_distinct_uids_where_possible() -> None:
    info = isolation_info()
    if os.geteuid() != 0 or not info.uid_per_worker:
        assert "NOT distinct per worker" in info.describe()
        return
    with SandboxPool(size=2, limits=LIMITS) as pool:
        uids = {
            Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[1] for pid in pool.worker_pids()
        }
    assert len(uids) == 2 and "0" not in uids


def test_worker_has_a_private_empty_tmp_where_possible(worker_pid: int) -> None:
    info = isolation_info()
    if not info.private_tmp:
        assert "/tmp: NOT private" in info.describe()
        return
    assert os.listdir(f"/proc/{worker_pid}/root/tmp") == []
    mounts = Path(f"/proc/{worker_pid}/mountinfo").read_text().splitlines()
    [tmp] = [line for line in mounts if line.split()[4] == "/tmp"]
    assert "tmpfs" in tmp and " ro," in tmp


def test_each_worker_uid_is_new_and_in_the_workers_range() -> None:
    from executor.isolation import UID_SPAN, UID_TOKEN, Isolation, new_uid

    taken: set[int] = set()
    for _ in range(200):
        uid = new_uid(taken)
        assert uid not in taken and UID_BASE <= uid < UID_BASE + UID_SPAN
        taken.add(uid)
    isolation = Isolation(True, True, True, "own uid per worker", ("setpriv", f"--reuid={UID_TOKEN}", "--"))
    assert isolation.launcher_for(UID_BASE + 7) == ("setpriv", f"--reuid={UID_BASE + 7}", "--")
