"""Sentence embeddings from the pretrained sentence encoder (all-MiniLM-L6-v2 unless the settings
name another): mean-pooled last hidden states, L2-normalised, so a dot product is a cosine.

Needs, aspects and few-shot intents are built on them. The encoder is loaded once per process
and base-model folder; texts are embedded length-sorted in batches (little padding) and the
vectors of texts already seen in this process are kept, so a page rerun re-embeds nothing.

    >>> vectors = embed_texts(["runs small", "the size is too small", "fast delivery"])
    >>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
    True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 384
CACHE_SIZE = 200_000  # vectors kept per process (≈ 300 MB at 384 float32)
_LOCK = threading.Lock()
_ENCODERS: dict[str, tuple[Any, Any]] = {}
_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


def _encoder(base: Path | None) -> tuple[str, Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    from core.hardware import shared_device
    from core.modeling import base_model_path, quiet_transformers

    path = base_model_path(base)
    key = str(path)
    device = shared_device()
    if key not in _ENCODERS:
        quiet_transformers()
        model = AutoModel.from_pretrained(path).eval()
        _ENCODERS[key] = (AutoTokenizer.from_pretrained(path), model)
    tokenizer, model = _ENCODERS[key]
    if model.device != device:  # the settings' device (the GPU when there is one)
        model.to(device)
    return key, tokenizer, model


def encoder(base: Path | None = None) -> tuple[str, Any, Any]:
    """(folder, tokenizer, model) of the sentence encoder, loaded once per process: for models
    that read with it (the aspect reader), in eval mode; never train this instance."""
    with _LOCK:
        return _encoder(base)


def _sentence_vectors(hidden: Any, attention: Any) -> np.ndarray:
    """Mean of the hidden states over the real (unpadded) tokens, L2-normalised, as numpy."""
    import torch

    weights = attention.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(pooled, dim=1).cpu().numpy()


def _remember(key: str, texts: Sequence[str], vectors: Sequence[np.ndarray]) -> None:
    """Keep the texts' vectors for this process (the oldest go past :data:`CACHE_SIZE`)."""
    for text, vector in zip(texts, vectors, strict=True):
        _VECTORS[(key, text)] = vector
    while len(_VECTORS) > CACHE_SIZE:
        _VECTORS.popitem(last=False)


def embed_with_states(texts: Sequence[str], n_lower: int, base: Path | None = None,
                      batch_size: int = 32, max_length: int = 128) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
    """What :func:`embed_texts` gives, and in the same pass each text's hidden states after the
    encoder's first ``n_lower`` layers (unpadded fp32 tensors, what
    :func:`core.aspect_reader.lower_states` gives), so a model that reads both runs the lower
    layers once."""
    import torch

    from core.trainer import attention_mask_for, cache_lower_layers, pad_cached, run_layers

    texts = ["" if t is None else str(t) for t in texts]
    with _LOCK:
        key, tokenizer, model = _encoder(base)
        states = cache_lower_layers(model, tokenizer, texts, n_lower, max_length,
                                    model.device, batch_size=batch_size,
                                    dtype=torch.float32)  # fmt: skip
        vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        order = np.argsort([s.shape[0] for s in states], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                hidden, attention = (t.to(model.device) for t in pad_cached(states, idx))
                mask = attention_mask_for(model, hidden, attention)
                hidden = run_layers(model.encoder.layer[n_lower:], hidden, mask)
                vectors[idx] = _sentence_vectors(hidden, attention)
        _remember(key, texts, list(vectors))
    return vectors, states


def embed_texts(texts: Sequence[str], base: Path | None = None, batch_size: int = 32,
                max_length: int = 128) -> np.ndarray:  # fmt: skip
    """One L2-normalised vector per text (shape ``(len(texts), dims)``); empty texts embed
    like the empty string."""
    import torch

    texts = ["" if t is None else str(t) for t in texts]
    with _LOCK:
        key, tokenizer, model = _encoder(base)
        # this call's vectors are kept apart from the cache, which may drop some of them
        # before the end when a call brings more texts than it holds
        found = {t: _VECTORS[(key, t)] for t in set(texts) if (key, t) in _VECTORS}
        todo = sorted(set(texts) - found.keys(), key=len)
        with torch.inference_mode():
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                batch = tokenizer(chunk, truncation=True, max_length=max_length, padding=True,
                                  return_tensors="pt").to(model.device)  # fmt: skip
                hidden = model(**batch).last_hidden_state
                vectors = list(_sentence_vectors(hidden, batch["attention_mask"]))
                found.update(zip(chunk, vectors, strict=True))
                _remember(key, chunk, vectors)
        if not texts:
            return np.zeros((0, model.config.hidden_size), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)
