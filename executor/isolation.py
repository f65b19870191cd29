"""What the operating system lets us add around a worker: a network namespace and fewer privileges.

Detected once per process by starting a tiny probe through each candidate launcher (from the
strongest down) and checking from inside that it really is in another network namespace and
holds no capabilities. Whatever is found, the other layers (restricted compiler, separate
``python -I`` process, empty environment, resource limits, process group, wall-clock kills) are
always on; a launcher only adds to them.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
NOBODY = 65534
PROBE_SECONDS = 20.0
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"

# Run inside each candidate launcher: can the worker's imports load, and what did we get?
_PROBE_CODE = """
import os, sys
sys.path.insert(0, sys.argv[1])
import executor.policy
cap = [line.split()[1] for line in open('/proc/self/status') if line.startswith('CapEff:')]
print(os.readlink('/proc/self/ns/net'), os.geteuid(), int(cap[0], 16) if cap else -1)
"""


@dataclass(frozen=True)
class Isolation:
    """The launcher workers are started with, and what it provides."""

    network_namespace: bool
    privileges: str  # "nobody", "no capabilities", or "unchanged"
    launcher: tuple[str, ...]

    def describe(self) -> str:
        network = (
            "network: own empty network namespace (only its own loopback, which is down)"
            if self.network_namespace
            else "network: NOT isolated (no network namespace could be made); the restricted "
            "compiler and the import allow-list are what keep solvers off sockets"
        )
        return f"{network}; privileges: {self.privileges}"


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


def _candidates() -> list[tuple[tuple[str, ...], bool, str]]:
    """(launcher, gives a network namespace, privilege level), strongest first."""
    unshare = shutil.which("unshare", path=SYSTEM_PATH)
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
    nets: list[tuple[tuple[str, ...], bool]] = []
    if unshare:
        nets.append(((unshare, "--net", "--"), True))
        nets.append(((unshare, "--net", "--map-root-user", "--"), True))
    nets.append(((), False))
    no_caps = ("--no-new-privs", "--inh-caps=-all", "--bounding-set=-all")
    privs: list[tuple[tuple[str, ...], str]] = []
    if setpriv:
        if os.geteuid() == 0:
            as_nobody = (f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
            privs.append(((setpriv, *as_nobody, *no_caps, "--"), "nobody"))
        privs.append(((setpriv, *no_caps, "--"), "no capabilities"))
    privs.append(((), "unchanged"))
    return [(net + priv, has_net, level) for net, has_net in nets for priv, level in privs]


def _probe_all() -> Isolation:
    own_net = os.readlink("/proc/self/ns/net") if os.path.exists("/proc/self/ns/net") else None
    for launcher, wants_net, level in _candidates():
        report = _probe(launcher)
        if report is None:
            continue
        net, euid, caps = report
        if wants_net and (own_net is None or net == own_net):
            continue
        if (level == "nobody" and euid != NOBODY) or (level == "no capabilities" and caps != 0):
            continue
        return Isolation(
            network_namespace=wants_net, privileges=_describe_level(level, launcher), launcher=launcher
        )
    return Isolation(network_namespace=False, privileges=_describe_level("unchanged", ()), launcher=())


def _describe_level(level: str, launcher: tuple[str, ...]) -> str:
    if "--map-root-user" in launcher:
        return f"{level} (root only inside an unprivileged user namespace)"
    if level == "unchanged":
        return "unprivileged user" if os.geteuid() != 0 else "unchanged: root with all capabilities"
    return level


def _probe(launcher: tuple[str, ...]) -> tuple[str, int, int] | None:
    try:
        completed = subprocess.run(
            [*launcher, sys.executable, "-I", "-c", _PROBE_CODE, PACKAGE_ROOT],
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
    if completed.returncode != 0 or len(fields) != 3:
        return None
    try:
        return fields[0].decode(), int(fields[1]), int(fields[2])
    except ValueError:
        return None
