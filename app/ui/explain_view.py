"""Explanations for the pages: a task's prediction and word highlights for one text.

Texts are PII-masked before they reach a model or the screen. Each model version loads once per
process (``st.cache_resource``); results are cached per (task, version, text).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app.ui.highlight import highlight_html
from privacy.masking import mask_pii

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


def masked(text: str) -> str:
    """The text with emails, phones, cards and addresses replaced by placeholders."""
    return mask_pii(text or "")


def active_version(task: str) -> str | None:
    """The task's active model version (``None`` when no model is trained yet)."""
    from core.registry import active_version as registry_active

    return registry_active(task)


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_model(task: str, version: str) -> Any:
    """One model version, loaded once per process."""
    from core.registry import load_model as registry_load

    return registry_load(task, version)


@st.cache_data(show_spinner=False, max_entries=256)
def predict(task: str, version: str, text: str) -> dict[str, float]:
    """Class probabilities of one text from a model version."""
    model = load_model(task, version)
    with _MODEL_LOCK:
        probs = model.predict_proba([text])[0]
    return {label: float(p) for label, p in zip(model.labels, probs, strict=True)}


@st.cache_data(show_spinner=False, max_entries=128)
def explain(task: str, version: str, text: str, n_steps: int = 50) -> TaskExplanation:
    """Prediction, confidence and word highlights (Captum integrated gradients) for one text."""
    from core.explain import explain_text

    model = load_model(task, version)
    with _MODEL_LOCK:
        result = explain_text(task, text, n_steps=n_steps, model=model)
    return TaskExplanation(
        task=task,
        label=str(result.label),
        confidence=float(result.prob),
        html=highlight_html(list(result.words), [float(s) for s in result.scores]),
        delta=float(result.delta) if result.delta is not None else None,
    )


def explain_block(task: str, text: str, key: str) -> None:
    """Show a (PII-masked) text and, on request, the model's label and word highlights."""
    text = masked(text)
    st.markdown(f"> {text}")
    if not st.toggle("Show why (word highlights)", key=f"why-{key}"):
        return
    version = active_version(task)  # imports the model stack: only when asked
    if version is None:
        st.info(f"No {task} model to explain with yet: run `shoplens train {task}`.")
        return
    with st.spinner("Computing word attributions (about a second)…"):
        result = explain(task, version, text)
    note = f" · attribution error {abs(result.delta):.3f}" if result.delta is not None else ""
    st.markdown(f"**{result.label}** · confidence {result.confidence:.0%}{note}")
    st.html(result.html)
    st.caption("Green words pushed the model towards this label, red ones against it.")
