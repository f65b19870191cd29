"""The plotly figure builders of lab.results (charts, curves), on tables computed by lab.results.stats."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import pytest

from lab.results import chart_layout, charts, curves, sampling, stats
from lab.results.read import item_frame
from lab.tasks.modes import MODE_ORDER

SETTINGS = {
    "arithmetic": [
        ("base=10,digits=2", True),
        ("base=8,digits=2", False),
        ("base=16,digits=2", False),
        ("base=9,digits=2", False),
    ],
    "cipher": [("cipher=caesar,shift=13", True), ("cipher=caesar,shift=3", False), ("cipher=atbash", False)],
}


def items(modes: tuple[str, ...] = MODE_ORDER, models: tuple[str, ...] = ("m1",), n: int = 6) -> pd.DataFrame:
    """Synthetic scored items: accuracy falls with the setting's position and differs by mode."""
    rows = []
    for model in models:
        for probe, settings in SETTINGS.items():
            for position, (setting, default_world) in enumerate(settings):
                for rank, mode in enumerate(modes):
                    right = max(0, n - position - rank % 3)
                    for case in range(n):
                        rows.append(
                            {
                                "run_id": "r1",
                                "model": model,
                                "probe": probe,
                                "setting": setting,
                                "default_world": default_world,
                                "mode": mode,
                                "instance": 0,
                                "case_index": case,
                                "input": f"x{case}",
                                "expected": "y",
                                "predicted": "y" if case < right else "z",
                                "correct": case < right,
                                "error": None,
                            }
                        )
    return item_frame(rows)


def traces_by_mode(figure: go.Figure) -> dict[str, list]:
    out: dict[str, list] = {}
    for trace in figure.data:
        out.setdefault(trace.legendgroup, []).append(trace)
    return out


def colour(trace) -> str:
    return trace.marker.color if trace.type == "bar" else trace.line.color


def test_every_mode_has_its_own_fixed_colour() -> None:
    assert set(charts.MODE_COLOURS) == set(MODE_ORDER)
    assert len(set(charts.MODE_COLOURS.values())) == len(MODE_ORDER)
    assert set(chart_layout.CHART_MODE_ORDER) == set(MODE_ORDER)


@pytest.mark.parametrize(
    "modes", [MODE_ORDER, ("deductive", "solverlearner"), ("io_rule", "io"), ("deductive_code",)]
)
def test_a_mode_keeps_its_colour_whatever_else_is_shown_and_in_every_chart(modes: tuple[str, ...]) -> None:
    summary = stats.summary(items(modes))
    figures = [
        charts.accuracy_by_setting(summary),
        charts.accuracy_by_parameter(summary),
        charts.drop_chart(stats.counterfactual_drop(items(modes))),
    ]
    for figure in figures:
        by_mode = traces_by_mode(figure)
        assert set(by_mode) == set(modes)
        for mode, traces in by_mode.items():
            assert {colour(t) for t in traces} == {charts.MODE_COLOURS[mode]}, figure.layout.title.text
    heatmap = charts.accuracy_heatmap(summary)
    for mode in modes:
        assert any(charts.MODE_COLOURS[mode] in label and mode in label for label in heatmap.data[0].y)


def test_the_headline_has_bars_side_by_side_with_95_percent_intervals() -> None:
    summary = stats.summary(items())
    figure = charts.accuracy_by_setting(summary)
    assert figure.layout.barmode == "group"
    bars = [t for t in figure.data if t.type == "bar"]
    assert len(bars) == len(SETTINGS) * len(MODE_ORDER)  # one trace per probe column and mode
    for trace in bars:
        rows = summary[(summary["mode"] == trace.legendgroup)]
        assert trace.error_y.visible and trace.error_y.symmetric is False
        probe_rows = rows[rows["accuracy"].isin(trace.y)]
        assert not probe_rows.empty
        for y, plus, minus in zip(trace.y, trace.error_y.array, trace.error_y.arrayminus, strict=True):
            match = rows[(rows["accuracy"] - y).abs() < 1e-12].iloc[0]
            assert math.isclose(y + plus, match["ci_high"]) and math.isclose(y - minus, match["ci_low"])
    # The legend says which modes are inductive and which state the rule.
    names = {t.legendgroup: t.name for t in bars}
    assert names["solverlearner"] == "solverlearner (inductive, writes code)"
    assert names["deductive"] == "deductive (rule stated)"
    assert names["io_rule"] == "io_rule (rule + examples)"
    assert sum(t.showlegend is not False for t in bars) == len(MODE_ORDER)
    assert figure.layout.yaxis.title.text == charts.ACCURACY_AXIS
    assert figure.layout.yaxis.tickformat == ".0%"


def test_the_default_world_is_marked_apart() -> None:
    figure = charts.accuracy_by_setting(stats.summary(items()))
    # First column (arithmetic): the default world's tick leads, in bold with a star, on a grey band.
    assert list(figure.layout.xaxis.categoryarray) == ["<b>10 ★</b>", "8", "9", "16"]
    assert list(figure.layout.xaxis2.categoryarray) == ["<b>caesar 13 ★</b>", "atbash", "caesar 3"]
    bands = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [(s.xref, s.x0, s.x1) for s in bands] == [("x", -0.5, 0.5), ("x2", -0.5, 0.5)]
    assert sum(a.text == chart_layout.DEFAULT_WORLD for a in figure.layout.annotations) == 2
    assert figure.layout.xaxis.title.text == "base" and figure.layout.xaxis2.title.text == "cipher, shift"


def test_accuracy_against_the_parameter_runs_in_value_order_with_the_default_as_a_star() -> None:
    figure = charts.accuracy_by_parameter(stats.summary(items(("deductive", "solverlearner"))))
    assert list(figure.layout.xaxis.categoryarray) == ["8", "9", "<b>10 ★</b>", "16"]
    line = next(t for t in figure.data if t.legendgroup == "deductive" and t.xaxis == "x")
    assert line.mode == "lines+markers" and list(line.x) == ["8", "9", "<b>10 ★</b>", "16"]
    assert list(line.marker.symbol) == ["circle", "circle", "star", "circle"]
    assert line.error_y.visible
    lines = [s for s in figure.layout.shapes if s.type == "line"]
    assert [(s.xref, s.x0) for s in lines] == [("x", 2), ("x2", 2)]


def test_several_models_get_one_row_each() -> None:
    figure = charts.accuracy_by_setting(stats.summary(items(("deductive",), models=("m1", "m2"))))
    assert {t.yaxis for t in figure.data} == {"y", "y2", "y3", "y4"}
    assert {a.text for a in figure.layout.annotations} >= {"m1", "m2"}


def test_the_gap_chart_shows_each_comparison_with_its_interval_in_its_inductive_colour() -> None:
    gaps = stats.gaps(items())
    figure = charts.gap_chart(gaps)
    by_comparison = traces_by_mode(figure)
    assert set(by_comparison) == {"solverlearner − deductive", "io − io_rule"}
    inductive_of = {"solverlearner − deductive": "solverlearner", "io − io_rule": "io"}
    for comparison, traces in by_comparison.items():
        inductive = inductive_of[comparison]
        for trace in traces:
            assert trace.marker.color == charts.MODE_COLOURS[inductive]
            assert trace.error_y.visible
            for y, plus, minus in zip(trace.y, trace.error_y.array, trace.error_y.arrayminus, strict=True):
                assert minus >= 0 and plus >= 0 and -1 <= y - minus <= y + plus <= 1
    assert figure.layout.yaxis.title.text == charts.GAP_AXIS
    assert "+50 pp" in figure.layout.yaxis.ticktext
    # Both kinds of paired interval are named: one pair has a code mode, the other has none.
    assert "cluster bootstrap over instances (code modes)" in figure.layout.title.text
    assert "Newcombe paired" in figure.layout.title.text


def test_every_chart_names_the_interval_it_draws() -> None:
    direct = stats.summary(items(("deductive", "io")))
    mixed = stats.summary(items(("deductive", "solverlearner")))
    code = stats.summary(items(("solverlearner",)))
    for chart in (charts.accuracy_by_setting, charts.accuracy_by_parameter):
        assert "95% interval: Wilson over items" in chart(direct).layout.title.text
        assert "bootstrap" not in chart(direct).layout.title.text
        title = chart(mixed).layout.title.text
        assert "Wilson over items, cluster bootstrap over instances (code modes)" in title
        assert "Wilson" not in chart(code).layout.title.text
    drops = charts.drop_chart(stats.counterfactual_drop(items(("deductive", "solverlearner"))))
    assert "MOVER-Wilson, cluster bootstrap over instances" in drops.layout.title.text
    # A bar's hover names its own interval.
    bars = {t.legendgroup: t for t in charts.accuracy_by_setting(mixed).data if t.type == "bar"}
    assert bars["deductive"].customdata[0][5] == "Wilson over items"
    assert bars["solverlearner"].customdata[0][5] == "cluster bootstrap over instances"


def test_charts_name_models_by_their_label_and_never_parse_it() -> None:
    frame = items(("deductive",))
    frame["model_label"] = "m1 [r1]"
    figure = charts.accuracy_by_setting(stats.summary(frame))
    assert "model: m1 [r1]" in figure.layout.title.text


def test_the_heatmap_holds_every_accuracy_of_the_summary() -> None:
    summary = stats.summary(items(("deductive", "io")))
    heatmap = charts.accuracy_heatmap(summary).data[0]
    assert len(heatmap.y) == 2 and len(heatmap.x) == len(summary) // 2
    values = sorted(v for row in heatmap.z for v in row)
    assert values == sorted(summary["accuracy"].tolist())
    assert heatmap.zmin == 0 and heatmap.zmax == 1
    assert any("★" in label for label in heatmap.x)


def test_two_default_worlds_of_one_family_are_both_marked() -> None:
    frame = items(("deductive",))
    frame.loc[frame["setting"] == "base=8,digits=2", "default_world"] = True
    axis = charts.setting_axis(stats.summary(frame)[lambda s: s["probe"] == "arithmetic"])
    assert axis.defaults == ("base=8,digits=2", "base=10,digits=2")
    assert axis.tick_order() == ["<b>8 ★</b>", "<b>10 ★</b>", "9", "16"]
    figure = charts.accuracy_by_setting(stats.summary(frame))
    assert [s.x0 for s in figure.layout.shapes if s.xref == "x"] == [-0.5, 0.5]


def test_empty_tables_give_a_figure_that_says_so() -> None:
    empty = stats.summary(items().iloc[0:0])
    for figure in (
        charts.accuracy_by_setting(empty),
        charts.accuracy_by_parameter(empty),
        charts.accuracy_heatmap(empty),
        charts.gap_chart(stats.gaps(items().iloc[0:0])),
        charts.drop_chart(stats.counterfactual_drop(items().iloc[0:0])),
    ):
        assert not figure.data and figure.layout.annotations[0].text


def test_figures_html_is_one_offline_page_with_every_chart() -> None:
    summary = stats.summary(items(("deductive", "solverlearner")))
    page = charts.figures_html(
        {
            "Accuracy per setting": charts.accuracy_by_setting(summary),
            "Heatmap": charts.accuracy_heatmap(summary),
        },
        "Run <r1>",
    )
    assert page.startswith("<!DOCTYPE html>") and "<title>Run &lt;r1&gt;</title>" in page
    assert page.count("<h2>") == 2 and page.count('class="plotly-graph-div"') == 2
    assert page.count("plotly.js v") == 1  # the library is embedded once, so the file works offline
    assert "cdn.plot.ly" not in page.split("plotly.js v")[0]


def test_chart_config_names_the_png_file() -> None:
    config = charts.chart_config("solverlab-headline")
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "solverlab-headline", "scale": 2}


def function_rows(samples: int, rounds_used: dict[int, int], cases: int = 4) -> pd.DataFrame:
    """Instance i: sample s passes the cases below s + i; the chosen sample refines `rounds_used[i]` times."""
    rows = []
    for instance, refinements in rounds_used.items():
        for sample in range(samples):
            failed = list(range(min(cases, sample + instance), cases))
            rows.append((instance, sample, 0, sample == samples - 1, failed))
        for round_ in range(1, refinements + 1):
            rows.append((instance, samples - 1, round_, True, []))
    return pd.DataFrame(
        [
            {
                "run_id": "r1",
                "model": "m1",
                "probe": "arithmetic",
                "setting": "base=9,digits=2",
                "mode": "solverlearner",
                "instance": instance,
                "sample": sample,
                "round": round_,
                "chosen": int(chosen),
                "cases": cases,
                "held_out_failed": failed,
            }
            for instance, sample, round_, chosen, failed in rows
        ]
    )


def test_pass_at_k_chart_draws_one_rising_curve_per_setting_and_mode() -> None:
    sampled = sampling.sampling(function_rows(samples=3, rounds_used={0: 0, 1: 0}))
    fig = curves.pass_at_k_chart(sampled)
    curve, best = fig.data
    assert list(curve.x) == [1, 2, 3]
    per_problem = sampled[sampled["per"] == sampling.PER_PROBLEM]
    assert (
        list(curve.y) == sorted(curve.y)
        and curve.y[-1] == per_problem.loc[per_problem["k"] == 3, "value"].item()
    )
    assert curve.error_y.visible  # pass@k per problem comes with its interval
    best_fit = sampled.loc[sampled["measure"] == sampling.BEST_FIT_SOLVES, "value"].item()
    assert best.line.dash == "dash" and list(best.y) == [best_fit, best_fit] and list(best.x) == [1, 3]
    assert "pass@k" in fig.layout.title.text


def test_rounds_chart_carries_units_that_stopped_refining() -> None:
    refined = sampling.rounds(function_rows(samples=1, rounds_used={0: 2, 1: 0}))
    fig = curves.rounds_chart(refined)
    (curve,) = [t for t in fig.data if t.type == "scatter"]
    assert list(curve.x) == [0, 1, 2]
    # Instance 0 passes no case at round 0 and all after; instance 1 passes 1 of 4 throughout.
    assert list(curve.y) == [1 / 8, 5 / 8, 5 / 8]
    assert refined["refined"].tolist() == [2, 1, 1]


def test_new_charts_explain_what_to_run_when_there_is_nothing_to_show() -> None:
    summary = stats.summary(items(modes=("deductive", "solverlearner")))
    empty_functions = sampling.function_frame([])
    for fig, hint in (
        (charts.comprehension_chart(summary), "ccc"),
        (curves.pass_at_k_chart(sampling.sampling(empty_functions)), "--samples"),
        (curves.rounds_chart(sampling.rounds(empty_functions)), "--rounds"),
        (curves.rounds_chart(sampling.rounds(function_rows(samples=2, rounds_used={0: 0}))), "--rounds"),
    ):
        assert hint in fig.layout.annotations[0].text


def test_comprehension_chart_puts_deductive_and_check_bars_side_by_side() -> None:
    fig = charts.comprehension_chart(stats.summary(items(modes=("deductive", "ccc", "io"))))
    assert {t.legendgroup for t in fig.data if t.type == "bar"} == {"deductive", "ccc"}


def test_an_unordered_parameter_gets_markers_and_a_numeric_one_lines() -> None:
    figure = charts.accuracy_by_parameter(stats.summary(items(("deductive",))))
    by_axis = {trace.xaxis: trace.mode for trace in figure.data}
    assert by_axis == {"x": "lines+markers", "x2": "markers"}  # base is a number; caesar 3 / atbash are not
    assert "lines where the parameter is a number" in figure.layout.title.text
    cipher_only = stats.summary(items(("deductive",))).query("probe == 'cipher'")
    assert {t.mode for t in charts.accuracy_by_parameter(cipher_only).data} == {"markers"}


def test_row_titles_of_four_long_labels_are_written_across_and_do_not_meet() -> None:
    labels = [f"openai/a-rather-long-model-name-{i} - 2026-11-30 - r{i}" for i in range(4)]
    frame = pd.concat([items(("deductive",), models=(label,)) for label in labels], ignore_index=True)
    figure = charts.accuracy_by_setting(stats.summary(frame))
    titles = [note for note in figure.layout.annotations if note.name == chart_layout.ROW_TITLE]
    assert len(titles) == 4
    assert all(note.textangle == 0 and note.xanchor == "left" and note.x == 1.0 for note in titles)
    whole = [note.text.replace("<br>", "").replace(" ", "") for note in titles]
    assert whole == [label.replace(" ", "") for label in labels]  # wrapped, not cut
    row_height = figure.layout.height / 4
    for note in titles:
        lines = note.text.split("<br>")
        assert max(map(len, lines)) <= chart_layout.ROW_TITLE_WRAP
        assert len(lines) * 1.3 * note.font.size < row_height  # each fits beside its own row
    assert figure.layout.margin.r == chart_layout.ROW_TITLE_MARGIN


def test_long_labels_are_cut_in_the_middle_so_runs_of_one_model_stay_apart() -> None:
    from lab.results.chart_layout import short_model

    a = "openai/gpt-4o-mini-2024-07-18 - 2026-11-30 - 3f2a"
    b = "openai/gpt-4o-mini-2024-07-18 - 2026-11-30 - 9c1d"
    assert len(short_model(a, 30)) == 30 and short_model(a, 30) != short_model(b, 30)
    assert short_model(a, 30).endswith("3f2a") and short_model(a, 30).startswith("openai/")
    assert short_model("gpt-4", 30) == "gpt-4"
