"""The Run page: follow the current run (progress, stop, resume, results so far) and start a new study.

A run executes in its own process (`api.start_background_run`) and this page reads its progress back
from the store, so it goes on, and keeps its progress, when the user switches page or reloads.
"""

from __future__ import annotations

import time

import streamlit as st

from lab import api
from ui import data, session, study_form
from ui.widgets import plan_text, status_badge, summary_table

REFRESH_SECONDS = 1.5
ETA_SAMPLES = 400  # progress readings kept per run for the time left (about 10 minutes of refreshes)
LIVE_RESULT_STEPS = 40  # while a run goes on, its results are re-read about this many times in all


def page() -> None:
    st.title("Run a study")
    record = watched_run()
    if record is not None:
        live = api.effective_status(record) == "running"
        st.fragment(run_every=REFRESH_SECONDS if live else None)(run_monitor)(record.id, live)
    st.header("New study", divider="gray")
    presets = study_form.preset_section()
    if presets is not None:
        start_preset_section(presets)
        return
    plan = study_form.study_form()
    if plan is not None:
        start_section(plan)


def watched_run() -> api.RunRecord | None:
    """The run the page follows: this session's, the one in the URL, else any run still running."""
    store = data.store()
    run_id = st.session_state.get("watch_run") or st.query_params.get("run")
    record = store.get_run(run_id) if run_id else None
    if record is None:
        record = next((r for r in store.list_runs() if api.effective_status(r) == "running"), None)
    return record


def run_monitor(run_id: str, was_live: bool) -> None:
    try:
        record = api.get_run(data.store(), run_id)
    except api.RunError:
        st.info(f"Run {run_id} no longer exists.")
        return
    status = api.effective_status(record)
    if was_live and status != "running":
        st.rerun(scope="app")  # the run ended: redraw the page once, without the timer
    progress = api.run_progress(data.store(), run_id)
    with st.container(border=True):
        st.subheader(f"Run `{run_id}` {status_badge(status)}")
        framing = record.plan.get("framing", api.Framing.BLIND.value)  # stored before framings: blind
        st.caption(f"{plan_text(record.plan)}, {framing} framing")
        smoke_test = api.smoke_test_note(api.RunPlan.from_dict(record.plan))
        if smoke_test:
            st.info(smoke_test, icon=":material/local_fire_department:")
        share = progress.done / progress.total if progress.total else 0.0
        text = f"{progress.done:,} of {progress.total:,} items scored ({share:.0%})"
        if status == "running":
            text += f" · {time_left(run_id, progress.done, progress.total)}"
        st.progress(min(1.0, share), text=text)
        tokens = progress.prompt_tokens + progress.completion_tokens
        columns = st.columns(4)
        columns[0].metric("Items scored", f"{progress.done:,} / {progress.total:,}")
        columns[1].metric("Failed model calls", f"{progress.failures:,}")
        columns[2].metric(
            "Tokens",
            f"{tokens:,}",
            help=f"{progress.prompt_tokens:,} prompt + {progress.completion_tokens:,} reply",
        )
        columns[3].metric(
            "Cost (USD)",
            f"${progress.cost:,.4f}",
            help="as litellm prices the calls; the embedded model costs nothing",
        )
        run_status_message(record, status)
        if status != "running" and progress.done:
            truncation_warning(run_id)
        run_actions(record, status)
        if progress.done:
            live_results(run_id, progress.done, progress.total, final=status != "running")


def time_left(run_id: str, done: int, total: int) -> str:
    """The ETA from the progress this session has seen of the run (kept for `api.eta_text`'s window)."""
    samples = st.session_state.setdefault("eta_samples", {}).setdefault(run_id, [])
    now = time.time()
    if samples and samples[-1].done > done:  # the store lost items (deleted and started anew): start over
        samples.clear()
    samples.append(api.ProgressSample(now, done))
    del samples[: max(0, len(samples) - ETA_SAMPLES)]
    return api.eta_text(samples, total) or "estimating the time left…"


def run_status_message(record: api.RunRecord, status: str) -> None:
    reason = record.reason or ""
    if status == "running":
        if st.session_state.get("stopping") == record.id:
            st.info(
                "Stopping: the calls in flight are cancelled (nothing is lost: they are made again on "
                "resume); items already scored are kept."
            )
        else:
            st.caption(
                "The run executes in its own process: switch pages or reload the browser as you like; "
                "progress is read back from the store."
            )
    elif status == "finished" and reason:  # every item stored, but most have no reply
        st.warning(f"Finished, but this is no result: {reason}.")
    elif status == "finished":
        st.success("Finished: every item is scored.")
    elif status == "failed":
        st.error(
            f"The run failed: {reason or 'no reason was recorded'}. Fix the cause, then resume it: "
            "items already scored are kept."
        )
    elif status == "stopped":
        st.info(f"Stopped. {reason}")
    elif status == "interrupted":
        st.warning(
            "The run's process ended without finishing (it was killed or crashed). Resume finishes "
            "the items that are left."
        )
    elif status == "incomplete":
        st.warning(f"Incomplete: {reason}")
    else:
        st.info("This run has not started yet.")


def truncation_warning(run_id: str) -> None:
    """When replies stopped at the token cap, how many, and the larger cap to run again with."""
    advice = api.truncation_advice(data.store(), run_id)
    if advice is not None:
        st.warning(advice.message, icon=":material/content_cut:")


def stop_run(run_id: str) -> None:
    api.stop_run(data.store(), run_id)
    st.session_state["stopping"] = run_id


def run_actions(record: api.RunRecord, status: str) -> None:
    if status == "running":
        st.button(
            "Stop",
            key="stop_run",
            icon=":material/stop:",
            on_click=stop_run,
            args=(record.id,),
            help="Cancels the calls in flight within seconds; the items already scored are kept and the "
            "run can be resumed.",
        )
    elif status == "finished":
        st.button(
            "See the results",
            key="open_results",
            type="primary",
            on_click=session.go_to,
            args=("Results",),
            kwargs={"runs": preset_runs_of(record.id)},
        )
    else:
        resume_action(record, status)


def resume_action(record: api.RunRecord, status: str) -> None:
    """Start or resume a run that is not going on, asking again for keys typed in an earlier session."""
    models = record.plan["models"]
    for model in session.missing_session_keys(models):
        st.text_input(
            f"Key for {model['name']} (typed in an earlier session, never stored: type it again)",
            type="password",
            key=f"retype:{model['key_env']}",
        )
    label = "Start" if status == "pending" else "Resume"
    if not st.button(label, key="resume_run", type="primary", icon=":material/play_arrow:"):
        return
    for model in session.missing_session_keys(models):
        typed = st.session_state.get(f"retype:{model['key_env']}", "")
        if typed:
            session.session_keys()[model["key_env"]] = typed
    still_missing = session.missing_session_keys(models)
    if still_missing:
        st.error(f"Type the key for {', '.join(m['name'] for m in still_missing)} first.")
        return
    try:
        api.start_background_run(data.store(), record.id, env=session.run_env(models))
    except (api.RunError, OSError) as exc:
        st.error(f"Could not resume the run: {exc}")
        return
    st.session_state.pop("stopping", None)
    st.rerun(scope="app")


def live_results(run_id: str, done: int, total: int, *, final: bool) -> None:
    # While running, re-read the results every few percent of the items, not on every tick.
    step = 1 if final else max(1, total // LIVE_RESULT_STEPS)
    marker = (done if final else done // step * step,)
    if marker[0] == 0:
        return
    db = data.db_path()
    summary = data.load_tables(db, (run_id,), marker).summary
    with st.expander("Results so far" if not final else "Results", expanded=True):
        st.plotly_chart(
            data.load_figures(db, (run_id,), marker)["Accuracy per setting"],
            config=api.chart_config(f"solverlab-{run_id}-accuracy"),
            key="live_chart",
        )
        summary_table(summary, key="live_summary")


def start_section(plan: api.RunPlan) -> None:
    st.subheader("Estimate")
    smoke_test = api.smoke_test_note(plan)
    if smoke_test:
        st.info(smoke_test, icon=":material/local_fire_department:")
    columns = st.columns(4)
    columns[0].metric("Model calls", f"{api.estimated_calls(plan):,}")
    columns[1].metric("Items to score", f"{api.total_items(plan):,}")
    columns[2].metric("Settings", f"{len(plan.settings()):,}")
    columns[3].metric("Models", f"{len(plan.models):,}")
    st.caption(
        "A direct mode makes one call per held-out case; a code mode one call per sample and instance "
        "(plus, at most, one per refinement round), whose solver() then runs on every case in the "
        "sandbox. Replies already in the store are reused."
    )
    st.dataframe(
        api.cost_rows(plan),
        hide_index=True,
        placeholder="",  # an unknown price is a blank, as the caption says, not "None"
        column_config={
            "prompt_cost": st.column_config.NumberColumn("prompt cost (USD)", format="%.4f"),
            "max_cost": st.column_config.NumberColumn("cost at the token cap (USD)", format="%.4f"),
        },
    )
    st.caption(
        "Prices from litellm's price map (the embedded model and replays are free); an empty cost means the "
        "price is unknown (e.g. a model on your own server)."
    )
    for warning in api.precision_warnings(plan):
        st.warning(warning, icon=":material/straighten:")
    columns = st.columns(2)
    name = columns[0].text_input(
        "Run name (optional)",
        key="run_name",
        max_chars=api.NAME_LIMIT,
        placeholder="e.g. base-9 sweep",
        help="Shown in every chart, table and CSV; unnamed runs read model - date - short id. "
        "Renamed later on the History page.",
    )
    max_cost = columns[1].number_input(
        "Stop at a cost of (USD, 0 for no cap)", min_value=0.0, value=0.0, step=1.0, key="max_cost"
    )
    unset = [model for model in plan.models if api.key_is_unset(model)]
    for model in unset:
        st.error(
            f"{model.name}: the environment variable {model.key_env} is not set for this app. Set "
            "it before starting streamlit, or add the model again with the key typed in."
        )
    if st.button(
        "Start the study", type="primary", icon=":material/rocket_launch:", disabled=bool(unset), key="start"
    ):
        try:
            api.check_cost_cap(plan, max_cost or None)
            run_id = api.prepare_run(data.store(), plan, name=name or None)
            env = session.run_env([m.as_dict() for m in plan.models])
            api.start_background_run(data.store(), run_id, env=env, max_cost=max_cost or None)
        except (api.RunError, ValueError, OSError) as exc:
            st.error(f"Could not start the run: {exc}")
            return
        session.watch(run_id)
        st.session_state.pop("stopping", None)
        st.rerun()


def preset_runs_of(run_id: str) -> list[str]:
    """The runs started with this one from a preset (itself among them), else just this one."""
    started = st.session_state.get("preset_runs", [])
    return list(started) if run_id in started else [run_id]


def start_preset_section(plans: list[api.PresetPlan]) -> None:
    """Start every run of the preset, each in its own process; the page follows the first."""
    unset = {model.name: model for entry in plans for model in entry.plan.models if api.key_is_unset(model)}
    for model in unset.values():
        st.error(f"{model.name}: the environment variable {model.key_env} is not set for this app.")
    label = f"Start the preset's {len(plans)} run(s)"
    if not st.button(
        label, type="primary", icon=":material/rocket_launch:", disabled=bool(unset), key="start"
    ):
        return
    store = data.store()
    run_ids = []
    try:
        for entry in plans:
            run_id = api.prepare_run(store, entry.plan)
            api.start_background_run(
                store, run_id, env=session.run_env([m.as_dict() for m in entry.plan.models])
            )
            run_ids.append(run_id)
    except (api.RunError, OSError) as exc:
        st.error(f"Could not start the preset's runs: {exc}")
        return
    st.session_state["preset_runs"] = run_ids
    session.watch(run_ids[0])
    st.session_state.pop("stopping", None)
    st.rerun()
