"""A small transformer over a shopper's event sequence: the "large model for behaviour" of the
shopper forecasts, at a size that trains on two CPU cores in about a minute.

Each of the shopper's last :data:`MAX_EVENTS` events before the cutoff becomes three tokens
summed into one vector: what happened (event type and category, e.g. ``cart|Dresses``; a
category seen fewer than :data:`MIN_COUNT` times in training becomes ``cart|other``), how long
after the previous event (log2 hours, bucketed) and how long before the cutoff (the same). Two
encoder layers read the sequence and its masked mean gives one logit. It is one of the raw
scorers of :mod:`core.shopper_forecast` (calibrated and chosen on validation like the others).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_EVENTS = 64
MIN_COUNT = 20
BUCKETS = 16
SEQUENCE_COLUMNS = ("seq_events", "seq_gaps", "seq_ages")


def _bucket(hours: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(np.log2(1.0 + np.maximum(hours, 0.0) * 4.0)), 0, BUCKETS - 1).astype(
        int
    )


def sequence_columns(events: pd.DataFrame, cutoff: pd.Timestamp, users: pd.Index) -> pd.DataFrame:
    """Per shopper in ``users`` (index), their last events before ``cutoff`` as
    :data:`SEQUENCE_COLUMNS`: the event strings, the gap buckets and the age buckets."""
    past = events[events["ts"] < cutoff].sort_values(["user_id", "ts"], kind="stable")
    past = past.groupby("user_id", sort=False).tail(MAX_EVENTS)
    hours = (cutoff - past["ts"]).dt.total_seconds().to_numpy() / 3600.0
    gaps = past.groupby("user_id", sort=False)["ts"].diff().dt.total_seconds().fillna(0).to_numpy()
    what = (past["event_type"].astype(str) + "|" + past["category"].astype(str)).to_numpy()
    frame = pd.DataFrame({"user_id": past["user_id"].astype(str).to_numpy(), "what": what,
                          "gap": _bucket(gaps / 3600.0), "age": _bucket(hours)})  # fmt: skip
    grouped = frame.groupby("user_id", sort=False)
    out = pd.DataFrame({
        "seq_events": grouped["what"].agg(list), "seq_gaps": grouped["gap"].agg(list),
        "seq_ages": grouped["age"].agg(list),
    })  # fmt: skip
    return out.reindex(users.astype(str))


@dataclass
class SequenceScorer:
    """The fitted transformer and its vocabulary; ``scorer(x)`` gives log-odds per row of a
    window frame that carries :data:`SEQUENCE_COLUMNS`."""

    vocab: dict[str, int]
    state: dict[str, Any]
    dims: dict[str, int] = field(default_factory=dict)

    def _ids(self, events: list[str]) -> list[int]:
        out = []
        for e in events:
            if e in self.vocab:
                out.append(self.vocab[e])
            else:
                out.append(self.vocab.get(e.split("|", 1)[0] + "|other", 1))
        return out

    def tensors(self, x: pd.DataFrame) -> tuple[Any, Any, Any, Any]:
        import torch

        n = len(x)
        tok = np.zeros((n, MAX_EVENTS), dtype=np.int64)
        gap = np.zeros((n, MAX_EVENTS), dtype=np.int64)
        age = np.zeros((n, MAX_EVENTS), dtype=np.int64)
        for i, (events, gaps, ages) in enumerate(zip(x["seq_events"], x["seq_gaps"], x["seq_ages"],
                                                     strict=True)):  # fmt: skip
            if not isinstance(events, list) or not events:
                tok[i, 0] = 1  # an empty history reads as one unknown event
                continue
            k = len(events)
            tok[i, :k], gap[i, :k], age[i, :k] = self._ids(events), gaps, ages
        return (torch.from_numpy(tok), torch.from_numpy(gap), torch.from_numpy(age),
                torch.from_numpy(tok == 0))  # fmt: skip

    def module(self) -> Any:
        net = _network(len(self.vocab) + 2, **self.dims)
        net.load_state_dict(self.state)
        net.eval()
        return net

    def __call__(self, x: pd.DataFrame) -> np.ndarray:
        import torch

        net = self.module()
        out = []
        with torch.no_grad():
            tok, gap, age, pad = self.tensors(x)
            for start in range(0, len(x), 1024):
                sl = slice(start, start + 1024)
                out.append(net(tok[sl], gap[sl], age[sl], pad[sl]).numpy())
        return np.concatenate(out) if out else np.zeros(0)


def _network(vocab_size: int, dim: int = 32, layers: int = 2, heads: int = 2) -> Any:
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(vocab_size, dim, padding_idx=0)
            self.gap = nn.Embedding(BUCKETS, dim)
            self.age = nn.Embedding(BUCKETS, dim)
            layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(dim, 1)

        def forward(self, tok: Any, gap: Any, age: Any, pad: Any) -> Any:
            h = self.encoder(
                self.tok(tok) + self.gap(gap) + self.age(age), src_key_padding_mask=pad
            )
            keep = (~pad).unsqueeze(-1).float()
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    torch.manual_seed(0)
    return Net()


def fit_sequence(train: pd.DataFrame, epochs: int = 4, seed: int = 0,
                 dim: int = 32) -> SequenceScorer:  # fmt: skip
    """Train on a window frame with :data:`SEQUENCE_COLUMNS` and the label ``y``."""
    import torch

    torch.manual_seed(seed)
    counts = Counter(
        e for events in train["seq_events"] if isinstance(events, list) for e in events
    )
    kept = [e for e, c in counts.items() if c >= MIN_COUNT]
    kinds = sorted({e.split("|", 1)[0] for e in counts})
    vocab = {e: i + 2 for i, e in enumerate(sorted(kept) + [f"{k}|other" for k in kinds])}
    scorer = SequenceScorer(vocab, {}, {"dim": dim})
    net = _network(len(vocab) + 2, dim=dim)
    tok, gap, age, pad = scorer.tensors(train)
    y = torch.tensor(train["y"].to_numpy(), dtype=torch.float32)
    optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), 256):
            idx = torch.from_numpy(order[start : start + 256])
            optimiser.zero_grad()
            loss = loss_fn(net(tok[idx], gap[idx], age[idx], pad[idx]), y[idx])
            loss.backward()
            optimiser.step()
    scorer.state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return scorer
