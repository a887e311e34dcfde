"""Label Studio interfaces for the annotation templates tasks declare (``LabellingSpec``).

``choices``: the text to label, its context (product, rating, the whole review around a
sentence: whatever the task's labelling rows carry beside ``text``) and the task's labels as
single-choice buttons. ``aspects``: the same text and context with one row of optional
positive / negative / neutral buttons per aspect (the spec's choices are the aspects); the
answer is stored as one label string, ``colour:positive;size_fit:negative`` (``none`` when no
aspect is marked). The model's guess arrives as a pre-annotation, so annotators confirm or
correct it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from common.errors import ShopLensError
from core.kinds.base import LabellingSpec

FROM_NAME = "label"  # the Choices control; answers are read from it
NEW_LABEL = "new_label"  # an open spec's text box for a label none of the choices fits
_NEW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TO_NAME = "text"
TEMPLATES = ("choices", "aspects")
ASPECT_PREFIX = "aspect_"  # one Choices control per aspect: aspect_<name>
POLARITIES = ("positive", "negative", "neutral")


def context_key(column: str) -> str:
    """A safe Label Studio data key for a context column (letters, digits, underscores)."""
    key = re.sub(r"[^0-9a-zA-Z_]", "_", column).strip("_") or "context"
    return f"ctx_{key}"


def _check(spec: LabellingSpec) -> None:
    if spec.template not in TEMPLATES:
        raise ShopLensError(
            f"annotation template {spec.template!r} has no Label Studio interface; known: "
            f"{', '.join(TEMPLATES)}"
        )


def instructions(spec: LabellingSpec) -> str:
    """The short instructions shown above every task."""
    _check(spec)
    if spec.template == "aspects":
        return (f"{spec.guide.strip()} The model's guess is pre-selected: keep what is right, "
                "click to change or clear the rest. Use the context only to understand the "
                "sentence. Skip a sentence you cannot judge.")  # fmt: skip
    return (
        f"{spec.guide.strip()} Pick the one label that fits the highlighted text best "
        f"({', '.join(spec.choices)}). The model's guess is pre-selected: keep it if it is "
        "right, otherwise click the right label. Use the context only to understand the text. "
        "Skip a text you cannot judge."
    )


def label_config(spec: LabellingSpec, context_columns: Sequence[str] = ()) -> str:
    """The Label Studio XML interface for ``spec`` with a block per context column."""
    _check(spec)
    parts = ["<View>", f'  <Header value={quoteattr(instructions(spec))} size="6"/>']
    for column in context_columns:
        title = column.replace("_", " ").capitalize()
        parts.append(f'  <Header value={quoteattr(title)} size="6"/>')
        parts.append(
            f'  <Text name={quoteattr(context_key(column))} value="${context_key(column)}"/>'
        )
    parts.append('  <Header value="Text to label" size="5"/>')
    parts.append(f'  <Text name="{TO_NAME}" value="$text"/>')
    if spec.template == "aspects":
        for aspect in spec.choices:
            parts.append(f'  <Header value={quoteattr(aspect.replace("_", " "))} size="6"/>')
            parts.append(f'  <Choices name={quoteattr(ASPECT_PREFIX + aspect)} toName="{TO_NAME}" '
                         'choice="single" showInline="true">')  # fmt: skip
            parts.extend(f"    <Choice value={quoteattr(p)}/>" for p in POLARITIES)
            parts.append("  </Choices>")
        parts.append("</View>")
        return "\n".join(parts)
    parts.append(
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single-radio" '
        f'showInline="true" required="{"false" if spec.open else "true"}">'
    )
    parts.extend(f"    <Choice value={quoteattr(label)}/>" for label in spec.choices)
    parts.append("  </Choices>")
    if spec.open:
        parts.append(
            '  <Header value="None fits? Type a new label (lower case, e.g. size_question)" size="6"/>'
        )
        parts.append(f'  <TextArea name="{NEW_LABEL}" toName="{TO_NAME}" maxSubmissions="1" '
                     'rows="1" editable="true"/>')  # fmt: skip
    parts.append("</View>")
    return "\n".join(parts)


def prediction_result(spec: LabellingSpec, label: str) -> list[dict[str, Any]]:
    """The pre-annotation that shows the model's guess."""
    _check(spec)
    if spec.template == "aspects":
        from core.aspects import decode_mentions

        return [{"from_name": ASPECT_PREFIX + aspect, "to_name": TO_NAME, "type": "choices",
                 "value": {"choices": [polarity]}}
                for aspect, polarity in decode_mentions(label).items() if aspect in spec.choices]  # fmt: skip
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
             "value": {"choices": [label]}}]  # fmt: skip


def raw_label(spec: LabellingSpec, result: Iterable[dict[str, Any]] | None) -> str | None:
    """The label an annotation's result names, as sent (not yet checked)."""
    _check(spec)
    if spec.template == "aspects":
        return _aspect_label(result)
    if spec.open:
        typed = _typed_label(result)
        if typed:
            return typed
    for item in result or []:
        if not isinstance(item, dict):
            continue
        if item.get("from_name") == FROM_NAME and item.get("type") == "choices":
            choices = (item.get("value") or {}).get("choices") or []
            if choices:
                return str(choices[0])
    return None


def parse_result(spec: LabellingSpec, result: Iterable[dict[str, Any]] | None) -> str | None:
    """The label an annotation's result gives; None when it gives none or one outside the
    task's label set (an answer ShopLens did not offer is never stored)."""
    label = raw_label(spec, result)
    return label if label is not None and is_valid_label(spec, label) else None


def is_valid_label(spec: LabellingSpec, label: str) -> bool:
    """Whether ``label`` is an answer the spec offers."""
    if spec.template != "aspects":
        return label in spec.choices or (spec.open and bool(_NEW_NAME.match(label)))
    from common.errors import InputError
    from core.aspects import decode_mentions

    try:
        return set(decode_mentions(label)) <= set(spec.choices)
    except InputError:
        return False


def _typed_label(result: Iterable[dict[str, Any]] | None) -> str | None:
    """A new label typed into an open spec's text box, as a name: "Size question" → size_question."""
    for item in result or []:
        if isinstance(item, dict) and item.get("from_name") == NEW_LABEL:
            texts = (item.get("value") or {}).get("text") or []
            name = re.sub(r"[^0-9a-z]+", "_", str(texts[0] if texts else "").strip().lower()).strip(
                "_"
            )
            return name or None
    return None


def _aspect_label(result: Iterable[dict[str, Any]] | None) -> str | None:
    from core.aspects import encode_mentions

    pairs: dict[str, str] = {}
    for item in result or []:
        name = item.get("from_name", "") if isinstance(item, dict) else ""
        if item.get("type") == "choices" and str(name).startswith(ASPECT_PREFIX):
            choices = (item.get("value") or {}).get("choices") or []
            if choices:
                pairs[str(name)[len(ASPECT_PREFIX) :]] = str(choices[0])
    return encode_mentions(pairs) if result is not None else None
