"""The model commands (train, evaluate, score, models, predict, explain, promote, rollback)
through the real ``shoplens`` entry point, per shop."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from app.cli import main

pytestmark = pytest.mark.integration

VERSION = re.compile(r"\bv\d{8}-[\d-]+")
TRAIN = ["train", "sentiment", "--epochs", "1", "--trainable-layers", "1"]


def test_model_commands_end_to_end(sentiment_store, tmp_path, capsys):
    assert main([*TRAIN, "--max-minutes", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sentiment v") and "for shop sample" in out and "promoted" in out
    assert main(["evaluate", "sentiment"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["active"] is True and report["shop"] == "sample"
    assert set(report["model"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "ece"}
    assert {"majority", "tfidf_lr"} <= set(report["baselines"])
    assert report["model"]["macro_f1"] >= report["baseline"]["macro_f1"] or report["is_baseline"]
    cm = report["model"]["confusion_matrix"]
    # 1- and 5-star reviews only: the model learns the two classes the shop shows
    assert len(cm) == 2 and sum(map(sum, cm)) == report["model"]["n"]
    assert set(report["model"]["per_class"]) == {"negative", "positive"}

    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"review": ["love this dress", "awful ripped seams"]}).to_csv(src, index=False)
    predict = ["predict", "sentiment", "--input", str(src), "--text-column", "review",
               "--output", str(dst)]  # fmt: skip
    assert main(predict) == 0
    assert len(pd.read_csv(dst)) == 2
    capsys.readouterr()
    assert main(predict) == 2  # an existing output is never overwritten silently
    assert "--overwrite" in capsys.readouterr().err
    assert main([*predict[:-1], str(src), "--overwrite"]) == 2  # nor the input
    assert "input" in capsys.readouterr().err
    assert pd.read_csv(src).columns.tolist() == ["review"]
    assert main([*predict[:4], "--text-column", "nope", "--output", str(tmp_path / "o2.csv")]) == 2
    assert "no column 'nope'" in capsys.readouterr().err

    assert main(["explain", "sentiment", "love this dress", "--steps", "5"]) == 0
    explanation = json.loads(capsys.readouterr().out)
    assert explanation["label"] in ("negative", "neutral", "positive")

    assert main([*TRAIN, "--force-promote"]) == 0
    capsys.readouterr()
    assert main(["models", "sentiment"]) == 0
    listing = capsys.readouterr().out.strip().splitlines()
    assert len(listing) >= 2 and listing[-1].startswith("* sentiment")
    assert "(forced)" in listing[-1]
    versions = [VERSION.search(line).group(0) for line in listing]
    assert main(["rollback", "sentiment"]) == 0
    back = VERSION.search(capsys.readouterr().out).group(0)
    assert back in versions[:-1]  # the version that served before the forced one
    assert main(["models", "sentiment"]) == 0
    assert VERSION.search(capsys.readouterr().out.split("* ")[1]).group(0) == back
    assert main(["promote", "sentiment", "v-missing"]) == 2


def test_models_per_shop_and_an_explicit_copy(sentiment_store, capsys):
    assert main([*TRAIN]) == 0
    capsys.readouterr()
    assert main(["models", "sentiment", "--shop", "north"]) == 0
    assert "shop north has no model yet" in capsys.readouterr().out
    assert main(["explain", "sentiment", "hello", "--shop", "north"]) == 1
    assert "--copy-from" in capsys.readouterr().err
    assert main(["models", "sentiment", "--shop", "north", "--copy-from", "sample"]) == 0
    assert "copied to shop north" in capsys.readouterr().out
    assert main(["models", "sentiment", "--shop", "north"]) == 0
    assert "copied from sample/" in capsys.readouterr().out


def test_train_without_task_or_data_is_a_clear_error(store, capsys):
    assert main(["train"]) == 2
    assert "give one TASK or --all" in capsys.readouterr().err
    assert main(["train", "--all"]) == 0  # every task skipped: no data
    assert capsys.readouterr().out.count("skipped") == 9  # every registered task
    assert main(["score", "--all"]) == 0
    assert "has no active model yet" in capsys.readouterr().out
