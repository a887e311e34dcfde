"""Why did the model say that? An explanation of the prediction that serves.

A served text model is an encoder blended with TF-IDF + logistic regression (or, when the encoder
did not beat it, TF-IDF + LR alone). Both parts are explained, each labelled as what it is:

- **encoder words**: Integrated Gradients (Captum's LayerIntegratedGradients over the encoder's
  embedding layer) for the predicted class; the baseline keeps [CLS]/[SEP] and replaces every
  other token with [PAD]; sub-word scores are summed back into words. Integrated Gradients is
  exact only in the limit of many steps: the *convergence delta* (attributions' sum minus the
  change in the explained probability) is reported so a reader can judge it.
- **TF-IDF terms**: each term's contribution to the predicted class's logit (its TF-IDF value
  times the logistic regression's coefficient, against the class average), the exact linear
  decomposition of that part.

``encoder_weight`` is the encoder's share of the blend. Explanations can be cached on disk per
(version, steps, text).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.files import write_atomically
from core.modeling import TextClassifier

DEFAULT_STEPS = 20


@dataclass
class Explanation:
    """Why the served model gave ``label`` (probability ``prob``) to one text.

    ``words``/``scores``: the encoder's per-word attributions (empty when only TF-IDF serves);
    ``encoder_prob`` and ``baseline_prob`` are the encoder's probabilities of ``label`` for the
    text and for the all-[PAD] baseline; ``delta`` the convergence error (None without encoder).
    ``terms``: the TF-IDF part's (term, contribution) pairs, largest effect first;
    ``encoder_weight``: the encoder's share of the blend (0 when TF-IDF alone serves).
    ``triggers``: an aspect model's (aspect, trigger words, weight) per mention found, the words
    ``None`` when the sentence's meaning alone found it.
    """

    task: str
    version: str
    label: str
    prob: float
    encoder_prob: float | None
    baseline_prob: float | None
    words: list[str]
    scores: list[float]
    delta: float | None
    n_steps: int
    terms: list[tuple[str, float]] = field(default_factory=list)
    encoder_weight: float = 1.0
    cached: bool = False
    triggers: list[tuple[str, str | None, float]] = field(default_factory=list)


def _merge_words(text: str, encoding: Any, token_scores: np.ndarray) -> tuple[list, list]:
    words: list[str] = []
    scores: list[float] = []
    last = None
    for pos, word_id in enumerate(encoding.word_ids()):
        if word_id is None:
            continue
        start, end = encoding.word_to_chars(word_id)
        if word_id != last:
            words.append(text[start:end])
            scores.append(0.0)
            last = word_id
        scores[-1] += float(token_scores[pos])
    return words, scores


def attribute(
    model: TextClassifier, text: str, target: int, n_steps: int = DEFAULT_STEPS
) -> tuple[np.ndarray, float, float, float, object]:
    """Token attributions for class ``target``: (scores per token, delta, prob of the text,
    prob of the baseline, the tokenizer's encoding)."""
    from captum.attr import LayerIntegratedGradients

    net, tok = model.model, model.tokenizer
    net.eval()
    enc = tok(text, truncation=True, max_length=model.max_length, return_tensors="pt")
    ids = enc["input_ids"].to(model.device)
    mask = enc["attention_mask"].to(model.device)
    special = torch.tensor(
        tok.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True),
        device=ids.device,
    ).bool()
    baseline = torch.where(special, ids[0], torch.full_like(ids[0], tok.pad_token_id))[None]

    def prob(input_ids: torch.Tensor) -> torch.Tensor:
        att = mask.expand(input_ids.shape[0], -1)
        return torch.softmax(net(input_ids=input_ids, attention_mask=att).logits.float(), -1)[
            :, target
        ]

    lig = LayerIntegratedGradients(prob, net.base_model.embeddings)
    attrs, delta = lig.attribute(
        ids, baselines=baseline, n_steps=n_steps, internal_batch_size=n_steps,
        return_convergence_delta=True,
    )  # fmt: skip
    with torch.no_grad():
        p_text, p_base = float(prob(ids)[0]), float(prob(baseline)[0])
    token_scores = attrs.sum(-1)[0].detach().cpu().numpy()
    return token_scores, float(delta[0]), p_text, p_base, enc


def tfidf_terms(tfidf: Any, text: str, label_index: int, top: int = 8) -> list[tuple[str, float]]:
    """The terms of ``text`` that move the TF-IDF + LR model's logit of the class at
    ``label_index`` (in the task's label order) the most, against the classes' mean logit."""
    if tfidf is None:
        return []
    pipe = tfidf.clf
    vectorizer, lr = pipe.named_steps["tfidf"], pipe.named_steps["lr"]
    x = vectorizer.transform([text])
    if x.nnz == 0:
        return []
    coef = lr.coef_
    if coef.shape[0] == 1:  # binary: one row for the second class
        coef = np.vstack([-coef[0], coef[0]]) / 2
    classes = list(tfidf.columns)
    if label_index not in classes:
        return []
    row = coef[classes.index(label_index)] - coef.mean(axis=0)
    idx = x.indices
    contributions = x.data * row[idx]
    names = vectorizer.get_feature_names_out()
    order = np.argsort(-np.abs(contributions))[:top]
    return [(str(names[idx[i]]), float(contributions[i])) for i in order if contributions[i] != 0]


def _cached(path: Path) -> Explanation | None:
    """The explanation kept in ``path``; ``None`` when there is none or it cannot be read (it
    is then worked out again). Fields an older ShopLens wrote and this one no longer has are
    left out."""
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    known = {f.name for f in fields(Explanation)} - {"cached"}
    try:
        return Explanation(**{k: v for k, v in kept.items() if k in known}, cached=True)
    except TypeError:
        return None


def explain_text(predictor: Any, text: str, n_steps: int = DEFAULT_STEPS,
                 cache_dir: Path | None = None) -> Explanation:  # fmt: skip
    """Explain ``predictor``'s prediction for ``text`` (see the module docstring); with
    ``cache_dir`` the result is kept there and reused."""
    path = None
    if cache_dir is not None:
        key = hashlib.sha256(f"{n_steps}\x1f{text}".encode()).hexdigest()[:24]
        path = cache_dir / predictor.task / predictor.version / f"{key}.json"
        kept = _cached(path)
        if kept is not None:
            return kept
    probs = predictor.predict_proba([text])[0]
    target = int(probs.argmax())
    terms = tfidf_terms(getattr(predictor, "tfidf", None), text, target)
    if isinstance(predictor, TextClassifier):
        token_scores, delta, p_text, p_base, enc = attribute(predictor, text, target, n_steps)
        words, scores = _merge_words(text, enc, token_scores)
        weight = float(predictor.ensemble_weight) if predictor.tfidf is not None else 1.0
        result = Explanation(predictor.task, predictor.version, predictor.labels[target],
                             float(probs[target]), p_text, p_base, words, scores, delta, n_steps,
                             terms if weight < 1.0 else [], weight)  # fmt: skip
    else:
        result = Explanation(predictor.task, predictor.version, predictor.labels[target],
                             float(probs[target]), None, None, [], [], None, 0, terms, 0.0)  # fmt: skip
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(asdict(result))
        write_atomically(path, lambda tmp: tmp.write_text(body))
    return result
