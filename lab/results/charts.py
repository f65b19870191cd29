"""Plotly figures built from the statistics tables of `lab.stats` (summary, gaps, counterfactual drops).

Pure functions: a DataFrame in, a plotly Figure (or HTML text) out; nothing here reads the store or draws.
Every chart gives a mode the same colour (`MODE_COLOURS`): inductive modes in blues, deductive ones in
oranges and browns. The default world is marked the same way everywhere: its tick label is bold with a
star, and where settings are columns of a chart a grey band with the words "default world" lies behind it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from lab.models.replay import display_label
from lab.tasks.modes import MODES, Role

MODE_COLOURS: dict[str, str] = {
    "solverlearner": "#1f4e9c",
    "io": "#5fa8e0",
    "deductive": "#e4572e",
    "io_rule": "#f3a712",
    "deductive_code": "#8c3b0e",
    "ccc": "#7a7a7a",
}
# Each inductive mode next to the deductive mode it is compared with, then the rest.
CHART_MODE_ORDER: tuple[str, ...] = ("solverlearner", "deductive", "io", "io_rule", "deductive_code", "ccc")

ACCURACY_AXIS = "accuracy (% of items correct)"
GAP_AXIS = "inductive − deductive (percentage points)"
DROP_AXIS = "accuracy drop (percentage points)"
DEFAULT_WORLD = "default world"
DEFAULT_MARK = "★"
DEFAULT_BAND_COLOUR = "rgba(110, 110, 110, 0.13)"
_ERROR_BAR_COLOUR = "#2b2b2b"
_FONT = "Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif"


def mode_label(mode: str) -> str:
    """A mode's name with what it means, as legends show it: `io_rule (rule + examples)`."""
    spec = MODES[mode]
    if spec.role is Role.CHECK:
        return f"{mode} (comprehension check)"
    if spec.role is Role.INDUCTIVE:
        kind = "inductive"
    elif spec.shows_examples:
        kind = "rule + examples"
    else:
        kind = "rule stated"
    return f"{mode} ({kind}, writes code)" if spec.returns_code else f"{mode} ({kind})"


def mode_colour(mode: str) -> str:
    return MODE_COLOURS[mode]


def chart_config(file_name: str) -> dict[str, object]:
    """Plotly's modebar config: its camera button saves the chart as a PNG in the browser."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": file_name, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


# ---------------------------------------------------------------------------------------------
# Settings on an axis


@dataclass(frozen=True)
class SettingAxis:
    """How one probe's settings appear on an axis: the parameter(s) that vary, as short tick labels."""

    title: str
    ticks: dict[str, str]  # setting label -> tick text (the default world's bold, with a star)
    order: tuple[str, ...]  # setting labels in display order
    defaults: tuple[str, ...]  # the default-world setting(s) present, usually one

    def tick_order(self) -> list[str]:
        return [self.ticks[setting] for setting in self.order]

    def position(self, setting: str) -> int:
        return self.order.index(setting)


def _params(label: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in label.split(","):
        key, eq, value = part.partition("=")
        if eq:
            out[key.strip()] = value.strip()
    return out


def _natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part) for part in re.split(r"(\d+)", text) if part
    )


def setting_axis(frame: pd.DataFrame, *, by_value: bool = False) -> SettingAxis:
    """The axis for the settings of one probe in `frame` (columns `setting`, `default_world`).

    Ticks show only the parameters that vary between those settings (`8`, `16` for base-N addition,
    `caesar 3`, `atbash` for ciphers) and the axis title names them. Order: the default world first
    then the others in natural order, or with `by_value` all in natural order of their values (a
    line over base 8, 9, 10, 11, 16).
    """
    worlds = frame.drop_duplicates("setting").set_index("setting")["default_world"].astype(bool)
    settings = list(worlds.index)
    params = {setting: _params(setting) for setting in settings}
    keys: list[str] = []
    for values in params.values():
        keys += [key for key in values if key not in keys]
    varying = [key for key in keys if len({values.get(key) for values in params.values()}) > 1]
    if varying:
        plain = {s: " ".join(params[s][k] for k in varying if k in params[s]) or s for s in settings}
        title = ", ".join(varying)
    else:
        plain = {s: s for s in settings}
        title = "setting"
    defaults = tuple(sorted((s for s in settings if worlds[s]), key=_natural_key))
    ticks = {s: f"<b>{plain[s]} {DEFAULT_MARK}</b>" if s in defaults else plain[s] for s in settings}
    if by_value:
        order = sorted(settings, key=lambda s: _natural_key(plain[s]))
    else:
        order = sorted(settings, key=lambda s: (s not in defaults, _natural_key(s)))
    return SettingAxis(title, ticks, tuple(order), defaults)


# ---------------------------------------------------------------------------------------------
# Shared layout


def _ordered(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _present_modes(frame: pd.DataFrame) -> list[str]:
    present = set(frame["mode"])
    return [mode for mode in CHART_MODE_ORDER if mode in present]


def _grid(models: list[str], probes: list[str], *, shared_y: bool = True) -> go.Figure:
    many_models = len(models) > 1
    return make_subplots(
        rows=len(models),
        cols=len(probes),
        shared_yaxes=shared_y,
        column_titles=[f"<b>{probe}</b>" for probe in probes],
        row_titles=[_short_model(model) for model in models] if many_models else None,
        horizontal_spacing=min(0.08, 0.3 / max(1, len(probes))),
        vertical_spacing=min(0.16, 0.5 / max(1, len(models))),
    )


def _short_model(model: str, limit: int = 38) -> str:
    model = display_label(model)  # a replay model's path is long; its recorded model's name is not
    return model if len(model) <= limit else model[: limit - 1] + "…"


def _finish(
    fig: go.Figure,
    title: str,
    subtitle: str,
    rows: int,
    *,
    legend_title: str = "mode",
    height: int | None = None,
) -> go.Figure:
    height = height or 140 + 290 * rows + _BOTTOM
    plot_height = height - _TOP - _BOTTOM
    fig.update_layout(
        title={
            "text": f"{html.escape(title)}<br><sup>{html.escape(subtitle)}</sup>",
            "x": 0.0,
            "xanchor": "left",
            "yref": "container",
            "y": 1.0,
            "yanchor": "top",
            "pad": {"t": 14},
        },
        height=height,
        margin={"l": 80, "r": 40, "t": _TOP, "b": _BOTTOM},
        font={"family": _FONT, "size": 13},
        # Below the x-axis titles, where a long legend can wrap onto a second row without hiding anything.
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -78 / plot_height,
            "x": 0.0,
            "xanchor": "left",
            "title": {"text": f"<b>{legend_title}</b>"},
            "traceorder": "normal",
        },
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(showline=True, linecolor="#888", ticks="outside", type="category")
    fig.update_yaxes(
        showline=True, linecolor="#888", gridcolor="#e6e6e6", zeroline=True, zerolinecolor="#888"
    )
    return fig


_TOP = 92
_BOTTOM = 150
_POINTS_TICKS = {
    "tickvals": [-1, -0.5, 0, 0.5, 1],
    "ticktext": ["−100 pp", "−50 pp", "0", "+50 pp", "+100 pp"],
}


def _accuracy_axis(fig: go.Figure, *, headroom: bool) -> None:
    fig.update_yaxes(
        range=[0, 1.14 if headroom else 1.05], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%"
    )


def _setting_axis(
    fig: go.Figure, axis: SettingAxis, row: int, col: int, *, bottom: bool, line: bool = False, **layout: Any
) -> None:
    """One facet's setting axis: settings in their order, titled on the bottom row, default world marked."""
    fig.update_xaxes(
        categoryorder="array",
        categoryarray=axis.tick_order(),
        row=row,
        col=col,
        title_text=axis.title if bottom else None,
        **layout,
    )
    _mark_default(fig, axis, row, col, line=line)


def _mark_default(fig: go.Figure, axis: SettingAxis, row: int, col: int, *, line: bool = False) -> None:
    """A grey band behind the default world's column (a dotted line through its point in line charts)."""
    for default in axis.defaults:
        x = axis.position(default)
        label = {
            "annotation_text": DEFAULT_WORLD,
            "annotation_position": "top",
            "annotation_font": {"size": 11, "color": "#444"},
        }
        if line:
            # Inside the plot's headroom, so the label never meets the column title above.
            fig.add_vline(
                x=x,
                row=row,
                col=col,
                line={"color": "#777", "dash": "dot", "width": 1.5},
                layer="below",
                **label,
                annotation_yanchor="top",
            )
        else:
            fig.add_vrect(
                x0=x - 0.5,
                x1=x + 0.5,
                row=row,
                col=col,
                fillcolor=DEFAULT_BAND_COLOUR,
                line_width=0,
                layer="below",
                **label,
            )


def _interval(
    low: pd.Series, value: pd.Series, high: pd.Series, colour: str = _ERROR_BAR_COLOUR
) -> dict[str, object]:
    return {
        "type": "data",
        "symmetric": False,
        "array": (high - value).clip(lower=0).tolist(),
        "arrayminus": (value - low).clip(lower=0).tolist(),
        "color": colour,
        "thickness": 1.4,
        "width": 4,
        "visible": True,
    }


def _bar_marker(colour: str) -> dict[str, object]:
    # An outline in the fill colour keeps a bar of height 0 (0% accuracy, no gap) visible as a line.
    return {"color": colour, "line": {"width": 2.5, "color": colour}}


def _empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 15, "color": "#555"},
    )
    fig.update_layout(
        height=220,
        xaxis={"visible": False},
        yaxis={"visible": False},
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return fig


def _model_subtitle(models: list[str]) -> str:
    if len(models) == 1:
        return f"model: {display_label(models[0])}"
    return f"{len(models)} models (one row each)"


_ACCURACY_HOVER = (
    "<b>%{fullData.name}</b><br>%{customdata[0]}<br>accuracy %{y:.1%} "
    "(95% interval %{customdata[1]:.1%} to %{customdata[2]:.1%})<br>%{customdata[3]} of %{customdata[4]} "
    "items correct<extra></extra>"
)


_GAP_HOVER_COLUMNS = ("ci_low", "ci_high", "inductive_accuracy", "deductive_accuracy")
_GAP_HOVER = (
    "<b>%{fullData.name}</b><br>gap %{y:+.1%} (95% interval %{customdata[0]:+.1%} to %{customdata[1]:+.1%})"
    "<br>inductive %{customdata[2]:.1%}, deductive %{customdata[3]:.1%}<extra></extra>"
)
_DROP_HOVER = (
    "<b>%{fullData.name}</b><br>drop %{y:+.1%}<br>default world %{customdata[0]:.1%}, counterfactual mean "
    "%{customdata[1]:.1%} over %{customdata[2]} setting(s)<extra></extra>"
)


def _accuracy_customdata(rows: pd.DataFrame) -> list[list[object]]:
    return [
        [f"{p} {s}", lo, hi, int(c), int(n)]
        for p, s, lo, hi, c, n in zip(
            rows["probe"],
            rows["setting"],
            rows["ci_low"],
            rows["ci_high"],
            rows["correct"],
            rows["n"],
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
        return _empty_figure("No scored items yet.")
    return _accuracy_bars(summary, "Accuracy per setting: inductive vs deductive")


def comprehension_chart(summary: pd.DataFrame) -> go.Figure:
    """Deductive accuracy beside the comprehension check's, per setting.

    A low deductive bar over a high check bar reads "understood the rule, could not apply it";
    both low reads "did not understand the rule".
    """
    both = summary[summary["mode"].isin(["deductive", "ccc"])]
    measured = both.groupby(["model", "probe", "setting"])["mode"].nunique()
    if both.empty or not (measured == 2).any():
        return _empty_figure("No comprehension check to compare: run the deductive and ccc modes together.")
    return _accuracy_bars(both, "Deductive accuracy vs the comprehension check")


def _accuracy_bars(summary: pd.DataFrame, title: str) -> go.Figure:
    models, probes = _ordered(summary["model"]), _ordered(summary["probe"])
    fig = _grid(models, probes)
    axes = {probe: setting_axis(summary[summary["probe"] == probe]) for probe in probes}
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = summary[(summary["model"] == model) & (summary["probe"] == probe)]
            axis = axes[probe]
            for mode in _present_modes(part):
                rows = part[part["mode"] == mode]
                fig.add_trace(
                    go.Bar(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["accuracy"].tolist(),
                        error_y=_interval(rows["ci_low"], rows["accuracy"], rows["ci_high"]),
                        name=mode_label(mode),
                        legendgroup=mode,
                        showlegend=mode not in shown,
                        offsetgroup=mode,
                        marker=_bar_marker(MODE_COLOURS[mode]),
                        customdata=_accuracy_customdata(rows),
                        hovertemplate=_ACCURACY_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(mode)
            _setting_axis(fig, axis, row, col, bottom=row == len(models))
    fig.update_layout(barmode="group", bargap=0.22, bargroupgap=0.06)
    _accuracy_axis(fig, headroom=True)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    return _finish(
        fig,
        title,
        f"bars: 95% Wilson interval · {DEFAULT_MARK} default world · {_model_subtitle(models)}",
        len(models),
    )


def accuracy_by_parameter(summary: pd.DataFrame) -> go.Figure:
    """Accuracy against the counterfactual parameter (base, order, shift...), one line per mode."""
    if summary.empty:
        return _empty_figure("No scored items yet.")
    models, probes = _ordered(summary["model"]), _ordered(summary["probe"])
    fig = _grid(models, probes)
    axes = {probe: setting_axis(summary[summary["probe"] == probe], by_value=True) for probe in probes}
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = summary[(summary["model"] == model) & (summary["probe"] == probe)]
            axis = axes[probe]
            for mode in _present_modes(part):
                rows = part[part["mode"] == mode]
                rows = rows.sort_values("setting", key=lambda s: s.map(axis.position))
                defaults = rows["default_world"].astype(bool).tolist()
                fig.add_trace(
                    go.Scatter(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["accuracy"].tolist(),
                        mode="lines+markers",
                        error_y=_interval(
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
            _setting_axis(
                fig, axis, row, col, bottom=row == len(models), range=[-0.5, len(axis.order) - 0.5], line=True
            )
    # Modes measured at the same setting sit side by side, so their error bars do not hide each other.
    fig.update_layout(scattermode="group", scattergap=0.6)
    _accuracy_axis(fig, headroom=True)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    return _finish(
        fig,
        "Accuracy against the counterfactual parameter",
        f"one line per mode · error bars: 95% Wilson interval · {DEFAULT_MARK} default world · "
        f"{_model_subtitle(models)}",
        len(models),
    )


def accuracy_heatmap(summary: pd.DataFrame) -> go.Figure:
    """Model (and mode) x setting: accuracy as colour, with the value written in each cell."""
    if summary.empty:
        return _empty_figure("No scored items yet.")
    models, probes = _ordered(summary["model"]), _ordered(summary["probe"])
    columns: list[tuple[str, str]] = []
    column_text: list[str] = []
    for probe in probes:
        axis = setting_axis(summary[summary["probe"] == probe])
        columns += [(probe, setting) for setting in axis.order]
        column_text += [f"{probe}<br>{axis.ticks[setting]}" for setting in axis.order]
    rows = [(model, mode) for model in models for mode in _present_modes(summary[summary["model"] == model])]
    many_models = len(models) > 1

    def row_text(model: str, mode: str) -> str:
        name = f"<span style='color:{MODE_COLOURS[mode]}'><b>{mode}</b></span>"
        return f"{_short_model(model, 30)} · {name}" if many_models else name

    cells = summary.set_index(["model", "mode", "probe", "setting"])
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
    fig = _finish(
        fig,
        "Accuracy by model, mode and setting",
        f"{DEFAULT_MARK} default world · {_model_subtitle(models)}",
        1,
        height=max(380, _TOP + 130 + 52 * len(rows)),
    )
    fig.update_layout(showlegend=False, margin={"b": 110})
    return fig


def gap_chart(gaps: pd.DataFrame) -> go.Figure:
    """Inductive minus deductive accuracy per setting with its 95% interval (Newcombe).

    Each comparison takes the colour of its inductive mode.
    """
    if gaps.empty:
        return _empty_figure(
            "No gap to show: run an inductive mode and its deductive partner "
            "(solverlearner with deductive, or io with io_rule)."
        )
    models, probes = _ordered(gaps["model"]), _ordered(gaps["probe"])
    fig = _grid(models, probes)
    axes = {probe: setting_axis(gaps[gaps["probe"] == probe]) for probe in probes}
    comparisons = _ordered(gaps["comparison"])
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = gaps[(gaps["model"] == model) & (gaps["probe"] == probe)]
            axis = axes[probe]
            for comparison in comparisons:
                rows = part[part["comparison"] == comparison]
                if rows.empty:
                    continue
                inductive = comparison.split(" - ")[0].strip()
                fig.add_trace(
                    go.Bar(
                        x=[axis.ticks[s] for s in rows["setting"]],
                        y=rows["gap"].tolist(),
                        error_y=_interval(rows["ci_low"], rows["gap"], rows["ci_high"]),
                        name=comparison.replace(" - ", " − "),
                        legendgroup=comparison,
                        showlegend=comparison not in shown,
                        offsetgroup=comparison,
                        marker=_bar_marker(MODE_COLOURS.get(inductive, "#777")),
                        customdata=rows[list(_GAP_HOVER_COLUMNS)].to_numpy(),
                        hovertemplate=_GAP_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(comparison)
            _setting_axis(fig, axis, row, col, bottom=row == len(models))
    fig.update_layout(barmode="group", bargap=0.3)
    fig.update_yaxes(range=[-1.05, 1.18], zerolinewidth=1.5, **_POINTS_TICKS)
    fig.update_yaxes(title_text=GAP_AXIS, col=1)
    return _finish(
        fig,
        "Inductive minus deductive accuracy",
        f"above zero: better when the rule must be induced · bars: 95% Newcombe interval · "
        f"{DEFAULT_MARK} default world · {_model_subtitle(models)}",
        len(models),
        legend_title="comparison",
    )


def drop_chart(drops: pd.DataFrame) -> go.Figure:
    """Default-world accuracy minus mean counterfactual accuracy per mode, with its 95% interval."""
    if drops.empty:
        return _empty_figure(
            "No drop to show: run a family's default world and at least one counterfactual setting."
        )
    models, probes = _ordered(drops["model"]), _ordered(drops["probe"])
    fig = _grid(models, probes)
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = drops[(drops["model"] == model) & (drops["probe"] == probe)]
            for mode in _present_modes(part):
                rows = part[part["mode"] == mode]
                fig.add_trace(
                    go.Bar(
                        x=[mode] * len(rows),
                        y=rows["drop"].tolist(),
                        error_y=_interval(rows["ci_low"], rows["drop"], rows["ci_high"]),
                        name=mode_label(mode),
                        legendgroup=mode,
                        showlegend=mode not in shown,
                        marker=_bar_marker(MODE_COLOURS[mode]),
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
                categoryarray=_present_modes(drops),
                row=row,
                col=col,
                title_text="mode" if row == len(models) else None,
            )
    fig.update_yaxes(range=[-1.05, 1.05], zerolinewidth=1.5, **_POINTS_TICKS)
    fig.update_yaxes(title_text=DROP_AXIS, col=1)
    return _finish(
        fig,
        "Drop from the default world to counterfactual settings",
        f"above zero: worse away from the familiar world · bars: 95% MOVER-Wilson interval · "
        f"{_model_subtitle(models)}",
        len(models),
    )


_CURVE_COLOURS = ("#1f4e9c", "#e4572e", "#2a9d8f", "#f3a712", "#6a4c93", "#8c3b0e", "#5fa8e0", "#555555")
_CURVE_HOVER = "<b>%{fullData.name}</b><br>%{customdata[0]} %{x}: %{y:.1%}<br>%{customdata[1]}<extra></extra>"


def _curves(
    frame: pd.DataFrame,
    x: str,
    x_title: str,
    title: str,
    subtitle: str,
    describe: Any,
    level: Mapping[tuple[str, str, str, str], float] | None = None,
    level_name: str = "",
) -> go.Figure:
    """One line per setting x mode against `x`, in facets of model (rows) x probe (columns).

    `level`: an optional reference per (model, probe, setting, mode), drawn as a dashed line of the
    curve's colour across its x range.
    """
    models, probes = _ordered(frame["model"]), _ordered(frame["probe"])
    fig = _grid(models, probes)
    keys = _ordered(
        f"{setting} · {mode}" for setting, mode in zip(frame["setting"], frame["mode"], strict=True)
    )
    colours = {key: _CURVE_COLOURS[i % len(_CURVE_COLOURS)] for i, key in enumerate(keys)}
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = frame[(frame["model"] == model) & (frame["probe"] == probe)]
            for (setting, mode), rows in part.groupby(["setting", "mode"], sort=False):
                key = f"{probe} {setting} · {mode}" if len(probes) > 1 else f"{setting} · {mode}"
                colour = colours[f"{setting} · {mode}"]
                has_interval = rows["ci_low"].notna().all()
                fig.add_trace(
                    go.Scatter(
                        x=rows[x].tolist(),
                        y=rows["value"].tolist(),
                        mode="lines+markers",
                        name=key,
                        legendgroup=key,
                        showlegend=key not in shown,
                        line={"color": colour, "width": 2.5},
                        marker={"size": 8, "color": colour},
                        error_y=_interval(rows["ci_low"], rows["value"], rows["ci_high"], colour)
                        if has_interval
                        else None,
                        customdata=[[x_title, describe(r)] for r in rows.to_dict("records")],
                        hovertemplate=_CURVE_HOVER,
                    ),
                    row=row,
                    col=col,
                )
                shown.add(key)
                reference = (level or {}).get((model, probe, setting, mode))
                if reference is not None:
                    span = [min(rows[x]), max(rows[x])]
                    fig.add_trace(
                        go.Scatter(
                            x=span,
                            y=[reference, reference],
                            mode="lines",
                            name=f"{key}: {level_name}",
                            legendgroup=key,
                            showlegend=False,
                            line={"color": colour, "width": 1.8, "dash": "dash"},
                            hovertemplate=(
                                f"<b>{html.escape(key)}</b><br>{level_name}: %{{y:.1%}}<extra></extra>"
                            ),
                        ),
                        row=row,
                        col=col,
                    )
            fig.update_xaxes(
                type="linear", dtick=1, row=row, col=col, title_text=x_title if row == len(models) else None
            )
    _accuracy_axis(fig, headroom=False)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    finished = _finish(
        fig, title, f"{subtitle} · {_model_subtitle(models)}", len(models), legend_title="setting · mode"
    )
    low, high = frame[x].min(), frame[x].max()
    finished.update_xaxes(type="linear", range=[low - 0.3, high + 0.3])
    return finished


def pass_at_k_chart(sampling: pd.DataFrame) -> go.Figure:
    """pass@k against k, from the unbiased estimator over the samples of each instance."""
    curves = sampling[sampling["measure"].str.startswith("pass@")]
    if curves.empty:
        return _empty_figure("No pass@k to show: run a code mode with more than one sample (--samples).")
    best = sampling[sampling["measure"] == "best fit"].set_index(["model", "probe", "setting", "mode"])[
        "value"
    ]

    def describe(row: dict[str, Any]) -> str:
        chosen = best.get((row["model"], row["probe"], row["setting"], row["mode"]))
        return f"{row['cases']} held-out cases · best fit on the examples: {chosen:.1%}"

    return _curves(
        curves,
        "k",
        "k (samples)",
        "pass@k over candidate functions",
        "unbiased estimator (Chen et al. 2021), per held-out case · dashed: the sample that fits the shown "
        "examples best",
        describe,
        level=best.to_dict(),
        level_name="best fit",
    )


def rounds_chart(rounds: pd.DataFrame) -> go.Figure:
    """Accuracy of the chosen function after each round of refinement on the failing examples."""
    if rounds.empty or rounds["round"].max() == 0:
        return _empty_figure("No refinement to show: run a code mode with --rounds 1 or more.")
    frame = rounds.rename(columns={"accuracy": "value"})

    def describe(row: dict[str, Any]) -> str:
        return f"{row['correct']} of {row['n']} items correct · {row['refined']} function(s) of this round"

    return _curves(
        frame,
        "round",
        "refinement round",
        "Accuracy by refinement round",
        "round 0: the chosen sample · bars: 95% Wilson interval",
        describe,
    )


def figures_html(figures: Mapping[str, go.Figure], title: str) -> str:
    """One self-contained HTML page holding the figures (plotly.js embedded once, so it works offline)."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>body{{font-family:{_FONT};margin:24px;}}</style></head><body>",
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
