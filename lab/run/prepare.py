"""Store a new run (its plan, item count and the versions it ran with), or accept one to resume."""

from __future__ import annotations

import platform
import secrets
import time
from importlib import metadata

from lab.custom.probes import fingerprints
from lab.run.determinism import determinism_versions
from lab.run.plan import RunError, RunPlan, check_cases, mode_applies, shown_sets, total_items
from lab.run.store import Store
from lab.tasks.modes import MODES, Draws

VERSIONED_PACKAGES = ("litellm", "RestrictedPython", "xllamacpp", "pandas", "streamlit")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def prepare_run(store: Store, plan: RunPlan, run_id: str | None = None) -> str:
    """Create the run, or accept an existing one with the same plan (which is then resumed)."""
    run_id = run_id or new_run_id()
    existing = store.get_run(run_id)
    if existing is not None:
        if existing.plan_hash != plan.identity_hash():
            raise RunError(f"run {run_id} exists with a different plan; choose another --run-id")
        return run_id
    for setting in plan.settings():
        # A missing or short cases or check file, or examples that cannot be drawn, fail now, before the
        # run is stored.
        shown_sets(plan, setting)
        if any(MODES[mode].draws is Draws.CHECKS and mode_applies(setting, mode) for mode in plan.modes):
            check_cases(plan, setting)
    versions = package_versions() | fingerprints(store, {s.family for s in plan.settings()})
    versions |= determinism_versions(plan)
    store.create_run(run_id, plan.to_dict(), plan.identity_hash(), total_items(plan), versions)
    return run_id
