"""The Run page's study form: models, probes and settings, modes, sizes; it yields a checked RunPlan."""

from __future__ import annotations

from typing import Any

import streamlit as st

from lab import api
from ui import session


def default_models() -> list[dict[str, Any]]:
    """The study's models (as stored in a plan), the embedded one to begin with."""
    return st.session_state.setdefault("models", [api.ModelSpec(api.DEFAULT_MODEL).as_dict()])


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
        key_env = api.typed_key_env(len(session.session_keys()) + 1)
    try:
        spec = api.model_spec(name, api_base=api_base, key_env=key_env).as_dict()
    except ValueError as exc:  # e.g. credentials written into the api_base
        st.session_state["model_problem"] = f"Cannot add {name}: {exc}."
        return
    models = default_models()
    if any(m["name"] == spec["name"] and m.get("api_base") == spec.get("api_base") for m in models):
        st.session_state["model_problem"] = f"{name} is already in the study."
        return
    if typed and key_env:
        session.session_keys()[key_env] = typed
    models.append(spec)
    st.session_state.pop("model_problem", None)


def remove_model(index: int) -> None:
    st.session_state["models"].pop(index)


def models_section() -> list[dict[str, Any]]:
    st.subheader("Models")
    models = default_models()
    for index, model in enumerate(models):
        columns = st.columns([4, 8, 1], vertical_alignment="center")
        columns[0].markdown(f"**`{api.model_label(model['name'])}`**")
        columns[1].caption(api.describe_model(api.ModelSpec(**model), typed_keys=session.session_keys()))
        columns[2].button(
            "",
            key=f"remove_model_{index}",
            on_click=remove_model,
            args=(index,),
            icon=":material/close:",
            help=f"Remove {model['name']} from the study",
        )
    if not any(m["name"] == api.DEFAULT_MODEL for m in models):
        st.button(
            f"Add the embedded model ({api.DEFAULT_MODEL})",
            key="add_default",
            on_click=lambda: models.insert(0, api.ModelSpec(api.DEFAULT_MODEL).as_dict()),
        )
    recorded_models_section(models)
    add_model_form()
    if st.session_state.get("model_problem"):
        st.error(st.session_state["model_problem"])
    return models


def recorded_models_section(models: list[dict[str, Any]]) -> None:
    recorded = [r for r in api.recorded_models() if not any(m["name"] == r.name for m in models)]
    if not recorded:
        return
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
                args=(api.ModelSpec(model.name).as_dict(),),
            )


def add_model_form() -> None:
    with (
        st.expander("Add a model (any litellm string, optionally an OpenAI-compatible api_base)"),
        st.form("add_model_form", clear_on_submit=True, border=False),
    ):
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


def probes_section() -> tuple[list[str], list[str]]:
    """The chosen probe specs, and the problems with any extra settings typed in."""
    st.subheader("Probes and settings")
    st.caption(
        "Each family's familiar default world (★) and counterfactual worlds, with the rule the "
        "deductive modes state."
    )
    preselected = set(api.quick_plan().probes)
    specs: list[str] = []
    problems: list[str] = []
    families = api.probe_families()
    for tab, family in zip(st.tabs([f.name for f in families]), families, strict=True):
        with tab:
            st.caption(family.description)
            columns = st.columns(2)
            for index, setting in enumerate(family.standard_settings()):
                with columns[index % 2]:
                    world = "default world ★" if setting.default_world else "counterfactual"
                    if st.checkbox(
                        f"`{setting.label}` · {world}",
                        value=setting.spec in preselected,
                        key=f"setting:{setting.spec}",
                    ):
                        specs.append(setting.spec)
                    st.caption(family.rule(setting))
            extra_specs, extra_problems = extra_settings(family)
            specs += extra_specs
            problems += extra_problems
    return specs, problems


def extra_settings(family: api.ProbeFamily) -> tuple[list[str], list[str]]:
    """Settings typed in beside the standard ones (`key=value,…`, several separated by `;`)."""
    extra = st.text_input(
        "More settings: key=value,… (several: separate them with ;)",
        key=f"extra:{family.name}",
        placeholder=family.default_setting().label,
    )
    specs: list[str] = []
    problems: list[str] = []
    for part in (p.strip() for p in extra.split(";")):
        if not part:
            continue
        try:
            for setting in api.parse_spec(f"{family.name}:{part}"):
                specs.append(setting.spec)
                st.caption(f"`{setting.label}`: {family.rule(setting)}")
        except api.ProbeError as exc:
            problems.append(f"{family.name}: {exc}")
    return specs, problems


def modes_section() -> list[str]:
    st.subheader("Modes")
    modes = st.multiselect(
        "Modes",
        api.MODE_ORDER,
        default=list(api.QUICK_MODES),
        key="modes",
        format_func=api.mode_label,
        label_visibility="collapsed",
        placeholder="Choose at least one mode",
    )
    lines = [
        f"<span style='color:{mode.colour}'>■</span> **{mode.name}** ({mode.kind}): {mode.description}"
        for mode in api.mode_legend()
    ]
    st.markdown("  \n".join(lines), unsafe_allow_html=True)
    return modes


def framing_choice() -> str:
    framing = st.radio(
        "Wording of the modes that show examples (io, io_rule, solverlearner)",
        [framing.value for framing in api.Framing],
        format_func=lambda value: {
            "paper": "paper: Cheng et al. 2024's wording, the task stated and the rule withheld",
            "blind": "blind: outputs of a hidden rule; the model must also find the task (harder)",
        }[value],
        key="framing",
        horizontal=False,
    )
    return str(framing)


def preset_section() -> list[api.PresetPlan] | None:
    """A published set-up, chosen by name: its runs as plans (runs without recorded models use the
    study's models), or None when none is chosen or it cannot run here (the reason shown)."""
    presets = {preset.name: preset for preset in api.list_presets()}
    name = st.selectbox(
        "Start from a preset",
        [None, *presets],
        format_func=lambda name: "— none: set the study up below —" if name is None else name,
        key="preset",
        help="A published set-up: models, settings, modes, files and sizes. Each of its runs "
        "starts as a run of its own.",
    )
    if name is None:
        return None
    preset = presets[name]
    st.caption(f"{preset.description} Reproduces: {preset.reproduces}.")
    chosen = models_section() if any(not run.models for run in preset.runs) else default_models()
    models = tuple(api.ModelSpec(**m) for m in chosen)
    try:
        plans = api.preset_plans(name, models=models)
    except ValueError as exc:  # e.g. Wu et al.'s recordings are not on this machine
        st.error(f"Cannot run preset {name}: {exc}.")
        return None
    lines = [
        f"- **{entry.label}**: {', '.join(entry.plan.modes)} on {', '.join(entry.plan.probes)}, "
        f"{len(entry.plan.models)} model(s), {api.total_items(entry.plan):,} items"
        for entry in plans
    ]
    st.markdown("\n".join(lines))
    return plans


def sync_temperature() -> None:
    """Several samples at temperature 0 would be one sample repeated: follow the default."""
    st.session_state["temperature"] = api.default_temperature(int(st.session_state["samples"]))


def sizes_section() -> dict[str, Any]:
    """Sizes, sampling and the optional case files, as RunPlan fields."""
    st.subheader("Sizes and sampling")
    defaults = api.quick_plan()
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
    return {
        "shots": int(shots),
        "n": int(n),
        "instances": int(instances),
        "seed": int(seed),
        "temperature": float(temperature),
        "max_tokens": int(max_tokens),
        "cot": cot,
        "concurrency": int(concurrency),
        "max_failures": int(max_failures),
        **case_files_section(),
        **search_section(),
    }


def sweep_section() -> dict[str, Any] | str:
    """Shot and noise sweeps and identifiable example sets, as RunPlan fields (`shots` only when a list
    of shots is given: it replaces the single number above); a problem with what was typed, as text."""
    st.markdown("**Sweeps: every point measured on the same held-out cases**")
    columns = st.columns([2, 2, 3], vertical_alignment="bottom")
    shots = columns[0].text_input(
        "Sweep the shots (optional)",
        key="shot_sweep",
        placeholder="1,4,16",
        help="Numbers of shown examples, separated by commas; each is a point of its own, and Results "
        "plots accuracy against them. Blank: the single number of shots above.",
    )
    noise = columns[1].text_input(
        "Noisy examples (share, or a list)",
        "0",
        key="noise",
        help="Fraction of shown examples given a plausible wrong output, e.g. 0.25, or a sweep such as "
        "0,0.1,0.25 (Li et al.'s consistency score compares each level with 0).",
    )
    identifiable = columns[2].checkbox(
        "Only example sets that single out the rule",
        key="identifiable",
        help="Draw examples until only the setting's own world fits them (e.g. no other base).",
    )
    fields: dict[str, Any] = {"identifiable": identifiable}
    try:
        if shots.strip():
            fields["shots"] = api.parse_shots(shots)
        fields["noise"] = api.parse_noise(noise)
    except ValueError as exc:
        return str(exc).replace("--shots", "the shots sweep").replace("--noise", "noisy examples")
    return fields


def case_files_section() -> dict[str, str | None]:
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
    return {"cases_file": cases_file.strip() or None, "check_file": check_file.strip() or None}


def search_section() -> dict[str, int]:
    st.markdown("**Code modes: hypothesis search and refinement**")
    columns = st.columns(2)
    samples = columns[0].number_input(
        "Candidate functions per instance (samples)",
        1,
        api.MAX_SAMPLES,
        1,
        key="samples",
        on_change=sync_temperature,
        help="Each is run on the shown examples; the best fit is scored, and pass@k is reported. "
        "More than one sample sets the temperature to 0.7 unless you change it.",
    )
    rounds = columns[1].number_input(
        "Refinement rounds",
        0,
        api.MAX_ROUNDS,
        0,
        key="rounds",
        help="While the chosen function fails a shown example, the model sees those failures and "
        "writes a corrected function, up to this many times.",
    )
    return {"samples": int(samples), "rounds": int(rounds)}


def oracle_section() -> dict[str, int]:
    """The oracle mode's budget: inputs the model may ask about, and functions it may submit."""
    st.markdown("**Oracle mode: queries and submissions**")
    defaults = api.RunPlan(models=(api.DEFAULT_MODEL,), probes=("arithmetic",), modes=("oracle",))
    columns = st.columns(2)
    queries = columns[0].number_input(
        "Queries (inputs the model may ask the hidden rule about)",
        0,
        1000,
        defaults.queries,
        key="queries",
        help="A refused input (one the family cannot take) counts as a query.",
    )
    submissions = columns[1].number_input(
        "Submissions (solvers it may submit for a counterexample)",
        1,
        100,
        defaults.submissions,
        key="submissions",
        help="The last submission is scored on the held-out cases.",
    )
    return {"queries": int(queries), "submissions": int(submissions)}


def study_form() -> api.RunPlan | None:
    """The whole form; the plan it describes, or None (with the problems shown) when it is not valid."""
    models = models_section()
    specs, probe_problems = probes_section()
    modes = modes_section()
    framing = framing_choice()
    sizes = sizes_section()
    if "oracle" in modes:
        sizes |= oracle_section()
    sweep = sweep_section()
    if isinstance(sweep, str):
        probe_problems.append(sweep)
    else:
        sizes |= sweep
    for problem in probe_problems:
        st.error(problem)
    if probe_problems:
        return None
    try:
        return api.RunPlan(
            models=tuple(api.ModelSpec(**m) for m in models),
            probes=tuple(specs),
            modes=tuple(modes),
            framing=framing,
            **sizes,
        )
    except ValueError as exc:  # the plan's own checks: no model, no probe, no mode, a bad size
        st.error(f"Cannot start this study: {exc}.")
        return None
