"""Plotly figures of sweeps: accuracy against the number of shown examples and against noise.

Pure functions: the swept rows of the summary (`sweeps.swept_rows`) in, a Figure out. One line per
mode and setting (and model, when there are several), with its 95% interval as error bars (the
summary's `ci_method`: the cluster bootstrap in code modes); a mode that shows no examples is a
dashed level across the shots axis, the reference the curves climb towards.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from lab.results.charts import ACCURACY_AXIS, MODE_COLOURS, mode_label

_OTHER_COLOUR = "#4d4d4d"


def _name(row: pd.Series, several_models: bool) -> str:
    name = f"{mode_label(str(row['mode']))} · {row['probe']}:{row['setting']}"
    return f"{name} · {row['model']}" if several_models else name


def _errors(rows: pd.DataFrame) -> dict[str, object]:
    return {
        "type": "data",
        "symmetric": False,
        "array": list(100 * (rows["ci_high"] - rows["accuracy"])),
        "arrayminus": list(100 * (rows["accuracy"] - rows["ci_low"])),
    }


def _line(rows: pd.DataFrame, x: str, name: str, dash: str = "solid") -> go.Scatter:
    mode = str(rows["mode"].iloc[0])
    return go.Scatter(
        x=list(rows[x]),
        y=list(100 * rows["accuracy"]),
        error_y=_errors(rows),
        mode="lines+markers",
        name=name,
        line={"color": MODE_COLOURS.get(mode, _OTHER_COLOUR), "dash": dash},
        customdata=list(zip(rows["n"], rows["correct"], strict=True)),
        hovertemplate="%{y:.0f}% (%{customdata[1]} of %{customdata[0]})<extra>%{fullData.name}</extra>",
    )


def shot_curve(summary: pd.DataFrame, *, noise: float = 0.0) -> go.Figure:
    """Accuracy against shots (log axis) at one noise level, per mode and setting."""
    several = summary["model"].nunique() > 1
    swept = summary[summary["shots"].notna() & summary["noise"].eq(noise).fillna(False)]
    figure = go.Figure()
    for _, rows in swept.sort_values("shots").groupby(["model", "probe", "setting", "mode"], sort=True):
        figure.add_trace(_line(rows, "shots", _name(rows.iloc[0], several)))
    shots = sorted({int(k) for k in swept["shots"]})
    if shots:
        for _, row in summary[summary["shots"].isna()].iterrows():
            level = pd.DataFrame([row] * 2).assign(shots=[shots[0], shots[-1]])
            figure.add_trace(_line(level, "shots", _name(row, several), dash="dash"))
    figure.update_layout(
        title=f"Accuracy against the number of shown examples (noise {noise:g})",
        xaxis={"type": "log", "title": "examples shown (shots, log scale)", "tickvals": shots},
        yaxis={"title": ACCURACY_AXIS, "range": [0, 105]},
        legend={"title": "mode · setting"},
    )
    return figure


def noise_curve(summary: pd.DataFrame, *, shots: int | None = None) -> go.Figure:
    """Accuracy against the fraction of noisy examples, per mode and setting, at `shots` (None:
    the largest number of shots swept)."""
    several = summary["model"].nunique() > 1
    swept = summary[summary["noise"].notna()]
    if shots is None and not swept.empty:
        shots = int(swept["shots"].max())
    swept = swept[swept["shots"] == shots]
    figure = go.Figure()
    for _, rows in swept.sort_values("noise").groupby(["model", "probe", "setting", "mode"], sort=True):
        figure.add_trace(_line(rows, "noise", _name(rows.iloc[0], several)))
    levels = sorted(float(f) for f in swept["noise"].unique() if not math.isnan(f))
    figure.update_layout(
        title=f"Accuracy against noisy examples ({shots} shown)",
        xaxis={"title": "share of shown examples with a wrong output", "tickvals": levels},
        yaxis={"title": ACCURACY_AXIS, "range": [0, 105]},
        legend={"title": "mode · setting"},
    )
    return figure
