"""What the operating system lets us add around a worker: namespaces and fewer privileges.

Detected once per process by starting a tiny probe through each candidate launcher (from the
strongest down) and checking from inside that it really is in another network namespace, sees a
private empty /tmp, runs as the uid it was given and holds no capabilities. Whatever is found,
the other layers (restricted compiler, separate ``python -I`` process, empty environment,
resource limits, process group, wall-clock kills, a fresh process per job) are always on; a
launcher only adds to them.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
UID_TOKEN = "{uid}"  # replaced by each worker's own uid in the launcher
# Workers under root each get a uid of their own from this range, which no account uses.
UID_BASE = 1_900_000_000
UID_SPAN = 50_000_000
PROBE_SECONDS = 20.0
# Run first in the worker's own mount namespace (as root there): mounts an empty, read-only
# tmpfs over /tmp, then execs the rest of the launcher in the same process, so that the worker's
# process group never holds anything but the worker; the environment stays empty.
PRIVATE_TMP = """
import ctypes, os, sys
flags = 1 | 2 | 4 | 8  # MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"solverlab-tmp", b"/tmp", b"tmpfs", flags, b"size=4k,mode=555") != 0:
    sys.exit("solverlab worker: cannot mount a private /tmp: " + os.strerror(ctypes.get_errno()))
os.execve(sys.argv[1], sys.argv[1:], {})
"""
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"

# Run inside each candidate launcher: can the worker's imports load, and what did we get?
_PROBE_CODE = """
import os, sys
sys.path.insert(0, sys.argv[1])
import executor.policy
cap = [line.split()[1] for line in open('/proc/self/status') if line.startswith('CapEff:')]
tmp = os.stat('/tmp')
private = int(tmp.st_dev != int(sys.argv[2]) and not os.listdir('/tmp') and not os.access('/tmp', os.W_OK))
print(os.readlink('/proc/self/ns/net'), os.geteuid(), int(cap[0], 16) if cap else -1, private)
"""


@dataclass(frozen=True)
class Isolation:
    """The launcher workers are started with, and what it provides."""

    network_namespace: bool
    private_tmp: bool
    uid_per_worker: bool
    privileges: str  # "own uid per worker", "no capabilities", or "unchanged"
    launcher: tuple[str, ...]  # with UID_TOKEN where each worker's uid goes

    def launcher_for(self, uid: int) -> tuple[str, ...]:
        return tuple(part.replace(UID_TOKEN, str(uid)) for part in self.launcher)

    def describe(self) -> str:
        network = (
            "network: own empty network namespace (only its own loopback, which is down)"
            if self.network_namespace
            else "network: NOT isolated (no network namespace could be made); the restricted "
            "compiler and the import allow-list are what keep solvers off sockets"
        )
        tmp = (
            "/tmp: private, empty and read-only (own mount namespace)"
            if self.private_tmp
            else "/tmp: NOT private (no mount namespace could be made): the host's /tmp is visible"
        )
        users = (
            "uid: a distinct unprivileged uid per worker"
            if self.uid_per_worker
            else "uid: NOT distinct per worker (all workers share this uid); code past the restricted "
            "layer could signal a sibling worker, though not read its memory (workers are not dumpable)"
        )
        return f"{network}; {tmp}; {users}; privileges: {self.privileges}"


_lock = threading.Lock()


def detect() -> Isolation:
    """The best launcher this machine allows (probed once per process, then cached)."""
    with _lock:
        return _detect_once()


@functools.cache
def _detect_once() -> Isolation:
    return _probe_all()


def network_isolation_available() -> bool:
    """Whether workers run in their own network namespace on this machine."""
    return detect().network_namespace


def new_uid(in_use: set[int]) -> int:
    """A uid from the workers' range that no live worker of this process has (random across processes)."""
    while True:
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        if uid not in in_use:
            return uid


# (launcher prefix, network namespace, private /tmp)
_Spaces = tuple[tuple[str, ...], bool, bool]


def _namespaces() -> list[_Spaces]:
    """Namespace launchers, strongest first; the /tmp mount happens before privileges are dropped."""
    unshare = shutil.which("unshare", path=SYSTEM_PATH)
    found: list[_Spaces] = []
    if unshare:
        for user in ((), ("--map-root-user",)):
            mount = (unshare, "--net", "--mount", *user, "--", sys.executable, "-I", "-S", "-c", PRIVATE_TMP)
            found.append((mount, True, True))
            found.append(((unshare, "--net", *user, "--"), True, False))
    found.append(((), False, False))
    return found


def _candidates() -> list[tuple[tuple[str, ...], bool, bool, str]]:
    """(launcher, network namespace, private /tmp, privilege level), strongest first."""
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
    no_caps = ("--no-new-privs", "--inh-caps=-all", "--bounding-set=-all")
    privs: list[tuple[tuple[str, ...], str]] = []
    if setpriv:
        if os.geteuid() == 0:
            own_uid = (f"--reuid={UID_TOKEN}", f"--regid={UID_TOKEN}", "--clear-groups")
            privs.append(((setpriv, *own_uid, *no_caps, "--"), "own uid per worker"))
        privs.append(((setpriv, *no_caps, "--"), "no capabilities"))
    privs.append(((), "unchanged"))
    return [
        (spaces + priv, has_net, has_tmp, level)
        for spaces, has_net, has_tmp in _namespaces()
        for priv, level in privs
    ]


def _probe_all() -> Isolation:
    own_net = os.readlink("/proc/self/ns/net") if os.path.exists("/proc/self/ns/net") else None
    for launcher, wants_net, wants_tmp, level in _candidates():
        report = _probe(launcher)
        if report is None:
            continue
        net, euid, caps, private_tmp = report
        if wants_net and (own_net is None or net == own_net):
            continue
        if wants_tmp and not private_tmp:
            continue
        if (level == "own uid per worker" and euid != UID_BASE) or (level != "unchanged" and caps != 0):
            continue
        return Isolation(
            network_namespace=wants_net,
            private_tmp=wants_tmp,
            uid_per_worker=level == "own uid per worker",
            privileges=_describe_level(level, launcher),
            launcher=launcher,
        )
    return Isolation(False, False, False, _describe_level("unchanged", ()), ())


def _describe_level(level: str, launcher: tuple[str, ...]) -> str:
    if "--map-root-user" in launcher:
        return f"{level} (root only inside an unprivileged user namespace)"
    if level == "unchanged":
        return "unprivileged user" if os.geteuid() != 0 else "unchanged: root with all capabilities"
    return level


def _probe(launcher: tuple[str, ...]) -> tuple[str, int, int, bool] | None:
    command = [*launcher, sys.executable, "-I", "-c", _PROBE_CODE, PACKAGE_ROOT, str(os.stat("/tmp").st_dev)]
    try:
        completed = subprocess.run(
            [part.replace(UID_TOKEN, str(UID_BASE)) for part in command],
            env={},
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_SECONDS,
            start_new_session=True,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fields = completed.stdout.split()
    if completed.returncode != 0 or len(fields) != 4:
        return None
    try:
        return fields[0].decode(), int(fields[1]), int(fields[2]), fields[3] == b"1"
    except ValueError:
        return None
