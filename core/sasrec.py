"""A sequential recommender in the manner of SASRec: a small causal transformer reads a shopper's
last keys (items or categories, each with its event type) and scores every key of the shop as
the next one.

Keys seen fewer than ``min_count`` times share one "rare" token: they can be read but never
recommended (a key met once cannot be learned as an answer). The output layer is the key
embedding itself (tied weights) and training is next-key cross-entropy over the whole
vocabulary at every position of every sequence, so no negatives are sampled. It trains on the
CPU within ``max_seconds`` (GPU when there is one) and is one of the methods of
:mod:`core.kinds.recommendation`; :mod:`core.rerank` also reads its score of each candidate.

    >>> model = fit_sasrec(train, "category", max_seconds=60)
    >>> model.recommend_scored(train, users, 50)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.recommend import Lists, with_key

PAD, RARE = 0, 1
EVENT_TYPES = {"view": 1, "cart": 2, "fav": 3, "purchase": 4}


def _sequences(
    events: pd.DataFrame, key: str
) -> tuple[list[str], list[list[str]], list[list[int]]]:
    ordered = with_key(events, key).sort_values(["user_id", "ts"], kind="stable")
    kinds = (ordered["event_type"].map(EVENT_TYPES).fillna(0).astype(int)
             if "event_type" in ordered else pd.Series(0, index=ordered.index))  # fmt: skip
    frame = pd.DataFrame({"user_id": ordered["user_id"].astype(str).to_numpy(),
                          "k": ordered[key].astype(str).to_numpy(), "t": kinds.to_numpy()})  # fmt: skip
    grouped = frame.groupby("user_id", sort=True)
    keys = grouped["k"].agg(list)
    types = grouped["t"].agg(list)
    return keys.index.tolist(), keys.tolist(), types.tolist()


def _network(vocab: int, length: int, dim: int, layers: int, heads: int, dropout: float) -> Any:
    import torch
    from torch import nn

    class SASRec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.key = nn.Embedding(vocab, dim, padding_idx=PAD)
            self.kind = nn.Embedding(len(EVENT_TYPES) + 1, dim)
            self.position = nn.Embedding(length, dim)
            layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout, batch_first=True,
                                               norm_first=True)  # fmt: skip
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
            self.drop = nn.Dropout(dropout)
            causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
            self.register_buffer("causal", causal, persistent=False)

        def forward(self, keys: Any, kinds: Any) -> Any:
            n = keys.shape[1]
            positions = torch.arange(n, device=keys.device)
            x = self.key(keys) * dim**0.5 + self.kind(kinds) + self.position(positions)
            # each key sees itself and the real keys before it; padding sees only itself (a row
            # with nothing to attend to would turn into NaN)
            causal: Any = self.causal
            blocked = causal[:n, :n].unsqueeze(0) | keys.eq(PAD).unsqueeze(1)
            blocked = blocked & ~torch.eye(n, dtype=torch.bool, device=keys.device)
            x = self.encoder(self.drop(x), mask=blocked.repeat_interleave(heads, dim=0))
            return self.norm(x)  # (batch, length, dim): the state after each key

        def logits(self, state: Any) -> Any:
            return state @ self.key.weight.T

    return SASRec()


def _left_padded(rows: list[list[int]], length: int) -> np.ndarray:
    out = np.zeros((len(rows), length), dtype=np.int64)
    for i, row in enumerate(rows):
        tail = row[-length:]
        if tail:
            out[i, length - len(tail) :] = tail
    return out


@dataclass
class SASRecModel:
    """The fitted network, its vocabulary and settings."""

    key: str
    vocab: dict[str, int]
    state: dict[str, Any]
    dims: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def _module(self, device: str = "cpu") -> Any:
        net = _network(len(self.vocab) + 2, **self.dims)
        net.load_state_dict(self.state)
        return net.to(device).eval()

    def recommend_scored(self, events: pd.DataFrame, users: list[str], length: int = 50,
                         batch: int = 256) -> dict[str, list[tuple[str, float]]]:  # fmt: skip
        """Ranked ``(key, probability)`` pairs per shopper: the network's next-key distribution
        after the shopper's last keys (shoppers without one get an empty list)."""
        import torch

        names = np.array([""] * 2 + sorted(self.vocab, key=self.vocab.__getitem__), dtype=object)
        out: dict[str, list[tuple[str, float]]] = {str(u): [] for u in users}
        for who, probs in self.probabilities(events, users, batch):
            top = torch.topk(torch.from_numpy(probs), min(length, probs.shape[1] - 2), dim=1)
            for row, user in enumerate(who):
                out[user] = [(str(names[i]), float(p)) for p, i in
                             zip(top.values[row].tolist(), top.indices[row].tolist(), strict=True)
                             if i > RARE]  # fmt: skip
        return out

    def probabilities(self, events: pd.DataFrame, users: list[str],
                      batch: int = 256) -> Iterator[tuple[list[str], np.ndarray]]:  # fmt: skip
        """The next-key distribution over the vocabulary (column = vocabulary id) of the
        shoppers in ``users`` who have a key in ``events``, ``batch`` shoppers at a time (a
        shop's shoppers times its vocabulary would not fit in memory at once)."""
        import torch

        wanted = {str(u) for u in users}
        names, keys, kinds = _sequences(events, self.key)
        picked = [i for i, u in enumerate(names) if u in wanted]
        length = self.dims["length"]
        net = self._module()
        with torch.no_grad():
            for start in range(0, len(picked), batch):
                rows = picked[start : start + batch]
                ids = _left_padded([[self.vocab.get(k, RARE) for k in keys[i]] for i in rows],
                                   length)  # fmt: skip
                types = _left_padded([kinds[i] for i in rows], length)
                logits = net.logits(net(torch.from_numpy(ids), torch.from_numpy(types))[:, -1, :])
                logits[:, :2] = -torch.inf  # padding and rare keys are never an answer
                yield [names[i] for i in rows], torch.softmax(logits, dim=-1).numpy()

    def score_pairs(self, events: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
        """The probability of each ``(user_id, k)`` row of ``pairs`` being the next key (0 for
        a key outside the vocabulary or a shopper without keys)."""
        user_col = pairs["user_id"].astype(str).to_numpy()
        ids = pairs["k"].astype(str).map(self.vocab).fillna(-1).astype(int).to_numpy()
        out = np.zeros(len(pairs))
        for who, probs in self.probabilities(events, list(dict.fromkeys(user_col))):
            row_of = {u: r for r, u in enumerate(who)}
            mine = np.flatnonzero(np.isin(user_col, who) & (ids >= 0))
            out[mine] = probs[[row_of[u] for u in user_col[mine]], ids[mine]]
        return out

    def recommend(self, events: pd.DataFrame, users: list[str], length: int = 50) -> Lists:
        return {
            u: [k for k, _ in r] for u, r in self.recommend_scored(events, users, length).items()
        }


def fit_sasrec(train: pd.DataFrame, key: str = "item_id", *, length: int = 50, dim: int = 64,
               layers: int = 2, heads: int = 2, dropout: float = 0.2, epochs: int = 40,
               max_seconds: float = 120.0, min_count: int = 3, batch: int = 64, lr: float = 1e-3,
               seed: int = 0, device: str | None = None) -> SASRecModel:  # fmt: skip
    """Train on every shopper's key sequence in ``train`` (next key at every position), for
    ``epochs`` passes or ``max_seconds``, whichever comes first."""
    import torch

    names, keys, kinds = _sequences(train, key)
    counts = Counter(k for seq in keys for k in seq)
    kept = sorted(k for k, c in counts.items() if c >= min_count)
    if not kept:
        raise ValueError(f"no {key} occurs {min_count} times: too few events for SASRec")
    vocab = {k: i + 2 for i, k in enumerate(kept)}
    sequences = [([vocab.get(k, RARE) for k in seq], kind) for seq, kind in zip(keys, kinds,
                                                                                strict=True)]  # fmt: skip
    # windows of length + 1 keys: the input is the first `length`, the target the next one each
    windows_k: list[list[int]] = []
    windows_t: list[list[int]] = []
    for ids, kind in sequences:
        if len(ids) < 2:
            continue
        for end in range(len(ids), 1, -length):
            start = max(0, end - length - 1)
            windows_k.append(ids[start:end])
            windows_t.append(kind[start:end])
    if not windows_k:
        raise ValueError("no shopper has two events: too few events for SASRec")
    k_all = _left_padded(windows_k, length + 1)
    t_all = _left_padded(windows_t, length + 1)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dims: dict[str, Any] = {"length": length, "dim": dim, "layers": layers, "heads": heads,
                            "dropout": dropout}  # fmt: skip
    net = _network(len(vocab) + 2, **dims).to(device)
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    started, done, mean_loss = time.perf_counter(), 0, float("nan")
    deadline = started + max_seconds
    for _ in range(epochs):
        net.train()
        total, n = 0.0, 0
        order = rng.permutation(len(k_all))
        for start in range(0, len(order), batch):
            if time.perf_counter() > deadline:  # a large shop's epoch can outlast the budget
                break
            pick = order[start : start + batch]
            k = torch.from_numpy(k_all[pick]).to(device)
            t = torch.from_numpy(t_all[pick]).to(device)
            inputs, kinds_in, target = k[:, :-1], t[:, :-1], k[:, 1:]
            state = net(inputs, kinds_in)
            wanted = (target > RARE) & (inputs != PAD)
            if not bool(wanted.any()):
                continue
            loss = torch.nn.functional.cross_entropy(net.logits(state[wanted]), target[wanted])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, n = total + float(loss.detach()), n + 1
        done += 1
        mean_loss = round(total / max(n, 1), 4)
        if time.perf_counter() > deadline:
            break
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    meta = {"epochs": done, "loss": mean_loss, "vocabulary": len(vocab), "windows": len(k_all),
            "seconds": round(time.perf_counter() - started, 1), "device": device}  # fmt: skip
    return SASRecModel(key, vocab, state, dims, meta)
