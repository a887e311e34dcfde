"""Explanations for the pages: what the serving model says of one text, and why.

Texts are PII-masked before they reach a model or the screen, and shopper text is always shown
as text: never as Markdown or HTML (a planted ``![x](http://host/pixel.png)`` stays a string, no
link or image is rendered). Each model version loads once per process (``st.cache_resource``);
results are cached per (shop, task, version, text).
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app.ui.highlight import highlight_html
from app.ui.i18n import aspect_label, label, t
from common.errors import ShopLensError
from core.context import Context
from core.kinds.base import get_task
from privacy.masking import PiiConfig, mask_pii

# one model call at a time: torch already uses every core, and Captum is memory-hungry
_MODEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class TaskExplanation:
    """What the Explain view shows for one task."""

    task: str
    label: str
    confidence: float
    html: str
    delta: float | None
    terms: tuple[tuple[str, float], ...] = ()
    encoder_weight: float = 1.0
    triggers: tuple[tuple[str, str | None, float], ...] = ()


def masked(text: str) -> str:
    """The text with emails, phones, ID and card numbers and addresses replaced (the kinds the
    ``[privacy]`` settings switch on)."""
    from app.ui.context import get_context

    return mask_pii(text or "", PiiConfig.from_settings(get_context().settings))


def quote(text: str, container: Any = None) -> None:
    """Show shopper text as a quote, as plain text: HTML-escaped, never read as Markdown."""
    target = container if container is not None else st
    target.html(
        '<blockquote style="border-left: 3px solid #ccd5e0; margin: 0 0 .5rem 0; '
        f'padding: .25rem .75rem; white-space: pre-wrap">{html.escape(text)}</blockquote>'
    )


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_model(home: str, shop_id: str, task: str, version: str, _ctx: Context) -> Any:
    """One model version, loaded once per process (keyed by runtime folder, shop, task and
    version; the context itself is not hashed)."""
    return _ctx.registry.load(shop_id, task, version)


def _model(ctx: Context, shop_id: str, task: str, version: str) -> Any:
    return load_model(str(ctx.home), shop_id, task, version, ctx)


def predict(ctx: Context, shop_id: str, task: str, version: str, text: str) -> dict[str, float]:
    """Class probabilities of one text from a model version."""
    return _predict(str(ctx.home), shop_id, task, version, text, ctx)


@st.cache_data(show_spinner=False, max_entries=256)
def _predict(home: str, shop_id: str, task: str, version: str, text: str,
             _ctx: Context) -> dict[str, float]:  # fmt: skip
    model = _model(_ctx, shop_id, task, version)
    with _MODEL_LOCK:
        probs = model.predict_proba([text])[0]
    return {label: float(p) for label, p in zip(model.labels, probs, strict=True)}


def explain(ctx: Context, shop_id: str, task: str, version: str, text: str,
            n_steps: int = 50) -> TaskExplanation:  # fmt: skip
    """The serving model's label, confidence, encoder word highlights and TF-IDF terms."""
    return _explain(str(ctx.home), shop_id, task, version, text, n_steps, ctx)


@st.cache_data(show_spinner=False, max_entries=128)
def _explain(home: str, shop_id: str, task: str, version: str, text: str, n_steps: int,
             _ctx: Context) -> TaskExplanation:  # fmt: skip
    model = _model(_ctx, shop_id, task, version)
    with _MODEL_LOCK:
        result = get_task(task).explain(model, text, n_steps=n_steps)
    terms = list(result.terms or [])
    return TaskExplanation(
        task=task, label=str(result.label), confidence=float(result.prob),
        html=highlight_html(list(result.words), [float(s) for s in result.scores])
        if result.words else "",
        delta=float(result.delta) if result.delta is not None else None,
        terms=tuple((str(term), float(w)) for term, w in terms),
        encoder_weight=float(result.encoder_weight),
        triggers=tuple((str(a), None if w is None else str(w), float(s))
                       for a, w, s in result.triggers),
    )  # fmt: skip


def readable_trigger(aspect: str, words: str | None) -> str:
    """An aspect's trigger in the viewer's language, its aspect named as the pages do
    (``size fit: runs small``, ``尺码合身: runs small``); "(meaning)" when the sentence's meaning
    alone found the aspect (``words`` is ``None``)."""
    return f"{aspect_label(aspect)}: {t('(meaning)') if words is None else words}"


def show_explanation(result: TaskExplanation, container: Any = None) -> None:
    """Both parts of a served text model's explanation, each labelled as what it is."""
    target = container if container is not None else st
    if result.html:
        share = (t(" ({share} of the blend)", share=f"{result.encoder_weight:.0%}")
                 if result.terms else "")  # fmt: skip
        target.caption(t("Encoder{share}: words by integrated gradients", share=share))
        target.html(result.html)
        if result.delta is not None:
            target.caption(t("Attribution convergence error {delta}",
                             delta=f"{abs(result.delta):.3f}"))  # fmt: skip
    if result.terms:
        share = (t(" ({share} of the blend)", share=f"{1 - result.encoder_weight:.0%}")
                 if result.html else "")  # fmt: skip
        title, rest = t("TF-IDF + logistic regression"), t("the terms' weight for this label")
        target.caption(f"{title}{share}: {rest}")
        target.html(highlight_html([term for term, _ in result.terms],
                                   [w for _, w in result.terms]))  # fmt: skip
    if result.triggers:
        title, rest = t("Aspects"), t("the words that triggered each")
        target.caption(f"{title}: {rest}")
        target.html(highlight_html([readable_trigger(a, w) for a, w, _ in result.triggers],
                                   [s for _, _, s in result.triggers]))  # fmt: skip


def show_prediction(ctx: Context, shop_id: str, task: str, version: str, text: str,
                    highlights: bool) -> None:  # fmt: skip
    """The version's label and confidence for ``text``, with word highlights if asked."""
    with st.spinner(t("Loading the model…")):  # the first time: seconds
        model = _model(ctx, shop_id, task, version)
    if highlights or not hasattr(model, "predict_proba"):
        with st.spinner(t("Explaining…")):
            result = explain(ctx, shop_id, task, version, text)
        prediction_card(result.label, result.confidence)
        show_explanation(result)
        return
    probs = predict(ctx, shop_id, task, version, text)
    best = max(probs, key=lambda k: probs[k])
    prediction_card(best, probs[best])
    st.bar_chart({label(k): p for k, p in probs.items()}, horizontal=True)


# a label longer than this is cut short by a metric card: it is written out in full instead
CARD_CHARACTERS = 14


def readable_label(value: str) -> list[str]:
    """A model's label in the viewer's language, one line per part: an aspects label
    (``colour:positive;size_fit:negative``) gives ``colour: positive`` and ``size fit: negative``
    (translated)."""
    parts = [p for p in str(value).split(";") if p]
    if ":" not in str(value):
        return [label(value)]
    return [f"{aspect_label(a)}: {label(polarity)}"
            for a, _, polarity in (p.partition(":") for p in parts)]  # fmt: skip


def prediction_card(value: str, confidence: float) -> None:
    """The predicted label and its confidence in a bordered card; a long or several-part label
    is written out line by line rather than cut short."""
    lines = readable_label(value)
    sure = t("confidence {p}", p=f"{confidence:.0%}")
    if len(lines) == 1 and len(lines[0]) <= CARD_CHARACTERS:
        st.metric(t("Prediction"), lines[0], sure, delta_color="off", border=True)
        return
    with st.container(border=True):
        st.caption(t("Prediction"))
        st.markdown("  \n".join(f"**{_markdown_text(line)}**" for line in lines))
        st.caption(sure)


def _markdown_text(text: str) -> str:
    """``text`` with Markdown's special characters escaped (it shows as written)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)


def explain_block(ctx: Context, shop_id: str, task: str, text: str, key: str) -> None:
    """Show a (PII-masked) text and, on request, the serving model's label and why."""
    text = masked(text)
    quote(text)
    if not st.toggle(t("Show why (word highlights)"), key=f"why-{key}"):
        return
    version = ctx.registry.active(shop_id, task)
    if version is None:
        st.info(
            t("No {task} model to explain with yet: run `shoplens train {task} --shop {shop}`.",
              task=task, shop=shop_id)
        )  # fmt: skip
        return
    try:
        with st.spinner(t("Computing word attributions (about a second)…")):
            result = explain(ctx, shop_id, task, version, text)
    except ShopLensError as exc:
        st.error(str(exc))
        return
    st.markdown(f"**{label(result.label)}** · "
                + t("confidence {p}", p=f"{result.confidence:.0%}"))  # fmt: skip
    show_explanation(result)
    st.caption(t("Green pushed the model towards this label, red against it."))
