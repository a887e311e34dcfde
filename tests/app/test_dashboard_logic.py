"""The tested logic behind the pages: KPI changes, indexes, forecast, segments, export, needs,
highlights and charts."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from app.ui import charts
from app.ui.highlight import highlight_html
from app.ui.metrics import (
    Kpi,
    class_probability,
    confidence,
    counts_over_time,
    demand_index,
    rating_disagreements,
    sentiment_index,
    time_bucket,
    worsening_products,
    worst_products,
)
from app.ui.segments import SegmentRule, build_segment, make_inert, portrait, segment_csv
from core.forecast import forecast_daily
from core.stats import welch_p_value, wilson_interval

pytestmark = pytest.mark.unit


def test_kpi_deltas_by_kind() -> None:
    assert Kpi("Sessions", 120, 100).formatted_delta() == "+20.0%"
    assert Kpi("Conversion", 0.05, 0.04, "percent").formatted_delta() == "+1.0 pp"
    assert Kpi("Sentiment", 0.1, 0.3, "index").formatted_delta() == "-0.20"
    assert Kpi("Sessions", 5, 0).delta is None  # no base for a relative change
    assert Kpi("AOV", None, 12.0, "money").formatted() == "–"
    assert Kpi("AOV", 1234.5, None, "money").formatted() == "1,234.50"


def test_sentiment_and_demand_index() -> None:
    labels = pd.Series(["positive"] * 6 + ["negative"] * 2 + ["neutral"] * 2)
    assert sentiment_index(labels) == pytest.approx(0.4)
    assert sentiment_index(pd.Series([], dtype=str)) is None
    sentences = pd.DataFrame(
        {"review_id": ["a", "a", "b", "c"], "label": ["praise", "complaint", "praise", "question"]}
    )
    assert demand_index(sentences) == pytest.approx(2 / 3)


def test_confidence_and_class_probability_read_stored_json() -> None:
    probs = pd.Series([json.dumps({"a": 0.2, "b": 0.8}), None])
    assert confidence(probs).iloc[0] == pytest.approx(0.8)
    assert np.isnan(confidence(probs).iloc[1])
    assert class_probability(probs, "a").iloc[0] == pytest.approx(0.2)


def _reviews(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["review_id", "item_id", "title", "category", "rating", "label", "confidence"]
    )


def _many(item: str, labels: list[str], start: int = 0) -> list[tuple]:
    return [
        (str(start + i), item, item.upper(), "c", 3, label, 0.9) for i, label in enumerate(labels)
    ]


def test_worsening_products_need_support_in_both_periods_and_a_significant_fall() -> None:
    before = _reviews(_many("x", ["positive"] * 8 + ["neutral"] * 2)
                      + _many("y", ["positive"] * 2, 100)  # too few reviews before
                      + _many("z", ["positive"] * 3 + ["negative"] * 3, 200))  # fmt: skip
    now = _reviews(
        _many("x", ["negative"] * 6 + ["positive"] * 2, 300)
        + _many("y", ["negative"] * 9, 400)
        + _many("z", ["positive"] * 2 + ["negative"] * 4, 500)
    )  # a fall, not significant
    worse = worsening_products(now, before)
    assert worse["item_id"].tolist() == ["x"]
    assert worse.loc[0, "change"] == pytest.approx((2 - 6) / 8 - 0.8)
    assert worse.loc[0, "p_value"] < 0.01
    z_p = welch_p_value([1] * 2 + [-1] * 4, [1] * 3 + [-1] * 3)
    assert z_p > 0.05  # z fell by 0.33 on 6 reviews: chance


def test_worst_products_rank_by_the_upper_bound_not_the_raw_rate() -> None:
    reviews = _reviews(_many("few", ["negative"] * 3 + ["neutral"] * 2)  # index -0.6 from 5
                       + _many("many", ["negative"] * 30 + ["positive"] * 10, 100)  # -0.5 from 40
                       + _many("tiny", ["negative"] * 2, 200))  # fmt: skip
    ranked = worst_products(reviews)
    assert ranked["item_id"].tolist() == ["many", "few"]  # tiny lacks support; many is surer
    row = ranked.iloc[0]
    assert row["sentiment_index"] == pytest.approx(-0.5)
    assert row["low"] < -0.5 < row["high"] < -0.2
    assert row["reviews"] == 40


def test_wilson_interval_values() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(2, 2)
    assert low == pytest.approx(0.3424, abs=1e-4) and high == 1.0  # 2 of 2 is not "100 %"


def test_daily_trends_go_weekly_when_lines_are_thin() -> None:
    ts = pd.Series(pd.to_datetime(["2024-01-03", "2024-01-04"]))  # a Wednesday and a Thursday
    assert time_bucket(ts, 14, rows_per_day=50).dt.day.tolist() == [3, 4]
    assert time_bucket(ts, 28, rows_per_day=3).dt.day.tolist() == [1, 1]  # the Monday
    # by week, a period under three weeks would be one or two points: it stays daily
    assert time_bucket(ts, 14, rows_per_day=3).dt.day.tolist() == [3, 4]


def test_counts_over_time_fill_missing_days_with_zero_and_go_weekly_when_thin() -> None:
    busy = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01"] * 150 + ["2024-01-03"] * 130),
                         "kind": ["a"] * 140 + ["b"] * 10 + ["a"] * 130})  # fmt: skip
    out = counts_over_time(busy, "ts", "kind", days_in_period=7, name="n")
    assert out[out["kind"] == "b"]["n"].tolist() == [10, 0]  # 2024-01-03 has no b: 0, not a gap
    assert out["n"].sum() == 280
    thin = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03"]),
                         "kind": ["a", "b", "a"]})  # fmt: skip
    out = counts_over_time(thin, "ts", "kind", days_in_period=28, name="n")
    assert out["bucket"].nunique() == 1 and out[out["kind"] == "a"]["n"].tolist() == [2]
    out = counts_over_time(thin, "ts", "kind", days_in_period=7, name="n")  # a week: by day
    assert out["bucket"].nunique() == 2 and out[out["kind"] == "a"]["n"].tolist() == [1, 1]


def test_rating_disagreements_flag_contradictions() -> None:
    reviews = _reviews([("a", "x", "X", "c", 5, "negative", 0.5), ("b", "x", "X", "c", 4, "neutral", 0.9),
                        ("c", "x", "X", "c", 4, "neutral", 0.4), ("d", "x", "X", "c", 1, "negative", 0.9)])  # fmt: skip
    out = rating_disagreements(reviews)
    assert out["review_id"].tolist() == ["b", "a"]  # two steps apart, or one step and confident
    assert out.loc[0, "from_stars"] == "positive"


def test_forecast_follows_trend_and_weekday_pattern() -> None:
    days = pd.date_range("2024-01-01", periods=28)  # a Monday
    weekday_bump = np.where(days.weekday >= 5, 50.0, 0.0)
    history = pd.DataFrame({"day": days, "sessions": 100 + 2 * np.arange(28) + weekday_bump})
    fc = forecast_daily(history)
    assert len(fc) == 7 and fc["day"].iloc[0] == pd.Timestamp("2024-01-29")
    expected = 100 + 2 * np.arange(28, 35) + np.where(fc["day"].dt.weekday >= 5, 50.0, 0.0)
    assert np.allclose(fc["forecast"], expected)
    assert (fc["lower"] <= fc["forecast"]).all() and (fc["upper"] >= fc["forecast"]).all()
    assert forecast_daily(history.head(2)).empty


def _users() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["u1", "u2", "=cmd", "u4"], "sessions": [1, 5, 3, 2], "events": [3, 20, 9, 4],
        "carts": [0, 2, 1, 0], "purchases": [0, 1, 2, 0], "recency_days": [10, 1, 2, 30],
        "propensity": [0.1, 0.9, None, 0.5], "risk": [0.1, 0.2, 0.9, None],
        "reviews": [0, 1, 1, 0], "negative_share": [None, 0.0, 1.0, None],
        "top_intent": [None, "track_order", "get_refund", "track_order"], "needs": [0, 0, 2, 0],
    })  # fmt: skip


def test_build_segment_combines_behaviour_and_text_signals() -> None:
    users = _users()
    assert build_segment(users, SegmentRule(buyers=True))["user_id"].tolist() == ["u2", "=cmd"]
    assert build_segment(users, SegmentRule(min_propensity=0.5))["user_id"].tolist() == ["u2", "u4"]
    rule = SegmentRule(intents=("track_order",), max_recency_days=7)
    assert build_segment(users, rule)["user_id"].tolist() == ["u2"]
    assert build_segment(users, SegmentRule(with_needs=True, min_negative_share=0.5))[
        "user_id"
    ].tolist() == ["=cmd"]
    assert "bought in the period" in SegmentRule(buyers=True).describe()
    summary = portrait(build_segment(users, SegmentRule(buyers=True)), users)
    assert summary["shoppers"] == 2 and summary["share_of_active"] == 0.5
    assert summary["buyer_share"] == 1.0


def test_make_inert_prefixes_formula_starters() -> None:
    assert [make_inert(v) for v in ["=1+1", "+4", "-2", "@SUM", "ok", 5]] == [
        "'=1+1",
        "'+4",
        "'-2",
        "'@SUM",
        "ok",
        5,
    ]
    # what LibreOffice's "trim spaces" would evaluate: a formula behind blanks or invisibles
    hidden = [" =1+1", "\u00a0=HYPERLINK(1)", "\ufeff=1", "\u200b=cmd", " \u200b +1", "  ok"]
    assert [make_inert(v) for v in hidden] == ["'" + v for v in hidden[:-1]] + ["  ok"]


def test_segment_csv_has_bom_inert_cells_and_masked_pii() -> None:
    users = _users()
    users.loc[0, "user_id"] = "jane.doe@example.com"
    users.loc[1, "user_id"] = "john.doe@example.com"
    data = segment_csv(users, {"shoppers": 4, "note": "-risky"}, "every active shopper", b"k")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "user_id" and len(rows[0]) == users.shape[1]
    # an email used as the key becomes a stable pseudonym, never a shared placeholder
    assert (
        rows[1][0].startswith("id-") and rows[2][0].startswith("id-") and rows[1][0] != rows[2][0]
    )
    again = segment_csv(users, {}, "every active shopper", b"k").decode("utf-8-sig")
    assert rows[1][0] in again and "jane.doe" not in data.decode("utf-8-sig")
    assert rows[3][0] == "'=cmd"
    assert rows[3][6] == ""  # missing propensity is an empty cell
    blank = rows.index([])
    assert blank == 5 and rows[blank + 1] == ["summary", "value"]
    summary = dict(r for r in rows[blank + 2 :])
    assert summary == {"segment": "every active shopper", "shoppers": "4", "note": "'-risky"}


def test_highlight_html_escapes_and_shades() -> None:
    html = highlight_html(["great", "<script>"], [2.0, -1.0])
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "rgba(46,160,67,1.00)" in html and "rgba(215,58,73,0.50)" in html
    with pytest.raises(ValueError):
        highlight_html(["a"], [])


def test_confusion_matrix_and_calibration_bins() -> None:
    pairs = pd.DataFrame({
        "label": ["a", "a", "b", "b"], "predicted": ["a", "b", "b", "b"],
        "probs": [json.dumps({"a": 0.95, "b": 0.05}), json.dumps({"a": 0.45, "b": 0.55}),
                  json.dumps({"a": 0.1, "b": 0.9}), json.dumps({"a": 0.4, "b": 0.6})],
    })  # fmt: skip
    matrix = charts.confusion_matrix(pairs, ["a", "b"])
    assert matrix.to_numpy().tolist() == [[1, 1], [0, 2]]
    bins = charts.calibration_bins(pairs, bins=4)
    assert bins["bin"].tolist() == [2, 3] and bins["count"].tolist() == [2, 2]  # .55 .6 | .9 .95
    assert bins["accuracy"].tolist() == pytest.approx([0.5, 1.0])
    fig = charts.confusion_figure(matrix)
    assert fig.data[0].type == "heatmap"
    calibration = charts.calibration_figure(bins)
    assert len(calibration.data) == 2
    # the legend sits below the x axis' title, not on it; without a title, just under the axis
    untitled = charts.traffic_figure(
        pd.DataFrame({"day": pd.date_range("2024-01-01", periods=5), "sessions": range(5)}),
        pd.DataFrame(columns=["day", "forecast", "lower", "upper"]),
    )
    assert calibration.layout.legend.y < untitled.layout.legend.y


def test_a_trend_of_one_day_shows_that_day_with_a_day_either_side() -> None:
    one = pd.DataFrame({"bucket": pd.to_datetime(["2026-10-26"] * 2), "kind": ["a", "b"],
                        "n": [3, 4]})  # fmt: skip
    axis = charts.trend_figure(one, "bucket", "n", "kind").layout.xaxis
    assert [pd.Timestamp(v) for v in axis.range] == [pd.Timestamp("2026-10-25"),
                                                     pd.Timestamp("2026-10-27")]  # fmt: skip
    two = one.assign(bucket=pd.to_datetime(["2026-10-26", "2026-10-27"]))
    assert charts.trend_figure(two, "bucket", "n", "kind").layout.xaxis.range is None


def test_many_lines_and_slices_stay_apart() -> None:
    many = pd.DataFrame({"day": pd.to_datetime(["2026-10-26", "2026-10-27"] * 9),
                         "kind": [f"k{i // 2}" for i in range(18)], "n": range(18)})  # fmt: skip
    lines = charts.trend_figure(many, "day", "n", "kind").data
    styles = {(line.line.color, line.line.dash) for line in lines}
    assert len(lines) == 9 and len(styles) == 9  # past the palette, a colour comes back dotted
    donut = charts.mix_figure(pd.Series(range(1, 12), index=[f"c{i}" for i in range(11)]))
    assert donut.layout.legend.orientation == "v" and donut.layout.height >= 22 * 11


def test_figures_carry_their_data() -> None:
    history = pd.DataFrame(
        {"day": pd.date_range("2024-01-01", periods=5), "sessions": [1, 2, 3, 4, 5]}
    )
    fig = charts.traffic_figure(history, forecast_daily(history))
    assert [t.name for t in fig.data] == ["Sessions", "95% band", "Forecast"]
    funnel = pd.DataFrame({"group": ["x"], "view": [10], "cart": [4], "purchase": [1]})
    assert [list(t.y) for t in charts.funnel_figure(funnel).data] == [[10], [4], [1]]
    cohorts = pd.DataFrame({"cohort": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08"]),
                            "week": [0, 1, 0], "retention": [1.0, 0.5, 1.0]})  # fmt: skip
    spread = pd.DataFrame({"low": [0.0, 0.5], "high": [0.5, 1.0], "rows": [3, 7]})
    bars = charts.binned_histogram_figure(spread, "p").data[0]
    assert list(bars.x) == [0.25, 0.75] and list(bars.y) == [3, 7]
    heat = charts.cohort_heatmap(cohorts).data[0]
    assert heat.z.shape == (2, 2)
    assert heat.text.tolist() == [["100.0%", "50.0%"], ["100.0%", ""]]


def test_segments_carry_the_aspects_shoppers_complained_about() -> None:
    from app.ui.segments import with_aspects

    users = _users()
    ids = users["user_id"].tolist()
    mentions = pd.DataFrame({
        "user_id": [ids[0], ids[0], ids[0], ids[1]],
        "aspect": ["size_fit", "size_fit", "fabric", "colour"],
        "polarity": ["negative", "negative", "negative", "positive"],
    })  # fmt: skip
    out = with_aspects(users, mentions)
    assert out["complains_about"].tolist()[:2] == ["size_fit, fabric", ""]
    assert out["praises"].tolist()[:2] == ["", "colour"]
    segment = build_segment(out, SegmentRule(complained_about=("fabric",)))
    assert segment["user_id"].tolist() == [ids[0]]
    assert "complained about fabric" in SegmentRule(complained_about=("fabric",)).describe()
    assert with_aspects(users, mentions.iloc[0:0])["complains_about"].eq("").all()


def test_a_long_or_several_part_prediction_is_written_out_in_full() -> None:
    from app.ui.explain_view import CARD_CHARACTERS, _markdown_text, readable_label

    assert readable_label("colour:positive;size_fit:negative") == [
        "colour: positive",
        "size fit: negative",
    ]
    assert readable_label("complaint") == ["complaint"]
    assert len("delivery_options") > CARD_CHARACTERS  # a card would cut it: written out
    assert _markdown_text("size_fit: *runs* [small]") == r"size\_fit: \*runs\* \[small\]"


def test_an_aspect_trigger_names_its_aspect_in_the_viewers_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.ui import i18n
    from app.ui.explain_view import readable_label, readable_trigger

    assert readable_trigger("size_fit", "runs small") == "size fit: runs small"
    assert readable_trigger("fabric", None) == "fabric: (meaning)"
    monkeypatch.setattr(i18n, "current", lambda: "zh")
    assert readable_trigger("size_fit", "runs small") == "尺码合身: runs small"
    assert readable_trigger("fabric", None) == "面料: （从语义判断）"
    assert readable_label("size_fit:negative") == ["尺码合身: 负面"]


def test_an_aspects_explanation_shows_its_triggers_under_their_own_title() -> None:
    from app.ui.explain_view import TaskExplanation, show_explanation

    shown: list[tuple[str, str]] = []

    class Page:  # what the view writes, in order
        def caption(self, text: str) -> None:
            shown.append(("caption", text))

        def html(self, text: str) -> None:
            shown.append(("html", text))

    show_explanation(TaskExplanation(
        "aspects", "size_fit:negative", 0.8, "", None, encoder_weight=0.0,
        triggers=(("size_fit", "runs small", -1.0), ("fabric", None, 0.25))), Page())  # fmt: skip
    assert [kind for kind, _ in shown] == ["caption", "html"]
    assert shown[0][1] == "Aspects: the words that triggered each"
    assert "size fit: runs small" in shown[1][1] and "fabric: (meaning)" in shown[1][1]
    shown.clear()
    show_explanation(TaskExplanation("sentiment", "positive", 0.9, "", None,
                                     terms=(("lovely", 0.4),), encoder_weight=0.0), Page())  # fmt: skip
    assert shown[0][1].startswith("TF-IDF + logistic regression: ")
    assert "lovely" in shown[1][1] and len(shown) == 2


def test_a_segments_table_shows_the_most_active_shoppers_first() -> None:
    from app.ui.segments import shown_rows

    users = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "sessions": [1, 5, 5, 2],
                          "events": [3, 9, 12, 4]})  # fmt: skip
    assert shown_rows(users, limit=2)["user_id"].tolist() == ["c", "b"]
    assert shown_rows(users, limit=10) is users  # small enough: as it is
