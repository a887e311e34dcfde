"""Tests for core/monitoring.py: the drift checks raise on what moved and stay quiet otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.monitoring import (
    daily_monitor,
    live_accuracy,
    new_frequent_words,
    psi,
    reference_profile,
    window_report,
)

pytestmark = pytest.mark.unit
WORDS = ["soft", "fabric", "fits", "well", "love", "colour", "runs", "small", "dress", "size",
         "tight", "long", "short", "lovely", "cheap", "thin", "warm", "bright"]  # fmt: skip


def _texts(n: int, seed: int, extra: list[str] | None = None) -> pd.Series:
    rng = np.random.default_rng(seed)
    vocab = WORDS + (extra or [])
    return pd.Series([" ".join(rng.choice(vocab, 8)) for _ in range(n)])


def test_psi_of_equal_and_moved_mixes() -> None:
    assert psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.0)
    moved = psi({"a": 0.9, "b": 0.1}, {"a": 0.5, "b": 0.5})
    assert moved == pytest.approx(0.4 * np.log(0.5 / 0.1) - 0.4 * np.log(0.5 / 0.9))


def test_same_data_is_quiet_and_each_shift_names_itself() -> None:
    ref = _texts(2000, 0)
    labels = pd.Series(np.where(np.arange(2000) % 4 == 0, "negative", "positive"))
    profile = reference_profile(ref, pd.Series(["en"] * 2000), labels)
    same = window_report(profile, _texts(400, 1), pd.Series(["en"] * 400), labels[:400])
    assert same["alerts"] == [] and same["psi"] < 0.01
    flipped = window_report(profile, _texts(400, 2), pd.Series(["en"] * 400),
                            pd.Series(["negative"] * 300 + ["positive"] * 100))  # fmt: skip
    assert any(a.startswith("prediction mix moved") for a in flipped["alerts"])
    chinese = pd.concat(
        [_texts(280, 3), pd.Series(["尺码偏小，面料很薄"] * 120)], ignore_index=True
    )
    zh = window_report(profile, chinese, pd.Series(["en"] * 280 + ["zh"] * 120), labels[:400])
    assert any("language mix moved by 30%" in a for a in zh["alerts"])
    assert any("never seen in training" in a for a in zh["alerts"])
    apps = window_report(profile, _texts(400, 4, extra=["app", "update", "crash"] * 4),
                         pd.Series(["en"] * 400), labels[:400])  # fmt: skip
    fresh = new_frequent_words(profile, _texts(400, 4, ["app", "update", "crash"] * 4))
    assert set(fresh[:3]) == {"app", "update", "crash"}
    assert any(a.startswith("new frequent words") for a in apps["alerts"])
    assert (
        window_report(profile, _texts(10, 5), pd.Series(["en"] * 10), labels[:10])["alerts"] == []
    )


def test_daily_windows_and_live_accuracy() -> None:
    profile = reference_profile(_texts(1000, 0), pd.Series(["en"] * 1000),
                                pd.Series(["positive"] * 800 + ["negative"] * 200))  # fmt: skip
    days = pd.date_range("2027-01-01", periods=10).repeat(60)
    rows = pd.DataFrame({"ts": days, "text": _texts(600, 9), "language": "en",
                         "label": np.where(np.arange(600) % 5 == 0, "negative", "positive")})  # fmt: skip
    rows.loc[rows["ts"] >= "2027-01-08", "label"] = "negative"  # the model turns gloomy
    daily = daily_monitor(profile, rows)
    assert (
        len(daily) == 10
        and not daily.loc[daily["day"] < pd.Timestamp("2027-01-08").date(), "alert"].any()
    )
    assert daily["alert"].iloc[-1]
    pairs = pd.DataFrame({"label": ["a"] * 40, "predicted": ["a"] * 20 + ["b"] * 20})
    assert live_accuracy(pairs, 0.9)["alert"].startswith("live accuracy 50% on 40")
    assert live_accuracy(pairs.head(10), 0.9)["alert"] is None  # too few labels to judge
    # right as often as before, but sure of itself when wrong: calibration breaks
    sure = pairs.assign(probs='{"a": 0.02, "b": 0.98}')
    report = live_accuracy(sure, 0.55)
    assert report["ece"] == pytest.approx(0.48) and report["alert"].startswith("confidence")


@pytest.mark.integration
def test_a_serving_model_meeting_new_chinese_reviews_is_flagged(ctx, store) -> None:
    from datetime import datetime, timedelta

    from core.monitoring import monitor_task
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from tests.app.dashboard_seed import SHOP, seed_shop

    seed_shop(store)
    quiet = monitor_task(ctx, SHOP, "sentiment")
    assert quiet["status"] == "no new rows" and quiet["reference_rows"] > 0
    version = ctx.registry.active(SHOP, "sentiment")
    when = store.query_df("SELECT max(ts) t FROM reviews")["t"][0]
    new = [(f"zh{i:03d}", "尺码偏小，面料很薄，不会再买了" if i % 2 else "质量很好，很舒服")
           for i in range(80)]  # fmt: skip
    with store.write() as con:
        con.executemany("INSERT INTO reviews (shop_id, review_id, rating, text, ts, language) "
                        "VALUES (?, ?, 3, ?, ?, 'zh')",
                        [(SHOP, rid, text, when - timedelta(hours=i)) for i, (rid, text) in enumerate(new)])  # fmt: skip
    probs = np.tile([0.2, 0.6, 0.2], (80, 1))  # the English model shrugs: "neutral"
    frame = prediction_frame(SHOP, "sentiment", version, ("negative", "neutral", "positive"),
                             [rid for rid, _ in new], probs)  # fmt: skip
    prediction_repo.write(store, frame)
    report = monitor_task(ctx, SHOP, "sentiment")
    assert report["status"] == "drift" and report["new_rows"] == 80
    reasons = " ".join(report["reasons"])
    assert "language mix moved" in reasons and "never seen in training" in reasons
    assert report["live"]["labels"] == 0 and isinstance(when, datetime)
