"""Tests for the model commands in app/cli/model_cmds.py (train, evaluate, models, predict,
explain, promote, rollback) through the real ``shoplens`` entry point."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app.cli import main

pytestmark = pytest.mark.integration

TRAIN = ["train", "sentiment", "--epochs", "2", "--trainable-layers", "1"]


def test_model_commands_end_to_end(sentiment_store, tmp_path, capsys):
    assert main([*TRAIN, "--max-minutes", "2"]) == 0
    out = capsys.readouterr().out
    assert "sentiment v" in out and "promoted (active)" in out
    assert main(["evaluate", "sentiment"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["active"] is True
    assert set(report["model"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "ece"}
    assert set(report["baselines"]) == {"majority", "tfidf_lr"}
    assert 0 <= report["model"]["macro_f1"] <= 1
    cm = report["model"]["confusion_matrix"]
    assert len(cm) == 3 and sum(map(sum, cm)) == report["model"]["n"]

    src = tmp_path / "in.csv"
    pd.DataFrame({"review": ["love this dress", "awful ripped seams"]}).to_csv(src, index=False)
    assert main(["predict", "sentiment", "--input", str(src), "--text-column", "review",
                 "--output", str(tmp_path / "out.csv")]) == 0  # fmt: skip
    assert len(pd.read_csv(tmp_path / "out.csv")) == 2
    capsys.readouterr()
    assert main(["predict", "sentiment", "--input", str(src), "--text-column", "nope",
                 "--output", str(tmp_path / "out.csv")]) == 2  # fmt: skip
    assert "no column 'nope'" in capsys.readouterr().err

    assert main(["explain", "sentiment", "love this dress", "--steps", "5"]) == 0
    explanation = json.loads(capsys.readouterr().out)
    assert explanation["words"] == ["love", "this", "dress"] and "delta" in explanation

    assert main([*TRAIN, "--force-promote"]) == 0
    assert main(["models", "sentiment"]) == 0
    listing = capsys.readouterr().out.strip().splitlines()[-2:]
    assert listing[0].startswith("  sentiment") and listing[1].startswith("* sentiment")
    first = listing[0].split()[1]
    assert main(["rollback", "sentiment"]) == 0
    assert f"{first} is active" in capsys.readouterr().out
    assert main(["promote", "sentiment", "v-missing"]) == 2


def test_train_without_task_or_data_is_a_clear_error(store, capsys):
    assert main(["train"]) == 2
    assert "give one TASK or --all" in capsys.readouterr().err
    assert main(["train", "--all"]) == 0  # every task skipped: no data
    assert capsys.readouterr().out.count("skipped") == 4
