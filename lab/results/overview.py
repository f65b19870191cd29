"""The overview that scales: per mode, a runs x settings matrix of accuracy, one screen for 16 runs.

Pure: the summary of `lab.results.stats` in, a plotly Figure out. One heatmap facet per mode, side by
side (wrapped onto more rows when the settings are many); rows are the tables' `model_label` (a run,
or a model), sorted by mean accuracy over the cells shown, best first; columns are the settings, by
family then in natural order of the parameter, the default world marked with a star. Each cell
writes its accuracy; its hover gives the 95% interval (`ci_low`, `ci_high`, named from `ci_method`)
and the count of items.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.results.chart_layout import (
    DEFAULT_MARK,
    FONT,
    INTERVAL_NAMES,
    MODE_COLOURS,
    empty_figure,
    ordered,
    present_modes,
    setting_axis,
    short_model,
)

ROW_HEIGHT = 24  # pixels per run: 16 runs fit one screen
MAX_COLUMNS = 36  # settings side by side before the mode facets wrap onto another row
LABEL_CHARACTERS = 42
SORTS = ("mean accuracy", "name")
_HOVER = "%{customdata}<extra></extra>"


@dataclass(frozen=True)
class Column:
    """One setting column of the matrix."""

    probe: str
    setting: str
    tick: str


def row_order(summary: pd.DataFrame, *, sort: str = "mean accuracy") -> list[str]:
    """The `model_label`s, best mean accuracy over their cells first (ties by name), or by name."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    labels = sorted(ordered(summary["model_label"]))
    if sort == "name":
        return labels
    means = summary.groupby("model_label")["accuracy"].mean()
    return sorted(labels, key=lambda label: -means[label])


def setting_columns(summary: pd.DataFrame) -> list[Column]:
    """Settings by family (in order of appearance), then in natural order of the varying parameter."""
    columns = []
    for probe in ordered(summary["probe"]):
        axis = setting_axis(summary[summary["probe"] == probe], by_value=True)
        short = len(ordered(summary["probe"])) == 1
        columns += [
            Column(probe, s, axis.ticks[s] if short else f"{probe}<br>{axis.ticks[s]}") for s in axis.order
        ]
    return columns


def overview_matrix(summary: pd.DataFrame, *, sort: str = "mean accuracy") -> go.Figure:
    """One heatmap facet per mode: rows the runs (or models), columns the settings, accuracy in each cell."""
    if summary.empty:
        return empty_figure("No scored items yet.")
    modes = present_modes(summary)
    rows = row_order(summary, sort=sort)
    columns = setting_columns(summary)
    per_row = max(1, min(len(modes), MAX_COLUMNS // max(1, len(columns))))
    facet_rows = -(-len(modes) // per_row)
    fig = make_subplots(
        rows=facet_rows,
        cols=per_row,
        shared_yaxes=True,
        subplot_titles=[
            f"<b><span style='color:{MODE_COLOURS[mode]}'>{html.escape(mode)}</span></b>" for mode in modes
        ],
        horizontal_spacing=0.02,
        vertical_spacing=min(0.3, 90 / (facet_rows * (ROW_HEIGHT * len(rows) + 110))),
    )
    cells = {(c.model_label, c.mode, c.probe, c.setting): c for c in summary.itertuples(index=False)}
    for index, mode in enumerate(modes):
        z, text, hover = _facet(cells, rows, columns, mode)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=[column.tick for column in columns],
                y=list(range(len(rows))),  # by position: two labels cut to the same text stay two rows
                text=text,
                texttemplate="%{text}",
                customdata=hover,
                hovertemplate=_HOVER,
                zmin=0,
                zmax=1,
                colorscale="Viridis",
                showscale=index == 0,
                xgap=1,
                ygap=1,
                colorbar={"title": {"text": "accuracy"}, "tickformat": ".0%", "len": 0.9},
                name=mode,
            ),
            row=index // per_row + 1,
            col=index % per_row + 1,
        )
    return _finish(fig, rows, facet_rows, len(modes))


def _facet(
    cells: dict[tuple[str, str, str, str], Any], rows: list[str], columns: list[Column], mode: str
) -> tuple[list[list[float | None]], list[list[str]], list[list[str]]]:
    z, text, hover = [], [], []
    for label in rows:
        z_row, text_row, hover_row = [], [], []
        for column in columns:
            key = (label, mode, column.probe, column.setting)
            place = f"<b>{html.escape(label)}</b><br>{html.escape(mode)} · {column.probe} {column.setting}"
            cell = cells.get(key)
            if cell is None:
                z_row.append(None)
                text_row.append("")
                hover_row.append(f"{place}<br>not measured")
                continue
            z_row.append(float(cell.accuracy))
            text_row.append(f"{cell.accuracy:.0%}")
            hover_row.append(f"{place}<br>{_cell_hover(cell)}")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    return z, text, hover


def _cell_hover(cell: Any) -> str:
    """A summary row (a named tuple): accuracy, count, and the interval named from `ci_method`."""
    accuracy = f"accuracy {cell.accuracy:.1%} ({int(cell.correct)} of {int(cell.n)} items)"
    if pd.isna(cell.ci_low):
        return accuracy
    method = INTERVAL_NAMES.get(str(cell.ci_method), str(cell.ci_method))
    return f"{accuracy}<br>95% interval {cell.ci_low:.1%} to {cell.ci_high:.1%} ({method})"


def _finish(fig: go.Figure, rows: list[str], facet_rows: int, modes: int) -> go.Figure:
    longest = max(len(short_model(label, LABEL_CHARACTERS)) for label in rows)
    height = 120 + facet_rows * (ROW_HEIGHT * len(rows) + 110)
    fig.update_layout(
        title={
            "text": "Accuracy per run, mode and setting<br><sup>"
            f"{len(rows)} row(s), sorted · {modes} mode(s) · {DEFAULT_MARK} default world · "
            "hover a cell for its 95% interval</sup>",
            "x": 0.0,
            "xanchor": "left",
        },
        height=height,
        margin={"l": 20 + 7 * longest, "r": 20, "t": 100, "b": 40},
        font={"family": FONT, "size": 12},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(type="category", tickangle=0, side="bottom")
    fig.update_yaxes(
        autorange="reversed",
        tickvals=list(range(len(rows))),
        ticktext=[html.escape(short_model(label, LABEL_CHARACTERS)) for label in rows],
        showgrid=False,
        zeroline=False,
    )
    return fig
