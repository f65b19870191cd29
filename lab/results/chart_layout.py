"""What every SolverLab chart shares: mode colours and labels, the setting axis, facets, layout, error bars.

Every chart gives a mode the same colour (`MODE_COLOURS`): inductive modes in blues, deductive ones in
oranges and browns. The default world is marked the same way everywhere: its tick label is bold with a
star, and where settings are columns of a chart a grey band with the words "default world" lies behind it.
Every chart names the interval it draws (`interval_note`), from the `ci_method` column of its table.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.tasks.modes import MODES, Role

MODE_COLOURS: dict[str, str] = {
    "solverlearner": "#1f4e9c",
    "io": "#5fa8e0",
    "deductive": "#e4572e",
    "io_rule": "#f3a712",
    "deductive_code": "#8c3b0e",
    "verbal_apply": "#2a9d8f",
    "verbal_code": "#1d6b61",
    "oracle": "#6a4c93",
    "ccc": "#7a7a7a",
}
# Each inductive mode next to the deductive mode it is compared with, then the rest.
CHART_MODE_ORDER: tuple[str, ...] = (
    "solverlearner",
    "deductive",
    "io",
    "io_rule",
    "deductive_code",
    "verbal_apply",
    "verbal_code",
    "oracle",
    "ccc",
)

ACCURACY_AXIS = "accuracy (% of items correct)"
GAP_AXIS = "inductive − deductive (percentage points)"
DROP_AXIS = "accuracy drop (percentage points)"
DEFAULT_WORLD = "default world"
DEFAULT_MARK = "★"
DEFAULT_BAND_COLOUR = "rgba(110, 110, 110, 0.13)"
_ERROR_BAR_COLOUR = "#2b2b2b"
FONT = "Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif"


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
    numeric: bool = False  # the varying parameter is one number (base 8, 9, 16), so its values are ordered

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


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


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
    numeric = len(varying) == 1 and all(_NUMBER.fullmatch(plain[s]) for s in settings)
    return SettingAxis(title, ticks, tuple(order), defaults, numeric)


# ---------------------------------------------------------------------------------------------
# Shared layout


def ordered(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def present_modes(frame: pd.DataFrame) -> list[str]:
    present = set(frame["mode"])
    return [mode for mode in CHART_MODE_ORDER if mode in present]


def grid(models: list[str], probes: list[str], *, shared_y: bool = True) -> go.Figure:
    """Facets: one row per model (titled on the right, written across), one column per probe."""
    many_models = len(models) > 1
    fig = make_subplots(
        rows=len(models),
        cols=len(probes),
        shared_yaxes=shared_y,
        column_titles=[f"<b>{probe}</b>" for probe in probes],
        row_titles=[short_model(model, ROW_TITLE_CHARACTERS) for model in models] if many_models else None,
        horizontal_spacing=min(0.08, 0.3 / max(1, len(probes))),
        vertical_spacing=min(0.16, 0.5 / max(1, len(models))),
    )
    # Written across in a margin of their own, wrapped: turned upright, long labels ran into each other.
    # One assignment of all the annotations: updating them one by one relays the figure out each time.
    fig.layout.annotations = [
        note.update(
            text="<br>".join(textwrap.wrap(note.text, ROW_TITLE_WRAP)) or note.text,
            textangle=0,
            x=1.0,
            xshift=12,
            xanchor="left",
            align="left",
            font={"size": 13},
            name=ROW_TITLE,
        )
        if note.textangle == 90
        else note
        for note in (go.layout.Annotation(note) for note in fig.layout.annotations)
    ]
    return fig


ROW_TITLE = "row title"
ROW_TITLE_CHARACTERS = 66  # three lines of ROW_TITLE_WRAP
ROW_TITLE_WRAP = 22
ROW_TITLE_MARGIN = 190  # pixels right of the plots for the wrapped row titles


def _has_row_titles(fig: go.Figure) -> bool:
    return any(note.name == ROW_TITLE for note in fig.layout.annotations)


def short_model(label: str, limit: int = 38) -> str:
    """The label cut in the middle to `limit` characters: its end (a run's date and short id) stays, so
    labels that differ only there stay apart."""
    if len(label) <= limit:
        return label
    tail = (limit - 1) // 2
    return label[: limit - 1 - tail] + "…" + label[len(label) - tail :]


def finish(
    fig: go.Figure,
    title: str,
    subtitle: str,
    rows: int,
    *,
    legend_title: str = "mode",
    height: int | None = None,
) -> go.Figure:
    height = height or 140 + 290 * rows + BOTTOM
    plot_height = height - TOP - BOTTOM
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
        margin={"l": 80, "r": ROW_TITLE_MARGIN if _has_row_titles(fig) else 40, "t": TOP, "b": BOTTOM},
        font={"family": FONT, "size": 13},
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


TOP = 92
BOTTOM = 150
POINTS_TICKS = {
    "tickvals": [-1, -0.5, 0, 0.5, 1],
    "ticktext": ["−100 pp", "−50 pp", "0", "+50 pp", "+100 pp"],
}


def accuracy_axis(fig: go.Figure, *, headroom: bool) -> None:
    fig.update_yaxes(
        range=[0, 1.14 if headroom else 1.05], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%"
    )


class TraceBatch:
    """Traces gathered facet by facet, then added to the figure in one call: `add_trace` checks the
    whole figure on each call."""

    def __init__(self) -> None:
        self.traces: list[go.Bar | go.Scatter] = []
        self.rows: list[int] = []
        self.cols: list[int] = []

    def add(self, trace: go.Bar | go.Scatter, *, row: int, col: int) -> None:
        self.traces.append(trace)
        self.rows.append(row)
        self.cols.append(col)

    def into(self, fig: go.Figure) -> None:
        if self.traces:
            fig.add_traces(self.traces, rows=self.rows, cols=self.cols)


def place_setting_axes(
    fig: go.Figure,
    facets: Iterable[tuple[SettingAxis, int, int]],
    *,
    bottom_row: int,
    line: bool = False,
    padded: bool = False,
) -> None:
    """Each facet's (axis, row, col) setting axis: settings in their order, titled on the bottom row,
    default world marked: a grey band behind its column (a dotted line through its point in line charts).
    `padded`: the axis runs half a category beyond the first and last setting.

    The marks of all facets are added in one assignment: plotly's `add_shape` and `add_annotation`
    copy every shape or annotation already there on each call, and `add_vrect(row=, col=)` also
    checks every trace, which took half the time of a chart of 16 runs.
    """
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for axis, row, col in facets:
        fig.update_xaxes(
            categoryorder="array",
            categoryarray=axis.tick_order(),
            row=row,
            col=col,
            title_text=axis.title if row == bottom_row else None,
            **({"range": [-0.5, len(axis.order) - 0.5]} if padded else {}),
        )
        axes = fig.get_subplot(row, col)
        x_ref = axes.xaxis.plotly_name.replace("axis", "")
        y_domain = axes.yaxis.plotly_name.replace("axis", "") + " domain"
        for default in axis.defaults:
            shapes.append(_default_mark(axis.position(default), x_ref, y_domain, line=line))
            # Inside the plot's headroom, so the label never meets the column title above.
            notes.append(
                {
                    "text": DEFAULT_WORLD,
                    "x": axis.position(default),
                    "xref": x_ref,
                    "xanchor": "center",
                    "y": 1,
                    "yref": y_domain,
                    "yanchor": "top",
                    "showarrow": False,
                    "font": {"size": 11, "color": "#444"},
                }
            )
    # Assigned, not `update_layout`: that relays out the whole figure, several times slower.
    fig.layout.shapes = [*fig.layout.shapes, *shapes]
    fig.layout.annotations = [*fig.layout.annotations, *notes]


def _default_mark(x: float, x_ref: str, y_domain: str, *, line: bool) -> dict[str, Any]:
    place = {"xref": x_ref, "yref": y_domain, "y0": 0, "y1": 1, "layer": "below"}
    if line:
        return {
            "type": "line",
            "x0": x,
            "x1": x,
            "line": {"color": "#777", "dash": "dot", "width": 1.5},
            **place,
        }
    return {
        "type": "rect",
        "x0": x - 0.5,
        "x1": x + 0.5,
        "fillcolor": DEFAULT_BAND_COLOUR,
        "line_width": 0,
        **place,
    }


def error_bars(
    low: pd.Series, value: pd.Series, high: pd.Series, colour: str = _ERROR_BAR_COLOUR
) -> dict[str, object]:
    return {
        "type": "data",
        "symmetric": False,
        "array": np.clip((high - value).to_numpy(dtype=float), 0, None).tolist(),
        "arrayminus": np.clip((value - low).to_numpy(dtype=float), 0, None).tolist(),
        "color": colour,
        "thickness": 1.4,
        "width": 4,
        "visible": True,
    }


def bar_marker(colour: str) -> dict[str, object]:
    # An outline in the fill colour keeps a bar of height 0 (0% accuracy, no gap) visible as a line.
    return {"color": colour, "line": {"width": 2.5, "color": colour}}


def empty_figure(message: str) -> go.Figure:
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


def model_subtitle(models: list[str]) -> str:
    if len(models) == 1:
        return f"model: {models[0]}"
    return f"{len(models)} models (one row each)"


INTERVAL_NAMES: dict[str, str] = {
    "wilson": "Wilson over items",
    "newcombe_paired": "Newcombe paired",
    "mover_wilson": "MOVER-Wilson",
    "cluster_bootstrap": "cluster bootstrap over instances",
}


def interval_note(methods: Iterable[str]) -> str:
    """`95% interval: Wilson over items (direct modes), cluster bootstrap over instances (code modes)`."""
    present = [m for m in INTERVAL_NAMES if m in set(methods)]
    if not present:
        return "95% interval"
    code = " (code modes)" if len(present) > 1 else ""
    names = [INTERVAL_NAMES[m] + (code if m == "cluster_bootstrap" else "") for m in present]
    return "95% interval: " + ", ".join(names)
