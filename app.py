"""SolverLab in the browser: configure a study, watch it run, compare inductive and deductive, inspect items.

Layout only: every number, table and figure comes from `lab`. A run executes in its own process
(`study.start_background_run`) and the pages read its progress back from the store, so it goes on, and
keeps its progress, when the user switches page or reloads the browser.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lab.custom import probes as custom
from lab.models import replay
from lab.results import browse, charts, export, sampling, stats
from lab.run import study
from lab.run.plan import (
    DEFAULT_MODEL,
    MAX_ROUNDS,
    MAX_SAMPLES,
    QUICK_MODES,
    ModelSpec,
    RunError,
    RunPlan,
    default_temperature,
    quick_plan,
)
from lab.run.store import RunRecord, Store, default_db_path
from lab.tasks.modes import MODE_ORDER, MODES
from probes import REGISTRY, ProbeError, parse_spec

PAGES = ("Run", "Results", "Inspect", "History", "Probes")
REFRESH_SECONDS = 1.5
PAGE_SIZE = 50
SESSION_KEY_PREFIX = "SOLVERLAB_SESSION_KEY_"
LIVE_RESULT_STEPS = 40  # while a run goes on, its results are re-read about this many times in all
STATUS_BADGES = {
    "running": ":blue-badge[running]",
    "finished": ":green-badge[finished]",
    "failed": ":red-badge[failed]",
    "stopped": ":orange-badge[stopped]",
    "interrupted": ":orange-badge[interrupted]",
    "incomplete": ":orange-badge[incomplete]",
    "pending": ":gray-badge[not started]",
}
INSPECT_TABLE_COLUMNS = [
    "probe",
    "setting",
    "mode",
    "instance",
    "case_index",
    "input",
    "expected",
    "predicted",
    "correct",
    "error",
    "model",
]
HISTORY_COLUMNS = [
    "run_id",
    "status",
    "created",
    "items",
    "accuracy",
    "calls",
    "tokens",
    "cost_usd",
    "models",
    "modes",
    "probes",
    "reason",
]

st.set_page_config(page_title="SolverLab", page_icon=":material/science:", layout="wide")


# ---------------------------------------------------------------------------------------------
# Data: one store per database file, cached queries keyed by the runs and a cheap change marker


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    return Store(path)


def db_path() -> str:
    return str(default_db_path())


def store() -> Store:
    return open_store(db_path())


@st.cache_data(show_spinner="Reading items…", max_entries=6)
def load_items(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> pd.DataFrame:
    return browse.label_models_by_run(browse.browse_frame(open_store(db), run_ids))


@st.cache_data(show_spinner="Computing the summary…", max_entries=32)
def load_tables(
    db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str | None]:
    items = load_items(db, run_ids, marker)
    try:
        drops, drop_problem = stats.counterfactual_drop(items), None
    except ValueError as exc:  # e.g. two default-world settings of one family
        drops, drop_problem = stats.counterfactual_drop(items.iloc[0:0]), str(exc)
    return stats.summary(items), stats.gaps(items), drops, drop_problem


@st.cache_data(show_spinner=False, max_entries=32)
def load_function_tables(
    db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pass@k and best fit over samples, and accuracy by refinement round (code modes)."""
    functions = browse.label_models_by_run(study.functions_frame(open_store(db), run_ids))
    return sampling.sampling(functions), sampling.rounds(functions)


@st.cache_resource(show_spinner=False, max_entries=32)
def load_figures(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> dict[str, go.Figure]:
    summary, gaps, drops, _ = load_tables(db, run_ids, marker)
    sampled, refined = load_function_tables(db, run_ids, marker)
    return {
        "Accuracy per setting": charts.accuracy_by_setting(summary),
        "Accuracy against the counterfactual parameter": charts.accuracy_by_parameter(summary),
        "Accuracy heatmap": charts.accuracy_heatmap(summary),
        "Inductive minus deductive": charts.gap_chart(gaps),
        "Counterfactual drop": charts.drop_chart(drops),
        "Deductive vs comprehension check": charts.comprehension_chart(summary),
        "pass@k": charts.pass_at_k_chart(sampled),
        "Accuracy by refinement round": charts.rounds_chart(refined),
    }


@st.cache_data(show_spinner=False, max_entries=4)
def items_csv(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> bytes:
    return export.items_csv(study.export_frame(open_store(db), run_ids))


@st.cache_data(show_spinner=False, max_entries=4)
def charts_html(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> str:
    return charts.figures_html(load_figures(db, run_ids, marker), f"SolverLab: {', '.join(run_ids)}")


def session_keys() -> dict[str, str]:
    """Keys typed in this browser session: in memory only, handed to a run's process as environment."""
    return st.session_state.setdefault("session_keys", {})


def run_env(models: list[dict[str, Any]]) -> dict[str, str]:
    keys = session_keys()
    return {m["key_env"]: keys[m["key_env"]] for m in models if m.get("key_env") in keys}


def missing_session_keys(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m
        for m in models
        if (m.get("key_env") or "").startswith(SESSION_KEY_PREFIX) and m["key_env"] not in session_keys()
    ]


def go_to(page: str, **state: Any) -> None:
    """Switch page (a button callback): the page radio reads `page` from the session state."""
    st.session_state["page"] = page
    for key, value in state.items():
        st.session_state[key] = value


def watch(run_id: str) -> None:
    st.session_state["watch_run"] = run_id
    st.query_params["run"] = run_id


def watched_run() -> RunRecord | None:
    """The run the Run page follows: this session's, the one in the URL, else any run still running."""
    run_id = st.session_state.get("watch_run") or st.query_params.get("run")
    record = store().get_run(run_id) if run_id else None
    if record is None:
        record = next((r for r in store().list_runs() if study.effective_status(r) == "running"), None)
    return record


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    return {
        row.run_id: f"{row.run_id} · {row.models} · {row.status} · {row.items} items"
        for row in runs.itertuples()
    }


def run_picker(runs: pd.DataFrame, label: str) -> tuple[str, ...]:
    """Runs to show (Results and Inspect share them): the watched run, else the latest one with items."""
    options = list(runs["run_id"])
    if "runs" in st.session_state:
        st.session_state["runs"] = [r for r in st.session_state["runs"] if r in options]
    else:
        scored = list(runs.loc[~runs["items"].str.startswith("0/"), "run_id"])
        watched = st.session_state.get("watch_run")
        st.session_state["runs"] = [watched] if watched in scored else scored[:1]
    chosen = st.multiselect(
        label,
        options,
        key="runs",
        format_func=run_labels(runs).get,
        placeholder="Choose one or more runs",
        persist_state="session",
        help="Several runs compare models (or runs of one model, named model [run]).",
    )
    return tuple(chosen)


# ---------------------------------------------------------------------------------------------
# Run page


def run_page() -> None:
    st.title("Run a study")
    record = watched_run()
    if record is not None:
        status = study.effective_status(record)
        live = status == "running"
        st.fragment(run_every=REFRESH_SECONDS if live else None)(run_monitor)(record.id, live)
    st.header("New study", divider="gray")
    plan = study_form()
    if plan is not None:
        start_section(plan)


def run_monitor(run_id: str, was_live: bool) -> None:
    try:
        record = study.get_run(store(), run_id)
    except RunError:
        st.info(f"Run {run_id} no longer exists.")
        return
    status = study.effective_status(record)
    if was_live and status != "running":
        st.rerun(scope="app")  # the run ended: redraw the page once, without the timer
    progress = study.run_progress(store(), run_id)
    with st.container(border=True):
        st.subheader(f"Run `{run_id}` {STATUS_BADGES.get(status, status)}")
        st.caption(plan_text(record.plan))
        share = progress.done / progress.total if progress.total else 0.0
        st.progress(
            min(1.0, share), text=f"{progress.done:,} of {progress.total:,} items scored ({share:.0%})"
        )
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
        run_actions(record, status)
        if progress.done:
            live_results(run_id, progress.done, progress.total, final=status != "running")


def plan_text(plan: dict[str, Any]) -> str:
    return (
        f"{', '.join(m['name'] for m in plan['models'])} · {', '.join(plan['probes'])} · "
        f"{', '.join(plan['modes'])} · {plan['n']} held-out cases, {plan['shots']} shots, "
        f"{plan['instances']} instance(s), seed {plan['seed']}, temperature {plan['temperature']}"
    )


def run_status_message(record: RunRecord, status: str) -> None:
    reason = record.reason or ""
    if status == "running":
        if st.session_state.get("stopping") == record.id:
            st.info("Stopping: the calls already sent finish and are kept; then you can resume.")
        else:
            st.caption(
                "The run executes in its own process: switch pages or reload the browser as you like; "
                "progress is read back from the store."
            )
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


def stop_run(run_id: str) -> None:
    study.stop_run(store(), run_id)
    st.session_state["stopping"] = run_id


def run_actions(record: RunRecord, status: str) -> None:
    if status == "running":
        st.button(
            "Stop",
            key="stop_run",
            icon=":material/stop:",
            on_click=stop_run,
            args=(record.id,),
            help="The calls in flight finish and are kept; then the run stops and can be resumed.",
        )
        return
    if status == "finished":
        st.button(
            "See the results",
            key="open_results",
            type="primary",
            on_click=go_to,
            args=("Results",),
            kwargs={"runs": [record.id]},
        )
        return
    models = record.plan["models"]
    for model in missing_session_keys(models):
        st.text_input(
            f"Key for {model['name']} (typed in an earlier session, never stored: type it again)",
            type="password",
            key=f"retype:{model['key_env']}",
        )
    label = "Start" if status == "pending" else "Resume"
    if not st.button(label, key="resume_run", type="primary", icon=":material/play_arrow:"):
        return
    for model in missing_session_keys(models):
        typed = st.session_state.get(f"retype:{model['key_env']}", "")
        if typed:
            session_keys()[model["key_env"]] = typed
    still_missing = missing_session_keys(models)
    if still_missing:
        st.error(f"Type the key for {', '.join(m['name'] for m in still_missing)} first.")
        return
    try:
        study.start_background_run(store(), record.id, env=run_env(models))
    except (RunError, OSError) as exc:
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
    summary = load_tables(db_path(), (run_id,), marker)[0]
    with st.expander("Results so far" if not final else "Results", expanded=True):
        st.plotly_chart(
            load_figures(db_path(), (run_id,), marker)["Accuracy per setting"],
            config=charts.chart_config(f"solverlab-{run_id}-accuracy"),
            key="live_chart",
        )
        summary_table(summary, key="live_summary")


def model_description(model: dict[str, Any]) -> str:
    if model["name"] == DEFAULT_MODEL:
        return "embedded model, runs on this machine's CPU; no key, no network"
    if replay.is_replay(model["name"]):
        return (
            f"recorded responses from `{model['name'].removeprefix(replay.PREFIX)}`; no key, no network; "
            "a prompt that was not recorded is scored wrong as `not_recorded`"
        )
    where = f"at `{model['api_base']}`" if model.get("api_base") else "through the provider's own endpoint"
    key_env = model.get("key_env")
    if key_env and key_env.startswith(SESSION_KEY_PREFIX):
        key = (
            "key typed for this session (memory only)"
            if key_env in session_keys()
            else "key typed in an earlier session: type it again"
        )
    elif key_env:
        key = f"key from `${key_env}`" + ("" if os.environ.get(key_env) else " (**not set** for this app)")
    elif model.get("api_base"):
        key = "no key sent"
    else:
        key = "key from the provider's usual variable (e.g. `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`)"
    return f"{where}; {key}"


def add_model() -> None:
    """Form callback: add the model typed into the form; a typed key stays in this session's memory."""
    name = st.session_state.get("new_model", "").strip()
    api_base = st.session_state.get("new_api_base", "").strip() or None
    key_env = st.session_state.get("new_key_env", "").strip() or None
    typed = st.session_state.get("new_key", "")
    if not name:
        st.session_state["model_problem"] = "Type a litellm model string, e.g. openai/gpt-4o-mini."
        return
    if typed:
        key_env = f"{SESSION_KEY_PREFIX}{len(session_keys()) + 1}"
    try:
        spec = ModelSpec(name, api_base, key_env).as_dict()
    except ValueError as exc:  # e.g. credentials written into the api_base
        st.session_state["model_problem"] = f"Cannot add {name}: {exc}."
        return
    models = st.session_state.setdefault("models", [ModelSpec(DEFAULT_MODEL).as_dict()])
    if any(m["name"] == name and m.get("api_base") == api_base for m in models):
        st.session_state["model_problem"] = f"{name} is already in the study."
        return
    if typed and key_env:
        session_keys()[key_env] = typed
    models.append(spec)
    st.session_state.pop("model_problem", None)


def remove_model(index: int) -> None:
    st.session_state["models"].pop(index)


def models_section() -> list[dict[str, Any]]:
    st.subheader("Models")
    models: list[dict[str, Any]] = st.session_state.setdefault("models", [ModelSpec(DEFAULT_MODEL).as_dict()])
    for index, model in enumerate(models):
        columns = st.columns([4, 8, 1], vertical_alignment="center")
        columns[0].markdown(f"**`{replay.display_label(model['name'])}`**")
        columns[1].caption(model_description(model))
        columns[2].button(
            "",
            key=f"remove_model_{index}",
            on_click=remove_model,
            args=(index,),
            icon=":material/close:",
            help=f"Remove {model['name']} from the study",
        )
    if not any(m["name"] == DEFAULT_MODEL for m in models):
        st.button(
            f"Add the embedded model ({DEFAULT_MODEL})",
            key="add_default",
            on_click=lambda: models.insert(0, ModelSpec(DEFAULT_MODEL).as_dict()),
        )
    recorded = [r for r in replay.recorded_models() if not any(m["name"] == r.name for m in models)]
    if recorded:
        with st.expander("Add a recorded model (Wu et al.'s transcripts, replayed: no key, no network)"):
            st.caption(
                "They answer deductive arithmetic and its comprehension check (mode ccc) on Wu et al.'s "
                "items: set the held-out cases file to their `arithmetic/data/0shot/base{base}.txt`, the "
                "check file to `arithmetic/data/ccc/base{base}.txt`, and tick chain of thought for the "
                "CoT ones. Any other prompt is scored `not_recorded`."
            )
            columns = st.columns(4)
            for index, model in enumerate(recorded):
                columns[index % 4].button(
                    model.label,
                    key=f"add_recorded_{model.name}",
                    on_click=models.append,
                    args=(ModelSpec(model.name).as_dict(),),
                )
    with st.expander("Add a model (any litellm string, optionally an OpenAI-compatible api_base)"):
        with st.form("add_model_form", clear_on_submit=True, border=False):
            columns = st.columns(2)
            columns[0].text_input(
                "litellm model string",
                key="new_model",
                placeholder="openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama_chat/llama3",
            )
            columns[1].text_input(
                "api_base (optional)",
                key="new_api_base",
                placeholder="http://127.0.0.1:8000/v1",
                help="An OpenAI-compatible server. Without it litellm calls the provider.",
            )
            columns = st.columns(2)
            columns[0].text_input(
                "Environment variable holding its key (optional)",
                key="new_key_env",
                placeholder="OPENAI_API_KEY",
                help="Blank: litellm's usual variable for the provider (OPENAI_API_KEY for "
                "openai/..., ANTHROPIC_API_KEY for anthropic/...); with an api_base, "
                "no key.",
            )
            columns[1].text_input(
                "…or type the key for this session",
                key="new_key",
                type="password",
                help="Kept in this browser session's memory and handed to the run's "
                "process as an environment variable; never stored, logged, exported.",
            )
            st.form_submit_button("Add model", on_click=add_model)
    if st.session_state.get("model_problem"):
        st.error(st.session_state["model_problem"])
    return models


def probes_section() -> tuple[list[str], list[str]]:
    """The chosen probe specs, and the problems with any extra settings typed in."""
    st.subheader("Probes and settings")
    st.caption(
        "Each family's familiar default world (★) and counterfactual worlds, with the rule the "
        "deductive modes state."
    )
    preselected = set(quick_plan().probes)
    specs: list[str] = []
    problems: list[str] = []
    families = list(REGISTRY.values())
    for tab, family in zip(st.tabs([f.name for f in families]), families, strict=True):
        with tab:
            st.caption(family.description)
            settings = family.standard_settings()
            columns = st.columns(2)
            for index, setting in enumerate(settings):
                with columns[index % 2]:
                    world = "default world ★" if setting.default_world else "counterfactual"
                    if st.checkbox(
                        f"`{setting.label}` · {world}",
                        value=setting.spec in preselected,
                        key=f"setting:{setting.spec}",
                    ):
                        specs.append(setting.spec)
                    st.caption(family.rule(setting))
            extra = st.text_input(
                "More settings: key=value,… (several: separate them with ;)",
                key=f"extra:{family.name}",
                placeholder=family.default_setting().label,
            )
            for part in (p.strip() for p in extra.split(";")):
                if not part:
                    continue
                try:
                    for setting in parse_spec(f"{family.name}:{part}"):
                        specs.append(setting.spec)
                        st.caption(f"`{setting.label}`: {family.rule(setting)}")
                except ProbeError as exc:
                    problems.append(f"{family.name}: {exc}")
    return specs, problems


def modes_section() -> list[str]:
    st.subheader("Modes")
    modes = st.multiselect(
        "Modes",
        MODE_ORDER,
        default=list(QUICK_MODES),
        key="modes",
        format_func=charts.mode_label,
        label_visibility="collapsed",
        placeholder="Choose at least one mode",
    )
    lines = []
    for name in MODE_ORDER:
        kind = "inductive" if MODES[name].inductive else "deductive"
        if MODES[name].checks_comprehension:
            kind = "beside deductive"
        lines.append(
            f"<span style='color:{charts.MODE_COLOURS[name]}'>■</span> **{name}** ({kind}): "
            f"{MODES[name].description}"
        )
    st.markdown("  \n".join(lines), unsafe_allow_html=True)
    return modes


def sync_temperature() -> None:
    """Several samples at temperature 0 would be one sample repeated: follow the default."""
    st.session_state["temperature"] = default_temperature(int(st.session_state["samples"]))


def study_form() -> RunPlan | None:
    models = models_section()
    specs, probe_problems = probes_section()
    modes = modes_section()
    st.subheader("Sizes and sampling")
    defaults = quick_plan()
    columns = st.columns(4)
    shots = columns[0].number_input(
        "Examples shown (shots)",
        1,
        64,
        defaults.shots,
        key="shots",
        help="input → output pairs in the io, io_rule and solverlearner prompts",
    )
    n = columns[1].number_input("Held-out cases per setting", 1, 1000, defaults.n, key="n")
    instances = columns[2].number_input(
        "Instances (example sets)",
        1,
        20,
        defaults.instances,
        key="instances",
        help="Each instance shows another set of examples.",
    )
    seed = columns[3].number_input("Seed", 0, 2**31 - 1, defaults.seed, key="seed")
    columns = st.columns(4)
    st.session_state.setdefault("temperature", defaults.temperature)
    temperature = columns[0].number_input("Temperature", 0.0, 2.0, step=0.1, key="temperature")
    max_tokens = columns[1].number_input(
        "Max tokens per reply", 16, 32768, defaults.max_tokens, key="max_tokens"
    )
    concurrency = columns[2].number_input("Calls at once", 1, 64, defaults.concurrency, key="concurrency")
    max_failures = columns[3].number_input(
        "Failed calls before the run stops", 0, 10000, defaults.max_failures, key="max_failures"
    )
    cot = st.checkbox(
        "Chain of thought: ask the direct modes to reason step by step", value=defaults.cot, key="cot"
    )
    columns = st.columns(2)
    cases_file = columns[0].text_input(
        "Held-out cases file (optional)",
        key="cases_file",
        placeholder=".../counterfactual-evaluation/arithmetic/data/0shot/base{base}.txt",
        help="One input a line, e.g. Wu et al.'s X+Y items; the first n lines are the held-out cases. "
        "{base} (any setting parameter) is filled in per setting. Blank: generated cases.",
    )
    check_file = columns[1].text_input(
        "Comprehension-check inputs file (optional, ccc mode)",
        key="check_file",
        placeholder=".../counterfactual-evaluation/arithmetic/data/ccc/base{base}.txt",
        help="One check input a line, e.g. Wu et al.'s numbers for 'what comes after N'; the first n "
        "lines are used, {base} filled in per setting. Blank: generated checks.",
    )
    st.markdown("**Code modes: hypothesis search and refinement**")
    columns = st.columns(2)
    samples = columns[0].number_input(
        "Candidate functions per instance (samples)",
        1,
        MAX_SAMPLES,
        1,
        key="samples",
        on_change=sync_temperature,
        help="Each is run on the shown examples; the best fit is scored, and pass@k is reported. "
        "More than one sample sets the temperature to 0.7 unless you change it.",
    )
    rounds = columns[1].number_input(
        "Refinement rounds",
        0,
        MAX_ROUNDS,
        0,
        key="rounds",
        help="While the chosen function fails a shown example, the model sees those failures and "
        "writes a corrected function, up to this many times.",
    )
    for problem in probe_problems:
        st.error(problem)
    if probe_problems:
        return None
    try:
        return RunPlan(
            models=tuple(ModelSpec(**m) for m in models),
            probes=tuple(specs),
            modes=tuple(modes),
            shots=int(shots),
            n=int(n),
            instances=int(instances),
            seed=int(seed),
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            cot=cot,
            concurrency=int(concurrency),
            max_failures=int(max_failures),
            samples=int(samples),
            rounds=int(rounds),
            cases_file=cases_file.strip() or None,
            check_file=check_file.strip() or None,
        )
    except ValueError as exc:  # the plan's own checks: no model, no probe, no mode, a bad size
        st.error(f"Cannot start this study: {exc}.")
        return None


def start_section(plan: RunPlan) -> None:
    st.subheader("Estimate")
    columns = st.columns(4)
    columns[0].metric("Model calls", f"{study.estimated_calls(plan):,}")
    columns[1].metric("Items to score", f"{study.total_items(plan):,}")
    columns[2].metric("Settings", f"{len(plan.settings()):,}")
    columns[3].metric("Models", f"{len(plan.models):,}")
    st.caption(
        "A direct mode makes one call per held-out case; a code mode one call per sample and instance "
        "(plus, at most, one per refinement round), whose solver() then runs on every case in the "
        "sandbox. Replies already in the store are reused."
    )
    models = [m.as_dict() for m in plan.models]
    unset = [
        m
        for m in models
        if m.get("key_env")
        and not m["key_env"].startswith(SESSION_KEY_PREFIX)
        and not os.environ.get(m["key_env"])
    ]
    for model in unset:
        st.error(
            f"{model['name']}: the environment variable {model['key_env']} is not set for this app. Set "
            "it before starting streamlit, or add the model again with the key typed in."
        )
    if st.button(
        "Start the study", type="primary", icon=":material/rocket_launch:", disabled=bool(unset), key="start"
    ):
        try:
            run_id = study.prepare_run(store(), plan)
            study.start_background_run(store(), run_id, env=run_env(models))
        except (RunError, OSError) as exc:
            st.error(f"Could not start the run: {exc}")
            return
        watch(run_id)
        st.session_state.pop("stopping", None)
        st.rerun()


# ---------------------------------------------------------------------------------------------
# Results page


def summary_table(summary: pd.DataFrame, key: str) -> None:
    st.dataframe(
        summary,
        hide_index=True,
        key=key,
        column_config={
            "default_world": st.column_config.CheckboxColumn("default world"),
            "n": st.column_config.NumberColumn("items", help="held-out items scored"),
            "correct": st.column_config.NumberColumn("correct"),
            "accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "ci_low": st.column_config.NumberColumn("95% low", format="percent"),
            "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
        },
    )


def pick_runs() -> tuple[pd.DataFrame, tuple[str, ...], tuple[int, ...]] | None:
    """The run selection shared by Results and Inspect, with its change marker; None when there is none."""
    runs = study.runs_frame(store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return None
    run_ids = run_picker(runs, "Runs")
    if not run_ids:
        st.info("Choose at least one run.")
        return None
    return runs, run_ids, browse.change_marker(store(), run_ids)


def percent_columns(*names: str) -> dict[str, Any]:
    return {name: st.column_config.NumberColumn(name, format="percent") for name in names}


def results_page() -> None:
    st.title("Results")
    picked = pick_runs()
    if picked is None:
        return
    runs, run_ids, marker = picked
    if not sum(marker):
        st.info("No item of these runs is scored yet.")
        return
    statuses = runs.set_index("run_id").loc[list(run_ids), "status"]
    if (statuses == "running").any():
        st.info("Still running: these results grow as items arrive (the Run page shows them live).")
        st.button("Refresh", key="refresh_results", icon=":material/refresh:")
    try:
        summary, gaps, _, drop_problem = load_tables(db_path(), run_ids, marker)
        figures = load_figures(db_path(), run_ids, marker)
    except ValueError as exc:  # items lab.stats refuses, e.g. one setting both default and counterfactual
        st.error(f"Cannot summarise these runs: {exc}")
        return
    sampled, refined = load_function_tables(db_path(), run_ids, marker)
    unrecorded = browse.unrecorded_summary(load_items(db_path(), run_ids, marker))
    if unrecorded:
        st.warning(
            f"Prompts with no recorded reply, scored wrong as `not_recorded`: {unrecorded}. "
            "Those bars say nothing about the recorded model."
        )
    st.plotly_chart(
        figures["Accuracy per setting"],
        config=charts.chart_config("solverlab-accuracy-per-setting"),
        key="chart_headline",
    )
    shown = {  # tab title -> (figure, slug)
        "Against the parameter": ("Accuracy against the counterfactual parameter", "parameter"),
        "Heatmap": ("Accuracy heatmap", "heatmap"),
        "Inductive − deductive": ("Inductive minus deductive", "gap"),
        "Counterfactual drop": ("Counterfactual drop", "drop"),
        "Deductive vs check": ("Deductive vs comprehension check", "ccc"),
        "pass@k": ("pass@k", "passk"),
        "Refinement rounds": ("Accuracy by refinement round", "rounds"),
    }
    tabs = st.tabs([*shown, "Summary table"])
    for tab, (name, slug) in zip(tabs, shown.values(), strict=False):
        with tab:
            st.plotly_chart(
                figures[name], config=charts.chart_config(f"solverlab-{slug}"), key=f"chart_{slug}"
            )
            if slug == "gap" and not gaps.empty:
                st.dataframe(
                    gaps,
                    hide_index=True,
                    key="gap_table",
                    column_config=percent_columns(
                        "inductive_accuracy", "deductive_accuracy", "gap", "ci_low", "ci_high"
                    ),
                )
            if slug == "drop" and drop_problem:
                st.warning(f"No drop computed: {drop_problem}")
            if slug == "passk" and not sampled.empty:
                st.dataframe(
                    sampled,
                    hide_index=True,
                    key="passk_table",
                    column_config=percent_columns("value", "ci_low", "ci_high"),
                )
            if slug == "rounds" and not refined.empty and refined["round"].max() > 0:
                st.dataframe(
                    refined,
                    hide_index=True,
                    key="rounds_table",
                    column_config=percent_columns("accuracy", "ci_low", "ci_high"),
                )
    with tabs[-1]:
        summary_table(summary, key="summary_table")
    st.subheader("Downloads")
    db = db_path()
    stem = "solverlab-" + "-".join(run_ids)
    downloads = st.container(horizontal=True)
    icon = ":material/download:"
    # The big files are built when their button is pressed (and cached), not on every rerun.
    downloads.download_button(
        "Items CSV",
        data=lambda: items_csv(db, run_ids, marker),
        mime="text/csv",
        file_name=f"{stem}-items.csv",
        icon=icon,
        key="download_items",
        on_click="ignore",
    )
    downloads.download_button(
        "Summary CSV",
        data=export.summary_csv(summary),
        mime="text/csv",
        file_name=f"{stem}-summary.csv",
        icon=icon,
        key="download_summary",
        on_click="ignore",
    )
    downloads.download_button(
        "Charts (HTML)",
        data=lambda: charts_html(db, run_ids, marker),
        mime="text/html",
        file_name=f"{stem}-charts.html",
        icon=icon,
        key="download_charts",
        on_click="ignore",
    )
    st.caption(
        "A chart as PNG: the camera icon in its toolbar (top right of the chart, on hover). The HTML "
        "file holds every chart, interactive, and opens offline."
    )


# ---------------------------------------------------------------------------------------------
# Inspect page


def item_label(row: pd.Series) -> str:
    outcome = "✓" if row["correct"] else "✗"
    text = str(row["input"])
    text = text if len(text) <= 40 else text[:39] + "…"
    return (
        f"{outcome} {row['probe']} {row['setting']} · {row['mode']} · instance {row['instance']} · "
        f"case {row['case_index']} · {text}"
    )


def inspect_page() -> None:
    st.title("Inspect items")
    picked = pick_runs()
    if picked is None:
        return
    _, run_ids, marker = picked
    items = load_items(db_path(), run_ids, marker)
    if items.empty:
        st.info("No item of these runs is scored yet.")
        return
    columns = st.columns(3)
    models = columns[0].multiselect(
        "Model", sorted(items["model"].unique()), key="filter_model", placeholder="all"
    )
    probes = columns[1].multiselect(
        "Probe", sorted(items["probe"].unique()), key="filter_probe", placeholder="all"
    )
    shown = items[items["probe"].isin(probes)] if probes else items
    settings = columns[2].multiselect(
        "Setting", sorted(browse.setting_specs(shown).unique()), key="filter_setting", placeholder="all"
    )
    columns = st.columns(3)
    modes = columns[0].multiselect(
        "Mode", [m for m in MODE_ORDER if m in set(items["mode"])], key="filter_mode", placeholder="all"
    )
    outcome = columns[1].radio("Outcome", browse.OUTCOMES, key="filter_outcome", horizontal=True)
    errors = columns[2].multiselect(
        "Error category", browse.error_categories(items), key="filter_error", placeholder="all"
    )
    chosen = browse.filter_items(
        items, models=models, probes=probes, settings=settings, modes=modes, outcome=outcome, errors=errors
    )
    st.caption(f"{len(chosen):,} of {len(items):,} items match.")
    if chosen.empty:
        st.info("No item matches these filters.")
        return
    pages = browse.page_count(len(chosen), PAGE_SIZE)
    # New filters start again at page 1 and the first item.
    filters = (run_ids, marker, *map(tuple, (models, probes, settings, modes, errors)), outcome)
    filters_key = abs(hash(filters))
    number = st.pagination(pages, key=f"inspect_page_{filters_key}") if pages > 1 else 1
    rows = browse.page(chosen, number, PAGE_SIZE)
    st.dataframe(
        rows[INSPECT_TABLE_COLUMNS],
        hide_index=True,
        key="inspect_table",
        column_config={
            "case_index": st.column_config.NumberColumn("case"),
            "correct": st.column_config.CheckboxColumn("correct"),
        },
    )
    index = st.selectbox(
        "Item",
        list(rows.index),
        key=f"inspect_item_{filters_key}_{number}",
        format_func=lambda i: item_label(rows.loc[i]),
    )
    item_view(browse.item_record(rows.loc[index]))


def item_view(item: dict[str, Any]) -> None:
    detail = study.item_detail(store(), item)
    spec = MODES[item["mode"]]
    verdict = ":green-badge[correct]" if item["correct"] else ":red-badge[wrong]"
    st.subheader(
        f"{item['probe']} `{item['setting']}` · {item['mode']} · instance {item['instance']} · "
        f"case {item['case_index']} {verdict}"
    )
    columns = st.columns(3)
    with columns[0]:
        st.markdown("**Input**")
        st.code(item["input"], language=None, wrap_lines=True)
    with columns[1]:
        st.markdown("**Expected**")
        st.code(item["expected"], language=None, wrap_lines=True)
    with columns[2]:
        st.markdown("**Extracted answer**" if not spec.returns_code else "**The function's output**")
        predicted = item["predicted"] if item["predicted"] is not None else "(none)"
        st.code(predicted, language=None, wrap_lines=True)
    if item["error"]:
        detail_text = f": {item['detail']}" if item.get("detail") else ""
        st.warning(f"Error category: **{item['error']}**{detail_text}")
    if detail.call_error:
        st.error(f"The model call failed: {detail.call_error}")
    if spec.returns_code:
        code_view(detail)
    prompt_tab, reply_tab = st.tabs(["Prompt (exact messages)", "Raw reply"])
    with prompt_tab:
        for message in detail.messages:
            st.markdown(f"**{message['role']}**")
            st.code(message["content"], language=None, wrap_lines=True)
        if not detail.messages:
            st.caption("No call is recorded for this item.")
    with reply_tab:
        reply = detail.reply if detail.reply is not None else "(no reply)"
        st.code(reply, language="markdown", wrap_lines=True)


def code_view(detail: study.ItemDetail) -> None:
    st.markdown("**Extracted code**")
    if detail.code:
        st.code(detail.code, language="python", line_numbers=True)
    else:
        st.warning("The reply holds no Python block defining solver().")
    function = detail.function or {}
    fits = {None: "n/a (no examples)", 1: "yes", 0: "no"}.get(function.get("fits_examples"), "?")
    columns = st.columns(3)
    columns[0].metric(
        "Fits its own examples", fits, help="Does solver() reproduce every example shown in the prompt?"
    )
    columns[1].metric(
        "Memorised lookup",
        "yes" if function.get("memorised") else "no",
        help="Does the code look like a table of the shown examples rather than a rule?",
    )
    columns[2].metric(
        "Verdict",
        function.get("verdict") or "ran",
        help="Set when the code never ran on the inputs (syntax error, rejected, no solver…).",
    )
    if function.get("detail"):
        st.caption(f"Executor: {function['detail']}")
    if function.get("examples"):
        st.markdown("**The examples shown, run through solver()**")
        st.dataframe(pd.DataFrame(function["examples"]), hide_index=True, key="examples_table")
    candidates = study.candidate_table(detail)
    if len(candidates) > 1:
        st.markdown(
            "**Every sample and refinement round of this instance** (the prompt tab shows the conversation)"
        )
        st.dataframe(
            candidates,
            hide_index=True,
            key="candidates_table",
            column_config={"chosen": st.column_config.CheckboxColumn("chosen")},
        )
    if detail.held_out:
        st.markdown("**Each held-out case**")
        st.dataframe(
            pd.DataFrame(detail.held_out),
            hide_index=True,
            key="held_out_table",
            column_config={"correct": st.column_config.CheckboxColumn("correct")},
        )


# ---------------------------------------------------------------------------------------------
# History page


def delete_run(run_id: str) -> None:
    try:
        study.delete_run(store(), run_id)
    except RunError as exc:
        st.session_state["delete_problem"] = str(exc)
        return
    st.session_state.pop("confirm_delete", None)
    st.session_state["deleted"] = run_id
    if st.session_state.get("watch_run") == run_id:
        st.session_state.pop("watch_run")
        st.query_params.pop("run", None)


def history_page() -> None:
    st.title("History")
    if st.session_state.get("deleted"):
        st.success(f"Deleted run {st.session_state.pop('deleted')}.")
    runs = study.runs_frame(store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return
    st.dataframe(
        runs,
        hide_index=True,
        key="history_table",
        column_order=HISTORY_COLUMNS,
        column_config={
            "accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "cost_usd": st.column_config.NumberColumn("cost (USD)", format="dollar"),
            "items": st.column_config.TextColumn("items (scored/planned)"),
        },
    )
    options = list(runs["run_id"])
    if st.session_state.get("history_run") not in options:
        st.session_state.pop("history_run", None)
    run_id = st.selectbox("Run", options, key="history_run", format_func=run_labels(runs).get)
    record = study.get_run(store(), run_id)
    status = study.effective_status(record)
    reason = f" — {record.reason}" if record.reason else ""
    st.markdown(f"**{run_id}** {STATUS_BADGES.get(status, status)}{reason}")
    st.caption(plan_text(record.plan))
    with st.expander("Plan and versions (JSON)"):
        st.json({"plan": record.plan, "versions": record.versions}, expanded=2)
    actions = st.container(horizontal=True)
    actions.button(
        "Follow on the Run page",
        key="history_watch",
        on_click=go_to,
        args=("Run",),
        kwargs={"watch_run": run_id},
    )
    actions.button(
        "Open in Results", key="history_results", on_click=go_to, args=("Results",), kwargs={"runs": [run_id]}
    )
    actions.button(
        "Inspect its items",
        key="history_inspect",
        on_click=go_to,
        args=("Inspect",),
        kwargs={"runs": [run_id]},
    )
    if actions.button("Delete…", key="history_delete", icon=":material/delete:"):
        st.session_state["confirm_delete"] = run_id
        st.session_state.pop("delete_problem", None)
    if st.session_state.get("confirm_delete") == run_id:
        items = runs.set_index("run_id").loc[run_id, "items"]
        st.warning(f"Delete run {run_id} with its {items} items and its model calls? This cannot be undone.")
        confirm = st.container(horizontal=True)
        confirm.button(
            "Yes, delete it", key="confirm_delete_yes", type="primary", on_click=delete_run, args=(run_id,)
        )
        confirm.button(
            "Cancel", key="confirm_delete_no", on_click=st.session_state.pop, args=("confirm_delete", None)
        )
    if st.session_state.get("delete_problem"):
        st.error(f"Not deleted: {st.session_state.pop('delete_problem')}")


# ---------------------------------------------------------------------------------------------
# Probes page: custom probes


GENERATOR_LABELS = {
    "choices": "one of a list of inputs",
    "integers": "whole numbers from a range",
    "words": "random English words",
    "python": "a Python generator function",
}


def probe_form() -> dict[str, Any]:
    """The definition typed into the form, in the JSON format `lab.custom` reads and checks."""
    columns = st.columns([2, 1])
    name = columns[0].text_input(
        "Name",
        key="probe_name",
        placeholder="reverse_words",
        help="Lower-case letters, digits and _. Runs name the probe by it (command line: --probe NAME).",
    )
    world = columns[1].radio(
        "World",
        custom.WORLDS,
        index=1,
        key="probe_world",
        horizontal=True,
        help="Familiar: the usual rule (charts mark it as the default world); counterfactual: another.",
    )
    description = st.text_input(
        "What the inputs and outputs are, naming no rule",
        key="probe_description",
        placeholder="Each input is one to three lower-case words; the output is lower-case text.",
        help="Every prompt starts with this, the inductive ones too, so it must not give the rule away.",
    )
    rule = st.text_area(
        "The rule, as the deductive modes state it",
        key="probe_rule",
        height=80,
        placeholder="Reverse the letters of each word and keep the words in order.",
    )
    mapping = st.text_area(
        "Mapping: `def mapping(x: str) -> str`",
        value=custom.MAPPING_TEMPLATE,
        key="probe_mapping",
        height=150,
        help="Runs only in the sandbox, like a model's solver: it may import math, string, re, itertools, "
        "functools, collections and operator; no files, no network, no names starting with _.",
    )
    kind = st.selectbox("Inputs", custom.GENERATOR_KINDS, key="probe_kind", format_func=GENERATOR_LABELS.get)
    generator: dict[str, Any] = {"kind": kind}
    if kind == "choices":
        text = st.text_area("One input per line", key="probe_choices", height=150)
        generator["choices"] = [line.strip() for line in text.splitlines() if line.strip()]
    elif kind == "integers":
        columns = st.columns(4)
        generator["low"] = int(columns[0].number_input("From", value=0, step=1, key="probe_low"))
        generator["high"] = int(columns[1].number_input("To", value=99, step=1, key="probe_high"))
        generator["count"] = int(columns[2].number_input("Numbers per input", 1, 20, 2, key="probe_count"))
        generator["separator"] = columns[3].text_input("Separator", value=",", key="probe_separator")
    elif kind == "words":
        columns = st.columns(2)
        generator["min_words"] = int(columns[0].number_input("Fewest words", 1, 10, 1, key="probe_min_words"))
        generator["max_words"] = int(columns[1].number_input("Most words", 1, 10, 3, key="probe_max_words"))
    else:
        generator["source"] = st.text_area(
            "Generator: `def generate(rng) -> str`",
            value=custom.GENERATOR_TEMPLATE,
            key="probe_generator",
            height=150,
            help="Runs only in the sandbox, once per seed; `rng` is a seeded stand-in for random.Random.",
        )
    return {
        custom.FORMAT_KEY: custom.FORMAT_VERSION,
        "name": name,
        "description": description,
        "rule": rule,
        "world": world,
        "mapping": mapping,
        "generator": generator,
    }


def preview_table(cases: list[Any], key: str) -> None:
    st.dataframe(
        pd.DataFrame([{"input": c.input, "output": c.output} for c in cases]), hide_index=True, key=key
    )


def import_probe() -> None:
    """Uploader callback: compile the uploaded file in the sandbox and save it, once per upload."""
    uploaded = st.session_state.get("probe_upload")
    if uploaded is None:
        return
    try:
        compiled = custom.import_json(store(), uploaded.getvalue())
    except custom.CustomProbeError as exc:
        st.session_state["probe_import"] = ("error", f"Not imported ({uploaded.name}): {exc}")
        return
    st.session_state["probe_import"] = ("success", f"Imported {compiled.probe.name} from {uploaded.name}.")


def delete_probe(name: str) -> None:
    try:
        custom.delete(store(), name)
    except custom.CustomProbeError as exc:
        st.session_state["probe_import"] = ("error", str(exc))
    st.session_state.pop("confirm_probe_delete", None)


def saved_probe(compiled: custom.CompiledProbe) -> None:
    probe = compiled.probe
    world = "familiar ★" if probe.world == "familiar" else "counterfactual"
    with st.expander(f"**{probe.name}** · {world} · {len(compiled.pool)} inputs"):
        st.caption(probe.description)
        st.markdown("**Rule**")
        st.text(probe.rule)
        st.code(probe.mapping, language="python")
        if isinstance(probe.generator, custom.PythonInputs):
            st.code(probe.generator.source, language="python")
        else:
            st.caption(f"Inputs: {GENERATOR_LABELS[probe.generator.kind]} {probe.generator.to_dict()}")
        preview_table(compiled.preview(), key=f"probe_preview:{probe.name}")
        actions = st.container(horizontal=True)
        actions.download_button(
            "Download JSON",
            data=custom.to_json(probe),
            file_name=f"{probe.name}.json",
            mime="application/json",
            icon=":material/download:",
            key=f"probe_download:{probe.name}",
            on_click="ignore",
        )
        if actions.button("Delete…", key=f"probe_delete:{probe.name}", icon=":material/delete:"):
            st.session_state["confirm_probe_delete"] = probe.name
        if st.session_state.get("confirm_probe_delete") == probe.name:
            st.warning(
                f"Delete {probe.name}? Runs that used it keep their items, but an unfinished one can no "
                "longer be resumed."
            )
            confirm = st.container(horizontal=True)
            confirm.button(
                "Yes, delete it",
                key="probe_delete_yes",
                type="primary",
                on_click=delete_probe,
                args=(probe.name,),
            )
            confirm.button(
                "Cancel",
                key="probe_delete_no",
                on_click=st.session_state.pop,
                args=("confirm_probe_delete", None),
            )


def probes_page() -> None:
    st.title("Custom probes")
    st.caption(
        "A probe of your own: a hidden mapping written as a Python function, and how its inputs are drawn. "
        "Both run only in the sandbox, never in this app. A saved probe is a tab on the Run page and "
        "`--probe NAME` on the command line."
    )
    st.header("New probe", divider="gray")
    definition = probe_form()
    actions = st.container(horizontal=True)
    tried = actions.button("Try it", key="probe_try", icon=":material/play_arrow:")
    saved = actions.button("Save", key="probe_save", type="primary", icon=":material/save:")
    if tried or saved:
        try:
            with st.spinner("Running the generator and the mapping in the sandbox…"):
                compiled = custom.compile_probe(custom.probe_from_dict(definition))
            if saved:
                custom.save(store(), compiled)
        except custom.CustomProbeError as exc:
            st.error(f"Not {'saved' if saved else 'usable'}: {exc}")
        else:
            probe = compiled.probe
            if saved:
                st.success(f"Saved {probe.name} ({len(compiled.pool)} inputs): choose it on the Run page.")
            else:
                st.success(f"{probe.spec}: {len(compiled.pool)} distinct inputs. The first cases:")
            preview_table(compiled.preview(), key="probe_try_preview")
    st.header("Saved probes", divider="gray")
    outcome = st.session_state.pop("probe_import", None)
    if outcome:
        getattr(st, outcome[0])(outcome[1])
    probes = custom.saved(store())
    if not probes:
        st.info("No custom probes yet.")
    for compiled in probes:
        saved_probe(compiled)
    st.file_uploader(
        "Import a probe (a JSON file downloaded here or written by hand)",
        type=["json"],
        key="probe_upload",
        on_change=import_probe,
    )


# ---------------------------------------------------------------------------------------------


def main() -> None:
    with st.sidebar:
        st.markdown("## :material/science: SolverLab")
        st.caption(
            "Does a model induce a rule from examples, or deduce from a rule it is told? "
            "SolverLearner probes on counterfactual tasks."
        )
        page = st.radio("Page", PAGES, key="page", bind="query-params", label_visibility="collapsed")
        st.divider()
        st.caption(f"Store: `{db_path()}`")
        for problem in custom.install_saved(store()):  # saved custom probes become families
            st.warning(problem)
    pages = {"Run": run_page, "Results": results_page, "Inspect": inspect_page, "History": history_page}
    {**pages, "Probes": probes_page}[page]()


main()
