"""Templates: the Label Studio interface follows the task's labels and context."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from common.errors import ShopLensError
from core.kinds.base import LabellingSpec
from labeling.templates import context_key, label_config, parse_result, prediction_result

pytestmark = pytest.mark.unit


def test_label_config_has_every_label_context_and_instructions():
    spec = LabellingSpec("choices", ("a&b", "c"), guide="Say how it feels.")
    root = ET.fromstring(label_config(spec, ["product", "rating", "whole review"]))
    assert [c.get("value") for c in root.iter("Choice")] == ["a&b", "c"]
    names = [t.get("name") for t in root.iter("Text")]
    assert names == ["ctx_product", "ctx_rating", "ctx_whole_review", "text"]
    headers = [h.get("value") for h in root.iter("Header")]
    assert "pre-selected" in headers[0] and "Say how it feels." in headers[0]
    assert "Whole review" in headers


def test_answers_outside_the_label_set_are_not_read():
    spec = LabellingSpec("choices", ("neg", "pos"))
    assert parse_result(spec, prediction_result(spec, "pos")) == "pos"
    assert parse_result(spec, prediction_result(spec, "maybe")) is None
    assert parse_result(spec, [{"from_name": "other", "type": "choices"}, "junk"]) is None
    assert context_key("größe / fit") == "ctx_gr__e___fit"


def test_an_unknown_template_is_refused():
    with pytest.raises(ShopLensError, match="no Label Studio interface"):
        label_config(LabellingSpec(template="ranking", choices=("a",)))


def test_aspects_template_offers_polarity_per_aspect_and_reads_one_label() -> None:
    from labeling.templates import is_valid_label

    spec = LabellingSpec("aspects", ("size_fit", "colour"), "Mark each aspect.")
    xml = label_config(spec, ["review"])
    ET.fromstring(xml)  # well-formed
    assert xml.count("<Choices") == 2 and 'name="aspect_size_fit"' in xml
    assert xml.count('<Choice value="negative"/>') == 2 and "required" not in xml
    guess = prediction_result(spec, "colour:positive;size_fit:negative")
    assert [(r["from_name"], r["value"]["choices"]) for r in guess] == [
        ("aspect_colour", ["positive"]), ("aspect_size_fit", ["negative"])]  # fmt: skip
    assert parse_result(spec, list(reversed(guess))) == "colour:positive;size_fit:negative"
    assert parse_result(spec, []) == "none"  # submitted with no aspect marked
    odd = [{"from_name": "aspect_price", "to_name": "text", "type": "choices",
            "value": {"choices": ["positive"]}}]  # fmt: skip
    assert parse_result(spec, odd) is None  # an aspect the shop does not have
    assert not is_valid_label(spec, "size_fit:great") and is_valid_label(spec, "none")


def test_an_open_spec_takes_a_typed_new_label() -> None:
    from labeling.templates import is_valid_label

    spec = LabellingSpec("choices", ("track_order", "get_refund"), "Pick the intent.", open=True)
    xml = label_config(spec)
    ET.fromstring(xml)
    assert '<TextArea name="new_label"' in xml and 'required="false"' in xml
    typed = [{"from_name": "new_label", "to_name": "text", "type": "textarea",
              "value": {"text": ["Size question "]}}]  # fmt: skip
    assert parse_result(spec, typed) == "size_question"  # a new intent, as a name
    picked = [{"from_name": "label", "to_name": "text", "type": "choices",
               "value": {"choices": ["get_refund"]}}]  # fmt: skip
    assert parse_result(spec, picked) == "get_refund"
    assert parse_result(spec, typed + picked) == "size_question"  # the typed label wins
    assert not is_valid_label(spec, "Not A Name") and is_valid_label(spec, "stock_question")
    closed = LabellingSpec("choices", ("track_order",))
    assert parse_result(closed, typed) is None and "TextArea" not in label_config(closed)
