"""An encoder that reads Chinese: the bundled all-MiniLM-L6-v2 with the common Chinese characters
added to its vocabulary and masked-language-model training on the shop's own texts.

all-MiniLM-L6-v2 knows 244 CJK characters (mostly Japanese-name kanji); everything else is
``[UNK]``. No Chinese or multilingual model can be downloaded here, so :func:`extend_encoder`

1. adds the **common characters**: the ``n_common`` most frequent characters of the Chinese
   language by the word frequencies of jieba's dictionary (it ships with the segmenter; its top
   3,500 stand in for the modern common-character list), plus every character the shop's texts
   use at least twice;
2. gives each new character the **mean embedding** of the known vocabulary plus a little seeded
   noise (nothing better is known of it yet; the noise lets characters tell each other apart);
3. continues **masked-language-model training** on the shop's texts for ``minutes`` (15 % of the
   tokens chosen, 80 % of them masked, 10 % replaced, 10 % kept; a fresh prediction head tied to
   the input embeddings; the embeddings learn five times faster than the layers above them);
4. saves the encoder and its tokenizer to the shop's encoder folder
   (``<home>/encoders/<shop>``), which the shop's text models then fine-tune instead of the
   bundled one (:func:`shop_encoder`).

A text task's training runs it first when at least 30 % of a shop's texts are Chinese and the
shop has no extended encoder yet (``shoplens train TASK --shop S --encoder-minutes M``; default
40 % of ``--max-minutes``); every later training of the shop's text tasks reuses it (remove the
folder to extend again).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ENCODERS_DIR = "encoders"
N_COMMON = 3500
CHINESE_SHARE = 0.3  # a shop whose texts are at least this share Chinese gets the extension


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def chinese_share(texts: Sequence[str]) -> float:
    """The share of the texts that hold a Chinese character."""
    texts = [str(t) for t in texts if t]
    return sum(any(is_han(c) for c in t) for t in texts) / len(texts) if texts else 0.0


def common_characters(n: int = N_COMMON) -> list[str]:
    """The ``n`` most frequent Chinese characters by the word frequencies of jieba's dictionary
    (each word's frequency counted for every character it holds), most frequent first."""
    import jieba

    counts: Counter[str] = Counter()
    path = Path(jieba.__file__).with_name("dict.txt")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                for ch in parts[0]:
                    if is_han(ch):
                        counts[ch] += int(parts[1])
    return [ch for ch, _ in counts.most_common(n)]


def shop_encoder(home: Path, shop_id: str) -> Path | None:
    """The shop's extended encoder folder, when it has one."""
    folder = home / ENCODERS_DIR / shop_id
    return folder if (folder / "config.json").is_file() else None


def extend_encoder(base: Path, out: Path, texts: Sequence[str], minutes: float = 5.0,
                   n_common: int = N_COMMON, max_length: int = 64, batch_size: int = 32,
                   seed: int = 0, max_steps: int | None = None,
                   progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Extend ``base``'s vocabulary with Chinese characters, train it as a masked language model
    on ``texts`` for ``minutes`` (or ``max_steps``), and save encoder and tokenizer to ``out``
    (written beside it first, then moved in place: a killed run leaves no half encoder).
    Returns what was done: characters added, steps, the loss at the start and the end."""
    import torch
    from transformers import AutoModel, AutoTokenizer, BertTokenizer

    from core.modeling import quiet_transformers

    quiet_transformers()
    report = progress or (lambda _f, _m: None)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    texts = [str(t) for t in texts if t and str(t).strip()]
    old = AutoTokenizer.from_pretrained(base)
    vocab = old.get_vocab()
    used = Counter(ch for t in texts for ch in t if is_han(ch))
    wanted = list(dict.fromkeys([*common_characters(n_common),
                                 *(ch for ch, n in used.most_common() if n >= 2)]))  # fmt: skip
    new_chars = [ch for ch in wanted if ch not in vocab]
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    ordered = sorted(vocab, key=vocab.__getitem__)
    extended = {token: i for i, token in enumerate([*ordered, *new_chars])}
    tokenizer = BertTokenizer(vocab=extended, do_lower_case=True, tokenize_chinese_chars=True,
                              model_max_length=old.model_max_length)  # fmt: skip
    model = AutoModel.from_pretrained(base)
    known = model.get_input_embeddings().weight.detach()
    model.resize_token_embeddings(len(tokenizer))
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        noise = torch.from_numpy(rng.normal(0, float(known.std()) * 0.1,
                                            (len(new_chars), known.shape[1]))).to(emb.dtype)  # fmt: skip
        emb[len(vocab) :] = known.mean(0) + noise
    steps, first_loss, last_loss = _masked_lm(model, tokenizer, texts, minutes,
                                              max_length, batch_size, rng, max_steps, report)  # fmt: skip
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    meta = {"base": str(base), "added_characters": len(new_chars), "vocabulary": len(tokenizer),
            "texts": len(texts), "steps": steps, "first_loss": first_loss, "last_loss": last_loss,
            "minutes": minutes}  # fmt: skip
    (staging / "shoplens_extension.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    staging.replace(out)
    return meta


def _masked_lm(model: Any, tokenizer: Any, texts: list[str], minutes: float,
               max_length: int, batch_size: int, rng: np.random.Generator,
               max_steps: int | None, report: Callable[[float, str], None]) -> tuple[int, float, float]:  # fmt: skip
    """Masked-language-model training of ``model`` (a BERT encoder) with a fresh head tied to
    its input embeddings; returns (steps, first loss, last loss)."""
    import torch
    from torch import nn

    hidden = model.config.hidden_size
    emb = model.get_input_embeddings()
    transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(),
                              nn.LayerNorm(hidden, eps=model.config.layer_norm_eps))  # fmt: skip
    bias = nn.Parameter(torch.zeros(emb.weight.shape[0]))
    rest = [p for p in model.parameters() if p is not emb.weight]
    params = [emb.weight, *rest, *transform.parameters(), bias]
    optimizer = torch.optim.AdamW([  # the embeddings (the new characters') learn faster
        {"params": [emb.weight], "lr": 5e-4},
        {"params": [*rest, *transform.parameters(), bias], "lr": 1e-4},
    ], weight_decay=0.01)  # fmt: skip
    special = set(tokenizer.all_special_ids)
    order = rng.permutation(len(texts))
    deadline = time.monotonic() + minutes * 60
    steps, first_loss, last_loss, cursor = 0, float("nan"), float("nan"), 0
    model.train()
    while texts and time.monotonic() < deadline and (max_steps is None or steps < max_steps):
        if cursor >= len(order):
            order, cursor = rng.permutation(len(texts)), 0
        chunk = [texts[i] for i in order[cursor : cursor + batch_size]]
        cursor += batch_size
        batch = tokenizer(chunk, truncation=True, max_length=max_length, padding=True,
                          return_tensors="pt")  # fmt: skip
        ids = batch["input_ids"]
        candidates = batch["attention_mask"].bool() & ~torch.isin(
            ids, torch.tensor(sorted(special))
        )
        chosen = candidates & (torch.rand(ids.shape) < 0.15)
        if not chosen.any():
            continue
        labels = ids[chosen]
        masked = ids.clone()
        roll = torch.rand(ids.shape)
        masked[chosen & (roll < 0.8)] = tokenizer.mask_token_id
        swap = chosen & (roll >= 0.8) & (roll < 0.9)
        masked[swap] = torch.randint(len(tokenizer), (int(swap.sum()),))
        states = model(input_ids=masked, attention_mask=batch["attention_mask"]).last_hidden_state
        logits = transform(states[chosen]) @ emb.weight.T + bias
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        steps += 1
        last_loss = float(loss.item())
        if steps == 1:
            first_loss = last_loss
        if steps % 20 == 0:
            left = max(deadline - time.monotonic(), 0) / max(minutes * 60, 1e-9)
            report(min(1 - left, 0.99), f"masked-LM step {steps}, loss {last_loss:.2f}")
    model.eval()
    return steps, first_loss, last_loss
