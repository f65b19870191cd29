"""Plotly figures of the statistics tables of `lab.results.stats`: accuracy, gaps, counterfactual drops.

Pure functions: a DataFrame in, a plotly Figure (or HTML text) out; nothing here reads the store or draws.
Models are named by the tables' `model_label`; the interval each chart draws is named from `ci_method`.
The shared look lives in `lab.results.chart_layout`, the pass@k and refinement curves in
`lab.results.curves`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from lab.results.chart_layout import (
    ACCURACY_AXIS,
    DEFAULT_MARK,
    DROP_AXIS,
    FONT,
    GAP_AXIS,
    INTERVAL_NAMES,
    MODE_COLOURS,
    POINTS_TICKS,
    TOP,
    SettingAxis,
    TraceBatch,
    accuracy_axis,
    bar_marker,
    chart_config,
    empty_figure,
    error_bars,
    finish,
    grid,
    interval_note,
    mode_label,
    model_subtitle,
    ordered,
    place_setting_axes,
    present_modes,
    setting_axis,
    short_model,
)

_ACCURACY_HOVER = (
    "<b>%{fullData.name}</b><br>%{customdata[0]}<br>accuracy %{y:.1%} "
    "(95% interval %{customdata[1]:.1%} to %{customdata[2]:.1%}, %{customdata[5]})<br>%{customdata[3]} of "
    "%{customdata[4]} items correct<extra></extra>"
)


_GAP_HOVER_COLUMNS = ("ci_low", "ci_high", "inductive_accuracy", "deductive_accuracy", "ci_method", "p_holm")
_GAP_HOVER = (
    "<b>%{fullData.name}</b><br>gap %{y:+.1%} (95% interval %{customdata[0]:+.1%} to %{customdata[1]:+.1%}, "
    "%{customdata[4]})<br>inductive %{customdata[2]:.1%}, deductive %{customdata[3]:.1%} · paired test, "
    "Holm-adjusted p = %{customdata[5]:.3f}<extra></extra>"
)
_DROP_HOVER = (
    "<b>%{fullData.name}</b><br>drop %{y:+.1%}<br>default world %{customdata[0]:.1%}, counterfactual mean "
    "%{customdata[1]:.1%} over %{customdata[2]} setting(s)<extra></extra>"
)


def _accuracy_customdata(rows: pd.DataFrame) -> list[list[object]]:
    return [
        [f"{p} {s}", lo, hi, int(c), int(n), INTERVAL_NAMES[method]]
        for p, s, lo, hi, c, n, method in zip(
            rows["probe"],
            rows["setting"],
            rows["ci_low"],
            rows["ci_high"],
            rows["correct"],
            rows["n"],
            rows["ci_method"],
            strict=True,
        )
    ]


# ---------------------------------------------------------------------------------------------
# Figures


def accuracy_by_setting(summary: pd.DataFrame) -> go.Figure:
    """The headline: accuracy per setting, one bar per mode side by side, with 95% interval error bars.

    One column per probe, one row per model; the default world is the first group of bars in each
    column, on a grey band.
    """
    if summary.empty:
        return empty_figure("No scored items yet.")
    return _accuracy_bars(summary, "Accuracy per setting: inductive vs deductive")


def comprehension_chart(summary: pd.DataFrame) -> go.Figure:
    """Deductive accuracy beside the comprehension check's, per setting.

    A low deductive bar over a high check bar reads "understood the rule, could not apply it";
    both low reads "did not understand the rule".
    """
    both = summary[summary["mode"].isin(["deductive", "ccc"])]
    measured = both.groupby(["model_label", "probe", "setting"])["mode"].nunique()
    if both.empty or not (measured == 2).any():
        return empty_figure("No comprehension check to compare: run the deductive and ccc modes together.")
    return _accuracy_bars(both, "Deductive accuracy vs the comprehension check")


def _accuracy_bars(summary: pd.DataFrame, title: str) -> go.Figure:
    models, probes = ordered(summary["model_label"]), ordered(summary["probe"])
    fig = grid(models, probes)
    traces = TraceBatch()
    axes = {probe: setting_axis(summary[summary["probe"] == probe]) for probe in probes}
    shown: set[str] = set()
    facets: list[tuple[SettingAxis, int, int]] = []
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = summary[(summary["model_label"] == model) & (summary["probe"] == probe)]
            axis = axes[probe]
            for mode in present_modes(part):
                rows = part[part["mode"] == mode]
                traces.add(
                    go.Bar(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["accuracy"].tolist(),
                        error_y=error_bars(rows["ci_low"], rows["accuracy"], rows["ci_high"]),
                        name=mode_label(mode),
                        legendgroup=mode,
                        showlegend=mode not in shown,
                        offsetgroup=mode,
                        marker=bar_marker(MODE_COLOURS[mode]),
                        customdata=_accuracy_customdata(rows),
                        hovertemplate=_ACCURACY_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(mode)
            facets.append((axis, row, col))
    traces.into(fig)
    place_setting_axes(fig, facets, bottom_row=len(models))
    fig.update_layout(barmode="group", bargap=0.22, bargroupgap=0.06)
    accuracy_axis(fig, headroom=True)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    return finish(
        fig,
        title,
        f"bars: {interval_note(summary['ci_method'])} · {DEFAULT_MARK} default world · "
        f"{model_subtitle(models)}",
        len(models),
    )


def accuracy_by_parameter(summary: pd.DataFrame) -> go.Figure:
    """Accuracy against the counterfactual parameter (base, order, shift...), one line per mode.

    Lines only where the parameter is a number (base 8, 9, 10, 16): between unordered categories (word
    orders, ciphers) a line would suggest a trend, so those get markers alone."""
    if summary.empty:
        return empty_figure("No scored items yet.")
    models, probes = ordered(summary["model_label"]), ordered(summary["probe"])
    fig = grid(models, probes)
    traces = TraceBatch()
    axes = {probe: setting_axis(summary[summary["probe"] == probe], by_value=True) for probe in probes}
    shown: set[str] = set()
    facets: list[tuple[SettingAxis, int, int]] = []
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = summary[(summary["model_label"] == model) & (summary["probe"] == probe)]
            axis = axes[probe]
            for mode in present_modes(part):
                rows = part[part["mode"] == mode]
                rows = rows.sort_values("setting", key=lambda s: s.map(axis.position))
                defaults = rows["default_world"].astype(bool).tolist()
                traces.add(
                    go.Scatter(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["accuracy"].tolist(),
                        mode="lines+markers" if axis.numeric else "markers",
                        error_y=error_bars(
                            rows["ci_low"], rows["accuracy"], rows["ci_high"], MODE_COLOURS[mode]
                        ),
                        name=mode_label(mode),
                        legendgroup=mode,
                        showlegend=mode not in shown,
                        offsetgroup=mode,
                        line={"color": MODE_COLOURS[mode], "width": 2.4},
                        marker={
                            "color": MODE_COLOURS[mode],
                            "size": [16 if d else 9 for d in defaults],
                            "symbol": ["star" if d else "circle" for d in defaults],
                            "line": {"color": "white", "width": 1},
                        },
                        customdata=_accuracy_customdata(rows),
                        hovertemplate=_ACCURACY_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(mode)
            facets.append((axis, row, col))
    traces.into(fig)
    place_setting_axes(fig, facets, bottom_row=len(models), line=True, padded=True)
    # Modes measured at the same setting sit side by side, so their error bars do not hide each other.
    fig.update_layout(scattermode="group", scattergap=0.6)
    accuracy_axis(fig, headroom=True)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    return finish(
        fig,
        "Accuracy against the counterfactual parameter",
        f"{_parameter_marks(axes.values())} · error bars: {interval_note(summary['ci_method'])} · "
        f"{DEFAULT_MARK} default world · "
        f"{model_subtitle(models)}",
        len(models),
    )


def _parameter_marks(axes: Iterable[SettingAxis]) -> str:
    numeric = {axis.numeric for axis in axes}
    if numeric == {True}:
        return "one line per mode"
    if numeric == {False}:
        return "one marker per mode (settings are not ordered, so no lines)"
    return "lines where the parameter is a number, markers where its values are not ordered"


def accuracy_heatmap(summary: pd.DataFrame) -> go.Figure:
    """Model (and mode) x setting: accuracy as colour, with the value written in each cell."""
    if summary.empty:
        return empty_figure("No scored items yet.")
    models, probes = ordered(summary["model_label"]), ordered(summary["probe"])
    columns: list[tuple[str, str]] = []
    column_text: list[str] = []
    for probe in probes:
        axis = setting_axis(summary[summary["probe"] == probe])
        columns += [(probe, setting) for setting in axis.order]
        column_text += [f"{probe}<br>{axis.ticks[setting]}" for setting in axis.order]
    rows = [
        (model, mode) for model in models for mode in present_modes(summary[summary["model_label"] == model])
    ]
    many_models = len(models) > 1

    def row_text(model: str, mode: str) -> str:
        name = f"<span style='color:{MODE_COLOURS[mode]}'><b>{mode}</b></span>"
        return f"{short_model(model, 30)} · {name}" if many_models else name

    cells = summary.set_index(["model_label", "mode", "probe", "setting"])
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    for model, mode in rows:
        z_row, text_row, hover_row = [], [], []
        for probe, setting in columns:
            key = (model, mode, probe, setting)
            if key in cells.index:
                cell = cells.loc[key]
                z_row.append(float(cell["accuracy"]))
                text_row.append(f"{cell['accuracy']:.0%}")
                hover_row.append(
                    f"{mode} · {probe} {setting}<br>accuracy {cell['accuracy']:.1%} "
                    f"({int(cell['correct'])} of {int(cell['n'])})"
                )
            else:
                z_row.append(None)
                text_row.append("")
                hover_row.append(f"{mode} · {probe} {setting}: not measured")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=column_text,
            y=[row_text(m, mode) for m, mode in rows],
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "accuracy<br>(% correct)"}, "tickformat": ".0%"},
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="model · mode" if many_models else "mode")
    fig.update_xaxes(title_text="probe and setting", tickangle=0)
    fig = finish(
        fig,
        "Accuracy by model, mode and setting",
        f"{DEFAULT_MARK} default world · {model_subtitle(models)}",
        1,
        height=max(380, TOP + 130 + 52 * len(rows)),
    )
    fig.update_layout(showlegend=False, margin={"b": 110})
    return fig


def gap_chart(gaps: pd.DataFrame) -> go.Figure:
    """Inductive minus deductive accuracy per setting with its paired 95% interval (`ci_method` names it).

    Each comparison takes the colour of its inductive mode.
    """
    if gaps.empty:
        return empty_figure(
            "No gap to show: run an inductive mode and its deductive partner "
            "(solverlearner with deductive, or io with io_rule)."
        )
    models, probes = ordered(gaps["model_label"]), ordered(gaps["probe"])
    fig = grid(models, probes)
    traces = TraceBatch()
    axes = {probe: setting_axis(gaps[gaps["probe"] == probe]) for probe in probes}
    comparisons = ordered(zip(gaps["inductive_mode"], gaps["deductive_mode"], strict=True))
    shown: set[str] = set()
    facets: list[tuple[SettingAxis, int, int]] = []
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = gaps[(gaps["model_label"] == model) & (gaps["probe"] == probe)]
            axis = axes[probe]
            for inductive, deductive in comparisons:
                rows = part[(part["inductive_mode"] == inductive) & (part["deductive_mode"] == deductive)]
                if rows.empty:
                    continue
                comparison = f"{inductive} − {deductive}"
                traces.add(
                    go.Bar(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["gap"].tolist(),
                        error_y=error_bars(rows["ci_low"], rows["gap"], rows["ci_high"]),
                        name=comparison,
                        legendgroup=comparison,
                        showlegend=comparison not in shown,
                        offsetgroup=comparison,
                        marker=bar_marker(MODE_COLOURS[inductive]),
                        customdata=rows[list(_GAP_HOVER_COLUMNS)].to_numpy(),
                        hovertemplate=_GAP_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(comparison)
            facets.append((axis, row, col))
    traces.into(fig)
    place_setting_axes(fig, facets, bottom_row=len(models))
    fig.update_layout(barmode="group", bargap=0.3)
    fig.update_yaxes(range=[-1.05, 1.18], zerolinewidth=1.5, **POINTS_TICKS)
    fig.update_yaxes(title_text=GAP_AXIS, col=1)
    return finish(
        fig,
        "Inductive minus deductive accuracy",
        "above zero: better when the rule must be induced · bars: paired "
        f"{interval_note(gaps['ci_method'])} · "
        f"{DEFAULT_MARK} default world · {model_subtitle(models)}",
        len(models),
        legend_title="comparison",
    )


def drop_chart(drops: pd.DataFrame) -> go.Figure:
    """Default-world accuracy minus mean counterfactual accuracy per mode, with its 95% interval."""
    if drops.empty:
        return empty_figure(
            "No drop to show: run a family's default world and at least one counterfactual setting."
        )
    models, probes = ordered(drops["model_label"]), ordered(drops["probe"])
    fig = grid(models, probes)
    traces = TraceBatch()
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = drops[(drops["model_label"] == model) & (drops["probe"] == probe)]
            for mode in present_modes(part):
                rows = part[part["mode"] == mode]
                traces.add(
                    go.Bar(
                        x=[mode] * len(rows),
                        y=rows["drop"].tolist(),
                        error_y=error_bars(rows["ci_low"], rows["drop"], rows["ci_high"]),
                        name=mode_label(mode),
                        legendgroup=mode,
                        showlegend=mode not in shown,
                        marker=bar_marker(MODE_COLOURS[mode]),
                        customdata=rows[
                            ["default_accuracy", "counterfactual_accuracy", "n_settings"]
                        ].to_numpy(),
                        hovertemplate=_DROP_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(mode)
            fig.update_xaxes(
                categoryorder="array",
                categoryarray=present_modes(drops),
                row=row,
                col=col,
                title_text="mode" if row == len(models) else None,
            )
    traces.into(fig)
    fig.update_yaxes(range=[-1.05, 1.05], zerolinewidth=1.5, **POINTS_TICKS)
    fig.update_yaxes(title_text=DROP_AXIS, col=1)
    return finish(
        fig,
        "Drop from the default world to counterfactual settings",
        f"above zero: worse away from the familiar world · bars: {interval_note(drops['ci_method'])} · "
        f"{model_subtitle(models)}",
        len(models),
    )


def figures_html(figures: Mapping[str, go.Figure], title: str) -> str:
    """One self-contained HTML page holding the figures (plotly.js embedded once, so it works offline)."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>body{{font-family:{FONT};margin:24px;}}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for index, (heading, figure) in enumerate(figures.items()):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(
            pio.to_html(
                figure,
                include_plotlyjs=index == 0,
                full_html=False,
                config=chart_config(re.sub(r"\W+", "-", heading).strip("-").lower()),
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)
