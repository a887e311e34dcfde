"""The shopper commands (``recommend``, ``shoppers``) through the real ``shoplens`` entry point."""

from __future__ import annotations

import pandas as pd
import pytest

from app.cli import main
from tests.core.conftest import seed_sample_events

pytestmark = pytest.mark.integration


def test_shopper_table_and_recommendations_export(store, tmp_path, capsys):
    seed_sample_events(store, n_users=300)
    for task in ("purchase", "churn", "recommend", "risk"):
        budget = ["--max-minutes", "0.5"] if task == "recommend" else []  # a short SASRec
        assert main(["train", task, *budget]) == 0
        assert main(["score", task]) == 0
    out = capsys.readouterr().out
    assert "19-day horizon" in out  # churn's default 28 days do not fit 56 days of events

    table_path = tmp_path / "shoppers.csv"
    assert main(["shoppers", "--output", str(table_path)]) == 0
    raw = table_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    table = pd.read_csv(table_path, encoding="utf-8-sig")
    assert len(table) == 300 and table["user_id"].is_unique
    assert {"propensity_7d", "churn_risk_19d", "risk_score", "top_categories",
            "recommended_items", "likely_buyer", "at_risk_of_leaving"} <= set(table.columns)  # fmt: skip
    assert table["propensity_7d"].between(0, 1).all() and table["propensity_7d"].std() > 0.05
    assert table["recommended_items"].str.count("; ").max() == 2  # top three
    capsys.readouterr()
    assert main(["shoppers", "--output", str(table_path)]) == 2  # never overwritten silently
    assert "exists" in capsys.readouterr().err

    recs = tmp_path / "recs.csv"
    user = table["user_id"].iloc[0]
    assert main(["recommend", "--user", user, "--k", "3", "--output", str(recs)]) == 0
    one = pd.read_csv(recs, encoding="utf-8-sig")
    assert one.columns.tolist() == ["user_id", "rank", "item_id", "category", "score"]
    assert one["rank"].tolist() == [1, 2, 3] and set(one["user_id"]) == {user}
    assert one["score"].is_monotonic_decreasing
    capsys.readouterr()
    assert main(["recommend", "--user", "nobody", "--output", str(tmp_path / "x.csv")]) == 2
    assert "has no events" in capsys.readouterr().err
    assert main(["recommend", "--k", "0", "--output", str(tmp_path / "y.csv")]) == 2
