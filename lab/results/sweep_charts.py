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
# Lines of one mode (one colour) tell their settings apart by dash and marker; "dash" marks the levels.
_DASHES = ("solid", "dot", "dashdot", "longdashdot")
_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


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


def _line(rows: pd.DataFrame, x: str, name: str, *, style: int = 0, dash: str | None = None) -> go.Scatter:
    mode = str(rows["mode"].iloc[0])
    dash = dash or _DASHES[style % len(_DASHES)]
    return go.Scatter(
        x=list(rows[x]),
        y=list(100 * rows["accuracy"]),
        error_y=_errors(rows),
        mode="lines+markers",
        name=name,
        line={"color": MODE_COLOURS.get(mode, _OTHER_COLOUR), "dash": dash},
        marker={"symbol": _SYMBOLS[style % len(_SYMBOLS)], "size": 9},
        customdata=list(zip(rows["n"], rows["correct"], strict=True)),
        hovertemplate="%{y:.0f}% (%{customdata[1]} of %{customdata[0]})<extra>%{fullData.name}</extra>",
    )


def _styles(summary: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """A style number per model, probe and setting, so that one mode's lines can be told apart."""
    keys = summary[["model", "probe", "setting"]].drop_duplicates().itertuples(index=False, name=None)
    return {key: number for number, key in enumerate(sorted(keys))}


def shot_curve(summary: pd.DataFrame, *, noise: float = 0.0) -> go.Figure:
    """Accuracy against shots (log axis) at one noise level, per mode and setting."""
    several = summary["model"].nunique() > 1
    swept = summary[summary["shots"].notna() & summary["noise"].eq(noise).fillna(False)]
    figure = go.Figure()
    styles = _styles(summary)
    for key, rows in swept.sort_values("shots").groupby(["model", "probe", "setting", "mode"], sort=True):
        figure.add_trace(_line(rows, "shots", _name(rows.iloc[0], several), style=styles[key[:3]]))
    shots = sorted({int(k) for k in swept["shots"]})
    if shots:
        for _, row in summary[summary["shots"].isna()].iterrows():
            level = pd.DataFrame([row] * 2).assign(shots=[shots[0], shots[-1]])
            figure.add_trace(
                _line(
                    level,
                    "shots",
                    _name(row, several),
                    style=styles[tuple(row[["model", "probe", "setting"]])],
                    dash="dash",
                )
            )
    figure.update_layout(
        title=f"Accuracy against the number of shown examples (noise {noise:g})",
        xaxis={"type": "log", "title": "examples shown (shots, log scale)", "tickvals": shots},
        yaxis={"title": ACCURACY_AXIS, "range": [-5, 105]},
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
    styles = _styles(summary)
    for key, rows in swept.sort_values("noise").groupby(["model", "probe", "setting", "mode"], sort=True):
        figure.add_trace(_line(rows, "noise", _name(rows.iloc[0], several), style=styles[key[:3]]))
    levels = sorted(float(f) for f in swept["noise"].unique() if not math.isnan(f))
    figure.update_layout(
        title=f"Accuracy against noisy examples ({shots} shown)",
        xaxis={"title": "share of shown examples with a wrong output", "tickvals": levels},
        yaxis={"title": ACCURACY_AXIS, "range": [-5, 105]},
        legend={"title": "mode · setting"},
    )
    return figure
