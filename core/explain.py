"""Why did the model say that? Word attributions by Integrated Gradients (Captum's
LayerIntegratedGradients over the encoder's embedding layer) for the predicted class.

The baseline keeps [CLS]/[SEP] and replaces every other token with [PAD]. Sub-word scores are
summed back into words. Integrated Gradients is exact only in the limit of many steps: the
*convergence delta* (attributions' sum minus the change in the explained probability) is
reported with every explanation so a reader can judge it. Explanations are cached on disk per
(task, model version, steps, text) under the runtime folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import torch

from common.settings import load_settings
from core.modeling import TextClassifier
from core.registry import load_model

DEFAULT_STEPS = 20


@dataclass
class Explanation:
    """Per-word attributions for one text's predicted class.

    ``prob`` is the served model's probability (encoder, blended with TF-IDF when the version has
    a blend); ``encoder_prob`` and ``baseline_prob`` are the explained encoder's probabilities
    of ``label`` for the text and for the all-[PAD] baseline; ``delta`` is the convergence error.
    """

    task: str
    version: str
    label: str
    prob: float
    encoder_prob: float
    baseline_prob: float
    words: list[str]
    scores: list[float]
    delta: float
    n_steps: int
    cached: bool = False


def _cache_path(task: str, version: str, n_steps: int, text: str):  # noqa: ANN202
    key = hashlib.sha256(f"{n_steps}\x1f{text}".encode()).hexdigest()[:24]
    return load_settings().home / "cache" / "explain" / task / version / f"{key}.json"


def _merge_words(text: str, encoding: object, token_scores: np.ndarray) -> tuple[list, list]:
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


def explain_text(
    task: str, text: str, n_steps: int = DEFAULT_STEPS, version: str | None = None,
    model: TextClassifier | None = None, use_cache: bool = True,
) -> Explanation:  # fmt: skip
    """Explain the active (or given) model's prediction for ``text``: words and their scores
    (positive pushes toward the predicted label), with the convergence delta."""
    model = model or load_model(task, version)
    path = _cache_path(task, model.version, n_steps, text)
    if use_cache and path.is_file():
        return Explanation(**{**json.loads(path.read_text()), "cached": True})
    probs = model.predict_proba([text])[0]
    target = int(probs.argmax())
    token_scores, delta, p_text, p_base, enc = attribute(model, text, target, n_steps)
    words, scores = _merge_words(text, enc, token_scores)
    result = Explanation(task, model.version, model.labels[target], float(probs[target]),
                         p_text, p_base, words, scores, delta, n_steps)  # fmt: skip
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(result)))
    return result
