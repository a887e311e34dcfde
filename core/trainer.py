"""The fine-tuning loop: AdamW with warm-up and linear decay, class weights, early stopping on
validation macro-F1 and a wall-clock budget.

Two plans share the loop. **Full** fine-tuning runs every layer on token batches. **Cached**
(the CPU default) runs the frozen embeddings and lower layers once per text, keeps their output
(fp16, unpadded) in memory, and trains only the top ``trainable_layers`` layers, the pooler and the
head on it: each step then costs a fraction of a full forward and backward pass. Batches are
length-bucketed and padded only to their own longest text in both plans.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score

from core.modeling import Encoder, Tokenizer

Progress = Callable[[float, str], None]
MIN_STEPS = 20  # a budget already spent on encoding still gets this many training steps


@dataclass
class LoopResult:
    """What the loop reports: best validation macro-F1, the epochs and steps run, loss trace."""

    best_val_f1: float
    epochs_run: float
    steps: int
    examples_seen: int
    seconds: float
    losses: list[float]
    stopped_by: str  # epochs | early_stopping | budget


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of similar-length rows: shuffle, sort within windows of 50 batches,
    cut into batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _encoder_parts(model: Encoder) -> tuple:
    base = model.base_model
    return base.embeddings, base.encoder.layer, getattr(base, "pooler", None)


def supports_cache(model: Encoder) -> bool:
    """True for BERT-like encoders (embeddings, encoder.layer, pooler, classifier)."""
    base = getattr(model, "base_model", None)
    return all(hasattr(x, n) for x, n in ((base, "embeddings"), (base, "encoder"),
                                          (model, "classifier")))  # fmt: skip


def attention_mask_for(model: Encoder, hidden: torch.Tensor,
                       attention: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The mask the encoder's layers take for a padded batch (``attention``: 1 for a token)."""
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(
        config=model.config, inputs_embeds=hidden, attention_mask=attention
    )


def run_layers(layers: Any, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``hidden`` through each encoder layer in turn (a layer may answer a tuple whose first
    element is the hidden state, as older transformers versions do)."""
    for layer in layers:
        out = layer(hidden, mask)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


@torch.inference_mode()
def cache_lower_layers(
    model: Encoder, tokenizer: Tokenizer, texts: list[str], n_frozen: int, max_length: int,
    device: torch.device, progress: Progress | None = None, batch_size: int = 32,
    dtype: torch.dtype = torch.float16,
) -> list[torch.Tensor]:  # fmt: skip
    """Hidden states after the first ``n_frozen`` layers for every text, unpadded, in ``dtype``
    on the CPU."""
    embeddings, layers, _ = _encoder_parts(model)
    model.eval()
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    out: list[torch.Tensor | None] = [None] * len(texts)
    for n, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start : start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
        ids, att = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        hidden = embeddings(input_ids=ids)
        hidden = run_layers(layers[:n_frozen], hidden, attention_mask_for(model, hidden, att))
        for row, i in enumerate(idx):
            out[i] = hidden[row, : len(encoded[i])].to(dtype).cpu()
        if progress and n % 20 == 0:
            progress(start / max(1, len(order)), f"encoding {start}/{len(order)} texts")
    return out  # type: ignore[return-value]


def pad_cached(states: list[torch.Tensor], idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch of cached states to its longest row; returns (hidden fp32, attention mask)."""
    longest = max(states[i].shape[0] for i in idx)
    hidden = torch.zeros(len(idx), longest, states[idx[0]].shape[1])
    mask = torch.zeros(len(idx), longest, dtype=torch.long)
    for row, i in enumerate(idx):
        n = states[i].shape[0]
        hidden[row, :n] = states[i].float()
        mask[row, :n] = 1
    return hidden, mask


def top_forward(
    model: Encoder, hidden: torch.Tensor, attention: torch.Tensor, n_frozen: int
) -> torch.Tensor:
    """Logits from cached lower-layer states: the remaining layers, pooler, dropout, head."""
    _, layers, pooler = _encoder_parts(model)
    hidden = run_layers(layers[n_frozen:], hidden, attention_mask_for(model, hidden, attention))
    pooled = pooler(hidden) if pooler is not None else hidden[:, 0]
    dropout = getattr(model, "dropout", torch.nn.Identity())
    return model.classifier(dropout(pooled))


@torch.inference_mode()
def cached_logits(
    model: Encoder, states: list[torch.Tensor], n_frozen: int, device: torch.device,
    batch_size: int = 64,
) -> np.ndarray:  # fmt: skip
    """Logits for every cached text (eval mode), rows in input order."""
    model.eval()
    order = np.argsort([s.shape[0] for s in states], kind="stable")
    out = np.zeros((len(states), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        hidden, mask = pad_cached(states, idx)
        logits = top_forward(model, hidden.to(device), mask.to(device), n_frozen)
        out[idx] = logits.float().cpu().numpy()
    return out


def run_loop(
    model: Encoder,
    step_logits: Callable[[np.ndarray, bool], torch.Tensor],
    val_logits: Callable[[], np.ndarray],
    y_train: np.ndarray,
    y_val: np.ndarray,
    lengths: np.ndarray,
    config: Any,
    deadline: float,
    progress: Progress | None = None,
) -> LoopResult:
    """Train the parameters of ``model`` that require grad. ``step_logits(batch_rows, train)``
    gives logits for rows of the training set; ``val_logits()`` the validation logits."""
    from transformers import get_linear_schedule_with_warmup

    rng = np.random.default_rng(config.seed)
    n_classes = model.config.num_labels
    counts = np.bincount(y_train, minlength=n_classes).astype(float)
    weights = None
    if config.class_weights:
        w = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
        weights = torch.tensor(w, dtype=torch.float32, device=next(model.parameters()).device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(y_train) // config.batch_size)
    total = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    best_f1, best_state, bad_epochs, step, seen = -1.0, None, 0, 0, 0
    losses: list[float] = []
    start, stopped_by, epoch_float = time.monotonic(), "epochs", 0.0

    def evaluate() -> None:
        nonlocal best_f1, best_state, bad_epochs
        pred = val_logits().argmax(axis=1)
        f1 = f1_score(y_val, pred, average="macro", zero_division=0)
        if f1 > best_f1:
            best_f1, bad_epochs = f1, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()
                          if _trainable(model, k)}  # fmt: skip
        else:
            bad_epochs += 1

    for epoch in range(config.epochs):
        model.train()
        for n, rows in enumerate(bucketed_batches(lengths, config.batch_size, rng)):
            logits = step_logits(rows, True)
            target = torch.as_tensor(y_train[rows], device=logits.device)
            loss = loss_fn(logits.float(), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step, seen = step + 1, seen + len(rows)
            epoch_float = epoch + (n + 1) / steps_per_epoch
            if progress and step % 10 == 0:
                progress(epoch_float / config.epochs, f"epoch {epoch_float:.2f} loss {loss:.3f}")
            if time.monotonic() > deadline and step >= MIN_STEPS:
                stopped_by = "budget"
                break
        evaluate()
        if stopped_by == "budget":
            break
        if bad_epochs > config.patience:
            stopped_by = "early_stopping"
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    return LoopResult(best_f1, epoch_float, step, seen, time.monotonic() - start, losses,
                      stopped_by)  # fmt: skip


def _trainable(model: Encoder, key: str) -> bool:
    params = dict(model.named_parameters())
    return key in params and params[key].requires_grad


def freeze_lower(model: Encoder, n_frozen: int) -> None:
    """Freeze the embeddings and the first ``n_frozen`` encoder layers."""
    embeddings, layers, _ = _encoder_parts(model)
    for module in [embeddings, *layers[:n_frozen]]:
        for p in module.parameters():
            p.requires_grad_(False)
