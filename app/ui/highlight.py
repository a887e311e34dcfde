"""Word highlights for explanations: attribution scores as coloured HTML spans."""

from __future__ import annotations

import html
from collections.abc import Sequence


def highlight_html(words: Sequence[str], scores: Sequence[float]) -> str:
    """HTML of the words with a green (for the prediction) or red (against it) background whose
    strength follows ``|score|`` relative to the largest one. Words are HTML-escaped.

        >>> highlight_html(["good", "<b>"], [1.0, -0.5]).count("<span")
        2
    """
    if len(words) != len(scores):
        raise ValueError(f"{len(words)} words but {len(scores)} scores")
    peak = max((abs(float(s)) for s in scores), default=0.0) or 1.0
    spans = []
    for word, score in zip(words, scores, strict=True):
        strength = min(abs(float(score)) / peak, 1.0)
        rgb = "46,160,67" if score >= 0 else "215,58,73"
        spans.append(
            f'<span title="{float(score):+.3f}" style="background: rgba({rgb},{strength:.2f});'
            f' padding: 1px 3px; border-radius: 3px">{html.escape(str(word))}</span>'
        )
    return '<div style="line-height: 2">' + " ".join(spans) + "</div>"
