"""Plotly figure builders for the pages (one function per chart, each tested)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.ui.i18n import label, t
from app.ui.metrics import confidence

PALETTE = ["#2E6FDB", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1"]
SENTIMENT_COLOURS = {"negative": "#E15759", "neutral": "#BAB0AC", "positive": "#59A14F"}


def _layout(fig: go.Figure, title: str | None = None, height: int = 340,
            legend_beside: bool = False) -> go.Figure:  # fmt: skip
    """The charts' common look. The legend runs horizontally under the plot (below the x axis'
    title when there is one), or in a column beside it (``legend_beside``: every label of a long
    list stays readable)."""
    if legend_beside:
        legend = {"orientation": "v", "x": 1.02, "y": 0.5, "yanchor": "middle"}
    else:
        legend = {"orientation": "h", "y": -0.3 if fig.layout.xaxis.title.text else -0.15}
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        colorway=PALETTE,
        legend=legend,
        template="plotly_white",
    )
    return fig


def traffic_figure(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    value: str = "sessions",
    name: str | None = None,
    reference: pd.DataFrame | None = None,
    reference_name: str = "",
) -> go.Figure:
    """Daily traffic as a line and the 7-day forecast as a dashed line with its band; with
    ``reference``, a second (dotted) line, e.g. every shopper's traffic beside a segment's."""
    fig = go.Figure()
    fig.add_scatter(
        x=history["day"], y=history[value], mode="lines+markers", name=name or t(value.title())
    )
    if reference is not None:
        fig.add_scatter(
            x=reference["day"],
            y=reference[value],
            mode="lines",
            line={"dash": "dot"},
            name=reference_name,
        )
    if len(forecast):
        band_x = list(forecast["day"]) + list(forecast["day"])[::-1]
        band_y = list(forecast["upper"]) + list(forecast["lower"])[::-1]
        fig.add_scatter(
            x=band_x,
            y=band_y,
            fill="toself",
            fillcolor="rgba(46,111,219,0.12)",
            mode="lines",
            line={"width": 0},
            name=t("95% band"),
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=forecast["day"],
            y=forecast["forecast"],
            mode="lines",
            line={"dash": "dash"},
            name=t("Forecast"),
        )
    return _layout(fig)


def funnel_figure(funnel: pd.DataFrame) -> go.Figure:
    """Grouped bars of sessions that viewed, carted and bought, per group."""
    fig = go.Figure()
    for stage in ("view", "cart", "purchase"):
        fig.add_bar(x=funnel["group"].astype(str), y=funnel[stage], name=label(stage))
    fig.update_layout(barmode="group", yaxis_title=t("sessions"), xaxis_type="category")
    return _layout(fig)


def funnel_totals_figure(view: int, cart: int, purchase: int) -> go.Figure:
    """The overall view -> cart -> purchase funnel."""
    fig = go.Figure(
        go.Funnel(
            y=[label("view"), label("cart"), label("purchase")],
            x=[view, cart, purchase],
            textinfo="value+percent initial",
        )
    )
    return _layout(fig, height=260)


def _percent_text(values: np.ndarray) -> np.ndarray:
    """``"42.1%"`` for each share, empty where there is no value (no ``NaN%`` in cells)."""
    out = np.full(values.shape, "", dtype=object)
    known = ~np.isnan(values.astype(float))
    out[known] = [f"{v * 100:.1f}%" for v in values[known]]
    return out


def cohort_heatmap(cohorts: pd.DataFrame) -> go.Figure:
    """Retention by weekly cohort (rows) and weeks since first visit (columns)."""
    table = cohorts.pivot(index="cohort", columns="week", values="retention").sort_index()
    labels = [pd.Timestamp(c).strftime("%Y-%m-%d") for c in table.index]
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=[t("week {n}", n=w) for w in table.columns],
            y=labels,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            text=_percent_text(table.to_numpy()),
            texttemplate="%{text}",
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, height=max(220, 40 * len(labels) + 80))


def bar_figure(
    labels: Sequence[str], values: Sequence[float], orientation: str = "h", value_title: str = ""
) -> go.Figure:
    """A simple bar chart (horizontal by default, largest on top)."""
    if orientation == "h":
        fig = go.Figure(
            go.Bar(x=list(values)[::-1], y=[str(v) for v in labels][::-1], orientation="h")
        )
        fig.update_xaxes(title=value_title)
    else:
        fig = go.Figure(go.Bar(x=[str(v) for v in labels], y=list(values)))
        fig.update_yaxes(title=value_title)
    return _layout(fig, height=max(240, 26 * len(labels) + 60))


def histogram_figure(values: pd.Series, title: str, bins: int = 20) -> go.Figure:
    """A histogram over [0, 1] (for probabilities)."""
    fig = go.Figure(go.Histogram(x=values, xbins={"start": 0, "end": 1, "size": 1 / bins}))
    fig.update_xaxes(title=title, range=[0, 1])
    fig.update_yaxes(title=t("count"))
    return _layout(fig, height=280)


def binned_histogram_figure(spread: pd.DataFrame, title: str) -> go.Figure:
    """A histogram already counted into bins (columns ``low``, ``high``, ``rows``)."""
    centres = (spread["low"] + spread["high"]) / 2
    fig = go.Figure(go.Bar(x=centres, y=spread["rows"], width=spread["high"] - spread["low"]))
    fig.update_xaxes(title=title, range=[0, 1])
    fig.update_yaxes(title=t("count"))
    return _layout(fig, height=280)


def trend_figure(
    df: pd.DataFrame, x: str, y: str, colour: str | None = None, y_title: str = "",
    band: tuple[str, str] | None = None,
) -> go.Figure:  # fmt: skip
    """One line per value of ``colour`` (or one line); ``band`` names the low/high columns of
    a 95 % interval drawn as a shaded band around each line."""
    fig = go.Figure()
    groups = df.groupby(colour, sort=True) if colour else [("", df)]
    for number, (name, part) in enumerate(groups):
        colour_of_line = PALETTE[number % len(PALETTE)]
        if band:
            fig.add_scatter(x=list(part[x]) + list(part[x])[::-1],
                            y=list(part[band[1]]) + list(part[band[0]])[::-1],
                            fill="toself", fillcolor=colour_of_line, opacity=0.15,
                            line={"width": 0}, hoverinfo="skip", showlegend=False)  # fmt: skip
        # past the palette's colours, lines repeat a colour dotted, then dashed
        dash = ("solid", "dot", "dash")[min(number // len(PALETTE), 2)]
        fig.add_scatter(x=part[x], y=part[y], mode="lines+markers", name=str(name) or y,
                        line={"color": colour_of_line, "dash": dash})  # fmt: skip
    fig.update_yaxes(title=y_title)
    only = pd.to_datetime(pd.Series(df[x].unique()), errors="coerce") if len(df) else None
    if only is not None and len(only) == 1 and not pd.isna(only.iloc[0]):
        # one day alone: a day either side, with day ticks (not milliseconds around it)
        day = pd.Timedelta(days=1)
        fig.update_xaxes(range=[only.iloc[0] - day, only.iloc[0] + day], dtick=day.total_seconds()
                         * 1000, tickformat="%d %b %Y")  # fmt: skip
    return _layout(fig)


def mix_figure(counts: pd.Series, colours: dict[str, str] | None = None) -> go.Figure:
    """A donut of label shares."""
    labels = [str(k) for k in counts.index]
    marker = {"colors": [colours.get(k, "#999") for k in labels]} if colours else None
    fig = go.Figure(
        go.Pie(
            labels=[label(k) for k in labels],
            values=counts.to_numpy(),
            hole=0.5,
            marker=marker,
            sort=False,
        )
    )
    # every label in a column beside the donut (under it, a long list was cut short)
    return _layout(fig, height=max(300, 22 * len(labels) + 40), legend_beside=True)


def confusion_matrix(pairs: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Counts of true label (rows) by predicted label (columns), in ``labels`` order."""
    table = pd.crosstab(pairs["label"], pairs["predicted"])
    return (
        table.reindex(index=list(labels), columns=list(labels), fill_value=0).fillna(0).astype(int)
    )


def confusion_figure(matrix: pd.DataFrame) -> go.Figure:
    """A heatmap of a confusion matrix, each row shaded by its share of the true label."""
    counts = matrix.to_numpy()
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=list(matrix.columns),
            y=list(matrix.index),
            colorscale="Blues",
            zmin=0,
            zmax=1,
            text=counts,
            texttemplate="%{text}",
            showscale=False,
            hovertemplate=t("true %{y}, predicted %{x}: %{text}") + "<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("predicted"), type="category")
    fig.update_yaxes(title=t("true"), autorange="reversed", type="category")
    return _layout(fig, height=max(300, 28 * len(matrix) + 120))


def calibration_bins(pairs: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per confidence bin, mean confidence, accuracy and count.

    ``pairs`` has ``label`` (true), ``predicted`` and ``probs`` (JSON text or dict).
    """
    conf = confidence(pairs["probs"])
    correct = (pairs["label"] == pairs["predicted"]).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    df = pd.DataFrame({"bin": which, "confidence": conf, "correct": correct})
    out = (
        df.groupby("bin")
        .agg(
            confidence=("confidence", "mean"),
            accuracy=("correct", "mean"),
            count=("correct", "size"),
        )
        .reset_index()
    )
    return out


def calibration_figure(table: pd.DataFrame, x_title: str | None = None,
                       y_title: str | None = None) -> go.Figure:  # fmt: skip
    """Accuracy against confidence per bin (or, for a forecast, the observed rate against the
    predicted probability), with the diagonal of a perfectly calibrated model."""
    x_title, y_title = x_title or t("confidence"), y_title or t("accuracy")
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"dash": "dot", "color": "#999"},
        name=t("perfectly calibrated"),
    )
    fig.add_scatter(
        x=table["confidence"],
        y=table["accuracy"],
        mode="lines+markers",
        marker={"size": np.clip(np.sqrt(table["count"]) * 2, 6, 24)},
        name=t("model"),
        text=table["count"],
        hovertemplate=f"{x_title} %{{x:.2f}}, {y_title} %{{y:.2f}}, n=%{{text}}<extra></extra>",
    )
    fig.update_xaxes(title=x_title, range=[0, 1])
    fig.update_yaxes(title=y_title, range=[0, 1])
    return _layout(fig, height=320)
