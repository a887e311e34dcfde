"""A Chinese shop end to end through the ``shoplens`` command: ingest a slice of real Chinese
shopping reviews with binary labels (online_shopping_10_cats, research use: read from
``../shared/data``, never copied), train sentiment, score the shop, predict reviews it never
saw, and read its needs and aspects as Chinese phrases."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app.cli import main

pytestmark = pytest.mark.integration

ZH_FILE = "online_shopping_10_cats_dev/online_shopping_10_cats_dev80.csv"
# the README's commands: the label column becomes the star rating (1 -> 5 stars, 0 -> 1 star)
INGEST = ["--kind", "reviews", "--shop", "zh", "--map", "label=rating", "--value", "rating:1=5",
          "--value", "rating:0=1"]  # fmt: skip


def _slice(shared_data, per_label: int, skip: int = 0) -> pd.DataFrame:
    """Clothing reviews (衣服): ``per_label`` of each label, after the first ``skip``."""
    rows = pd.read_csv(shared_data / ZH_FILE)
    clothing = rows[rows["cat"] == "衣服"]
    return pd.concat([clothing[clothing["label"] == label].iloc[skip : skip + per_label]
                      for label in (0, 1)], ignore_index=True)  # fmt: skip


def test_a_chinese_shop_trains_scores_and_predicts(shared_data, settings, store, tmp_path,
                                                   capsys) -> None:  # fmt: skip
    train = tmp_path / "zh_train.csv"
    _slice(shared_data, 150).to_csv(train, index=False)
    assert main(["ingest", str(train), *INGEST]) == 0
    assert "300 reviews added" in capsys.readouterr().out  # ids made from each row's content
    assert main(["train", "sentiment", "--shop", "zh", "--epochs", "1", "--trainable-layers", "1",
                 "--max-minutes", "3", "--encoder-minutes", "0.1"]) == 0  # fmt: skip
    assert "for shop zh" in capsys.readouterr().out
    # a Chinese shop first extends the encoder: the characters are no longer [UNK]
    from transformers import AutoTokenizer

    from core.encoder_vocab import shop_encoder

    encoder = shop_encoder(settings.home, "zh")
    assert encoder is not None
    tokens = AutoTokenizer.from_pretrained(encoder).tokenize("尺码偏小，希望有大码")
    assert "[UNK]" not in tokens and "码" in tokens
    assert main(["evaluate", "sentiment", "--shop", "zh"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"]["n"] > 0 and report["model"]["macro_f1"] >= 0.75
    assert main(["score", "sentiment", "--shop", "zh"]) == 0
    assert "scored 300 rows in shop zh" in capsys.readouterr().out

    unseen = _slice(shared_data, 50, skip=1000)  # reviews the shop never saw
    src, dst = tmp_path / "unseen.csv", tmp_path / "predicted.csv"
    unseen[["review"]].to_csv(src, index=False)
    assert main(["predict", "sentiment", "--shop", "zh", "--input", str(src), "--text-column",
                 "review", "--output", str(dst)]) == 0  # fmt: skip
    predicted = pd.read_csv(dst)["label"]
    truth = unseen["label"].map({1: "positive", 0: "negative"})
    assert set(predicted) <= {"negative", "positive"}  # a binary shop trains two classes
    assert (predicted.to_numpy() == truth.to_numpy()).mean() >= 0.8

    # the demand rules and aspects read the shop's Chinese sentences as Chinese phrases
    for task in ("demand", "aspects"):
        assert main(["train", task, "--shop", "zh", "--max-minutes", "2"]) == 0
        assert main(["score", task, "--shop", "zh"]) == 0
    capsys.readouterr()
    assert main(["needs", "--shop", "zh", "--json"]) == 0
    needs = json.loads(capsys.readouterr().out)["needs"]
    named = [n["name"] for n in needs if n["name"] != "other"]
    assert named and all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in named)
    from app.ui.locale_zh import VALUES
    from core.text_insight import aspect_mentions

    mentions = aspect_mentions(store, "zh")
    found = set(mentions["aspect"])
    assert {"quality", "size_fit"} <= found  # 质量, 尺码 in real clothing reviews
    assert all(aspect in VALUES for aspect in found)  # shown as Chinese on the dashboard
