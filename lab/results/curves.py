"""Curves over the functions of the code modes: pass@k against k, accuracy by refinement round.

Pure functions: a table of `lab.results.sampling` in, a plotly Figure out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from lab.results.chart_layout import (
    ACCURACY_AXIS,
    accuracy_axis,
    empty_figure,
    error_bars,
    finish,
    grid,
    interval_note,
    model_subtitle,
    ordered,
)
from lab.results.sampling import BEST_FIT_SOLVES

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
    models, probes = ordered(frame["model_label"]), ordered(frame["probe"])
    fig = grid(models, probes)
    keys = ordered(
        f"{setting} · {mode}" for setting, mode in zip(frame["setting"], frame["mode"], strict=True)
    )
    colours = {key: _CURVE_COLOURS[i % len(_CURVE_COLOURS)] for i, key in enumerate(keys)}
    shown: set[str] = set()
    for row, model in enumerate(models, start=1):
        for col, probe in enumerate(probes, start=1):
            part = frame[(frame["model_label"] == model) & (frame["probe"] == probe)]
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
                        error_y=error_bars(rows["ci_low"], rows["value"], rows["ci_high"], colour)
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
    accuracy_axis(fig, headroom=False)
    fig.update_yaxes(title_text=ACCURACY_AXIS, col=1)
    finished = finish(
        fig, title, f"{subtitle} · {model_subtitle(models)}", len(models), legend_title="setting · mode"
    )
    low, high = frame[x].min(), frame[x].max()
    finished.update_xaxes(type="linear", range=[low - 0.3, high + 0.3])
    return finished


def pass_at_k_chart(sampling: pd.DataFrame) -> go.Figure:
    """pass@k per problem against k (a sample passes when right on every held-out case of its instance).

    The dashed line is how often the sample that fits the shown examples best solves its problem.
    """
    curves = sampling[
        (sampling["per"] == "problem") & (sampling["k"] >= 1) & sampling["measure"].str.startswith("pass@")
    ]
    if curves.empty:
        return empty_figure("No pass@k to show: run a code mode with more than one sample (--samples).")
    keys = ["model_label", "probe", "setting", "mode"]
    best = sampling[sampling["measure"] == BEST_FIT_SOLVES].set_index(keys)["value"]

    def describe(row: dict[str, Any]) -> str:
        chosen = best.get((row["model_label"], row["probe"], row["setting"], row["mode"]))
        return f"{row['instances']} instances · the best fit on the examples solves {chosen:.1%}"

    return _curves(
        curves,
        "k",
        "k (samples)",
        "pass@k over candidate functions",
        "per problem, unbiased estimator (Chen et al. 2021): a sample passes when right on every "
        "held-out case · "
        f"bars: {interval_note(curves['ci_method'])} · dashed: how often the sample that fits the shown "
        "examples best solves the problem",
        describe,
        level=best.to_dict(),
        level_name="best fit solves",
    )


def rounds_chart(rounds: pd.DataFrame) -> go.Figure:
    """Accuracy of the chosen function after each round of refinement on the failing examples."""
    if rounds.empty or rounds["round"].max() == 0:
        return empty_figure("No refinement to show: run a code mode with --rounds 1 or more.")
    frame = rounds.rename(columns={"accuracy": "value"})

    def describe(row: dict[str, Any]) -> str:
        return f"{row['correct']} of {row['n']} items correct · {row['refined']} function(s) of this round"

    return _curves(
        frame,
        "round",
        "refinement round",
        "Accuracy by refinement round",
        f"round 0: the chosen sample · bars: {interval_note(rounds['ci_method'])}",
        describe,
    )
