"""The Probes page: write a custom probe (a hidden mapping, how its inputs are drawn); try, save, share it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from lab import api
from ui import data

GENERATOR_LABELS = {
    "choices": "one of a list of inputs",
    "integers": "whole numbers from a range",
    "words": "random English words",
    "python": "a Python generator function",
}


def probe_form() -> dict[str, Any]:
    """The fields typed into the form, named as in a custom probe's JSON file."""
    columns = st.columns([2, 1])
    name = columns[0].text_input(
        "Name",
        key="probe_name",
        placeholder="reverse_words",
        help="Lower-case letters, digits and _. Runs name the probe by it (command line: --probe NAME).",
    )
    world = columns[1].radio(
        "World",
        api.WORLDS,
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
        value=api.MAPPING_TEMPLATE,
        key="probe_mapping",
        height=150,
        help="Runs only in the sandbox, like a model's solver: it may import math, string, re, itertools, "
        "functools, collections and operator; no files, no network, no names starting with _.",
    )
    return {
        "name": name,
        "description": description,
        "rule": rule,
        "world": world,
        "mapping": mapping,
        "generator": generator_form(),
    }


def generator_form() -> dict[str, Any]:
    """How the inputs are drawn, named as in a custom probe's JSON file."""
    kind = st.selectbox("Inputs", api.GENERATOR_KINDS, key="probe_kind", format_func=GENERATOR_LABELS.get)
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
            value=api.GENERATOR_TEMPLATE,
            key="probe_generator",
            height=150,
            help="Runs only in the sandbox, once per seed; `rng` is a seeded stand-in for random.Random.",
        )
    return generator


def preview_table(cases: list[api.Case], key: str) -> None:
    st.dataframe(
        pd.DataFrame([{"input": c.input, "output": c.output} for c in cases]), hide_index=True, key=key
    )


def import_probe() -> None:
    """Uploader callback: compile the uploaded file in the sandbox and save it, once per upload."""
    uploaded = st.session_state.get("probe_upload")
    if uploaded is None:
        return
    try:
        compiled = api.import_probe(data.store(), uploaded.getvalue())
    except api.CustomProbeError as exc:
        st.session_state["probe_import"] = ("error", f"Not imported ({uploaded.name}): {exc}")
        return
    st.session_state["probe_import"] = ("success", f"Imported {compiled.probe.name} from {uploaded.name}.")


def delete_probe(name: str) -> None:
    try:
        api.delete_probe(data.store(), name)
    except api.CustomProbeError as exc:
        st.session_state["probe_import"] = ("error", str(exc))
    st.session_state.pop("confirm_probe_delete", None)


def saved_probe(compiled: api.CompiledProbe) -> None:
    probe = compiled.probe
    world = "familiar ★" if probe.world == "familiar" else "counterfactual"
    with st.expander(f"**{probe.name}** · {world} · {len(compiled.pool)} inputs"):
        st.caption(probe.description)
        st.markdown("**Rule**")
        st.text(probe.rule)
        st.code(probe.mapping, language="python")
        if isinstance(probe.generator, api.PythonInputs):
            st.code(probe.generator.source, language="python")
        else:
            st.caption(f"Inputs: {GENERATOR_LABELS[probe.generator.kind]} {probe.generator.to_dict()}")
        preview_table(compiled.preview(), key=f"probe_preview:{probe.name}")
        actions = st.container(horizontal=True)
        actions.download_button(
            "Download JSON",
            data=api.probe_json(probe),
            file_name=f"{probe.name}.json",
            mime="application/json",
            icon=":material/download:",
            key=f"probe_download:{probe.name}",
            on_click="ignore",
        )
        if actions.button("Delete…", key=f"probe_delete:{probe.name}", icon=":material/delete:"):
            st.session_state["confirm_probe_delete"] = probe.name
        if st.session_state.get("confirm_probe_delete") == probe.name:
            confirm_delete(probe.name)


def confirm_delete(name: str) -> None:
    st.warning(
        f"Delete {name}? Runs that used it keep their items, but an unfinished one can no longer be resumed."
    )
    confirm = st.container(horizontal=True)
    confirm.button(
        "Yes, delete it",
        key="probe_delete_yes",
        type="primary",
        on_click=delete_probe,
        args=(name,),
    )
    confirm.button(
        "Cancel",
        key="probe_delete_no",
        on_click=st.session_state.pop,
        args=("confirm_probe_delete", None),
    )


def try_or_save(fields: dict[str, Any], *, save: bool) -> None:
    """Compile the probe typed in (and save it): a preview of its cases, or what is wrong with it."""
    try:
        with st.spinner("Running the generator and the mapping in the sandbox…"):
            compiled = api.try_probe(fields)
        if save:
            api.save_probe(data.store(), compiled)
    except api.CustomProbeError as exc:
        st.error(f"Not {'saved' if save else 'usable'}: {exc}")
        return
    probe = compiled.probe
    if save:
        st.success(f"Saved {probe.name} ({len(compiled.pool)} inputs): choose it on the Run page.")
    else:
        st.success(f"{probe.spec}: {len(compiled.pool)} distinct inputs. The first cases:")
    preview_table(compiled.preview(), key="probe_try_preview")


def page() -> None:
    st.title("Custom probes")
    st.caption(
        "A probe of your own: a hidden mapping written as a Python function, and how its inputs are drawn. "
        "Both run only in the sandbox, never in this app. A saved probe is a tab on the Run page and "
        "`--probe NAME` on the command line."
    )
    st.header("New probe", divider="gray")
    fields = probe_form()
    actions = st.container(horizontal=True)
    tried = actions.button("Try it", key="probe_try", icon=":material/play_arrow:")
    saved = actions.button("Save", key="probe_save", type="primary", icon=":material/save:")
    if tried or saved:
        try_or_save(fields, save=saved)
    st.header("Saved probes", divider="gray")
    outcome = st.session_state.pop("probe_import", None)
    if outcome:
        getattr(st, outcome[0])(outcome[1])
    probes = api.saved_probes(data.store())
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
