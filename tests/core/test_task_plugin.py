"""Adding a task is one module plus one registration: the toy task of ``tests/toy_task.py``
(registered by the ``toy_task`` fixture, named nowhere else) trains, scores, lists and explains
through the CLI, shows on the Models page and goes round the labelling loop."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from app.cli import main
from labeling.client import LabelStudioClient
from tests.app.conftest import open_page  # noqa: F401 (fixture)
from tests.conftest import seed_messages
from tests.labeling.conftest import fake_ls  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

HAPPY = ["thanks so much, love it", "great service, very happy", "wonderful, arrived early"]
ANGRY = ["where is my refund, furious", "broken again, terrible", "awful, nobody answers"]
TRAIN = ["train", "toy", "--epochs", "1", "--trainable-layers", "1"]


def seed_toy_shop(store, n: int = 36) -> None:
    texts, labels = {}, []
    for i in range(n):
        happy = i % 2 == 0
        texts[f"t{i:03d}"] = f"{(HAPPY if happy else ANGRY)[i % 3]} (order {i})"
        labels.append((f"t{i:03d}", "positive" if happy else "negative"))
    seed_messages(store, texts)
    with store.write() as con:
        con.executemany(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, created_at) "
            "VALUES (nextval('labels_seq'), 'sample', 'toy', ?, ?, 'derived', ?)",
            [(t, label, datetime(2024, 1, 1)) for t, label in labels],
        )


def test_a_task_in_one_file_works_everywhere(store, toy_task, fake_ls, monkeypatch, capsys,  # noqa: F811
                                             open_page):  # noqa: F811  # fmt: skip
    seed_toy_shop(store)

    assert main(TRAIN) == 0
    out = capsys.readouterr().out
    assert out.startswith("toy v") and "for shop sample" in out
    assert main(["score", "--all"]) == 0
    assert "toy: scored 36 rows in shop sample" in capsys.readouterr().out
    assert main(["models", "toy"]) == 0
    listing = capsys.readouterr().out.strip().splitlines()
    assert len(listing) == 1 and listing[0].startswith("* toy")
    assert main(["explain", "toy", "furious about my refund", "--steps", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in toy_task.labels
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["shops"]["sample"]["models"]["toy"] == listing[0].split()[2]

    at = open_page("models", state={"models_task": "toy"})
    assert not at.exception
    table = at.dataframe[0].value
    assert table["version"].tolist() == [listing[0].split()[2]]

    monkeypatch.setattr(LabelStudioClient, "from_settings", classmethod(lambda cls, s: fake_ls))
    assert main(["label", "push", "toy", "--n", "4", "--json"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["imported"] == 4
    first = next(iter(fake_ls.tasks.values()))
    assert first["data"]["ctx_channel"] == "support"  # the task's own labelling rows
    fake_ls.annotate(first["id"], "neutral")
    assert main(["label", "sync", "toy"]) == 0
    assert "1 new" in capsys.readouterr().out
    assert main(["label", "status", "toy", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["human_labels"], status["queued"]) == (1, 3)
