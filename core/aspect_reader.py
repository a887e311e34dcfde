"""A reader of aspects fine-tuned on the shop's labelled sentences: the sentence encoder's top
layers, trained, with one attention query per aspect.

Every word of the sentence is read by the encoder (all-MiniLM-L6-v2, :mod:`core.embeddings`);
its lower ``frozen`` layers stay as they are (their output is worked out once per sentence while
training), the layers above them are fine-tuned. Each aspect has its own query that picks the
words it attends to ("the *sleeves* run *long*" for ``size_fit``); the words it picks, the whole
sentence (mean over its words), the rules' verdict on that aspect (absent / positive /
negative / neutral, :mod:`core.aspects`) and the review's star rating when the sentence comes
with one go into one small layer per aspect that answers absent, positive, negative or neutral. Trained on every (sentence, aspect) pair of the labelled
sentences, "absent" weighted down (most pairs are absent).

Unlike a logistic regression over a fixed sentence embedding, it learns which words of a
sentence carry an aspect's opinion, so it keeps gaining from labels: on the bundled labelled
sentences (5-fold) it matched the regressions' polarity with 630 labels and read it five
points better with 930 (docs/models.md). :class:`core.aspect_model.AspectModel` blends the
two.

    >>> reader = fit_reader(sentences, gold, APPAREL_SET)
    >>> reader.probabilities(["it runs small"]).shape  # (sentences, aspects, 4)
    (1, 9, 4)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import ShopLensError
from core.aspect_model import RATING_SCALE, RATINGS, rating_features
from core.aspect_sets import APPAREL_SET, POLARITIES, AspectSet
from core.aspects import Mention, extract_aspects

OUTCOMES = ("absent", *POLARITIES)  # what the reader answers per aspect, in this order
FROZEN_LAYERS = 3  # of the encoder's 6: the top 3 are fine-tuned
EPOCHS = 15
BATCH_SIZE = 16
LAYER_LR = 1e-4  # the encoder layers'; the aspect queries and outputs learn at HEAD_LR
HEAD_LR = 2e-3
ABSENT_WEIGHT = 0.3  # the loss weight of "absent" against a mention's 1
MAX_LENGTH = 128  # tokens read per sentence (as core.embeddings reads them)
RULE_SCALE = 3.0  # the rules' verdict enters the output layer this strongly
RATING_DROPOUT = 0.25  # the share of training sentences read as if they came without a rating


def _folder_name(path: str) -> str:
    """The encoder's folder name, which a stored reader keeps to check it reads with the same."""
    return Path(path).name


def _rule_verdicts(rules: Sequence[Sequence[Mention]], names: tuple[str, ...]) -> np.ndarray:
    """One-hot (sentences, aspects, 4) of the rules' verdict per aspect."""
    out = np.zeros((len(rules), len(names), len(OUTCOMES)), dtype=np.float32)
    out[:, :, 0] = 1.0
    for i, mentions in enumerate(rules):
        for m in mentions:
            j = names.index(m.aspect)
            out[i, j, 0] = 0.0
            out[i, j, OUTCOMES.index(m.polarity)] = 1.0
    return out


def _network(base: Any, frozen: int, n_aspects: int, context: int) -> Any:
    import torch

    hidden_size = int(base.config.hidden_size)

    class Heads(torch.nn.Module):
        """The fine-tuned top layers, one attention query and one output layer per aspect."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(
                [copy.deepcopy(layer) for layer in base.encoder.layer[frozen:]]
            )
            self.queries = torch.nn.Parameter(torch.randn(n_aspects, hidden_size) * 0.02)
            width = 2 * hidden_size + len(OUTCOMES) + context
            self.out = torch.nn.Parameter(torch.randn(n_aspects, width, len(OUTCOMES)) * 0.02)
            self.bias = torch.nn.Parameter(torch.zeros(n_aspects, len(OUTCOMES)))
            self.dropout = torch.nn.Dropout(0.1)

        def forward(self, hidden: Any, attention: Any, verdicts: Any, stars: Any) -> Any:
            from core.trainer import attention_mask_for, run_layers

            hidden = run_layers(self.layers, hidden, attention_mask_for(base, hidden, attention))
            scores = torch.einsum("btd,ad->bat", hidden, self.queries) / math.sqrt(hidden_size)
            scores = scores.masked_fill(attention.unsqueeze(1) == 0, -1e4)
            picked = torch.einsum("bat,btd->bad", scores.softmax(-1), hidden)
            weights = attention.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            x = torch.cat([picked, mean.unsqueeze(1).expand(-1, n_aspects, -1),
                           RULE_SCALE * verdicts,
                           RATING_SCALE * stars[:, None, :context].expand(-1, n_aspects, -1)],
                          -1)  # fmt: skip
            return torch.einsum("bai,aic->bac", self.dropout(x), self.out) + self.bias

    return Heads()


def lower_states(sentences: Sequence[str], frozen: int) -> list[Any]:
    """The encoder's output after its first ``frozen`` layers per sentence (unpadded, fp32):
    what a reader reads from (:func:`core.embeddings.embed_with_states` gives it with the
    sentence vectors in one pass)."""
    import torch

    from core.embeddings import encoder
    from core.trainer import cache_lower_layers

    _, tokenizer, base = encoder()
    return cache_lower_layers(base, tokenizer, list(sentences), frozen, MAX_LENGTH,
                              base.device, dtype=torch.float32)  # fmt: skip


@dataclass
class AspectReader:
    """The fitted reader: which aspects, how many layers stay frozen, the trained weights (numpy
    arrays, so the object pickles without torch state) and the base encoder it was trained on."""

    aspect_set: AspectSet
    frozen: int
    weights: dict[str, np.ndarray]
    base: str
    meta: dict[str, Any] = field(default_factory=dict)
    uses_ratings: bool = False  # reads the review's star rating
    _net: Any = field(default=None, init=False, repr=False, compare=False)  # built on first use

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_net"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _net=None)

    def _loaded(self) -> Any:
        import torch

        from core.embeddings import encoder

        key, _, base = encoder()
        if _folder_name(key) != self.base:
            raise ShopLensError(f"this aspect reader was trained on the encoder {self.base!r}; "
                                f"the settings name {key!r}: retrain the aspects task")  # fmt: skip
        if self._net is None:
            net = _network(base, self.frozen, len(self.aspect_set.names), self._context())
            net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights.items()})
            self._net = net.eval()
        if self._net.bias.device != base.device:  # on the encoder's device (the settings')
            self._net.to(base.device)
        return self._net

    def _context(self) -> int:
        return len(RATINGS) + 1 if self.uses_ratings else 0

    def probabilities(self, sentences: Sequence[str],
                      rules: Sequence[Sequence[Mention]] | None = None,
                      ratings: Sequence[float | None] | None = None,
                      states: Sequence[Any] | None = None) -> np.ndarray:  # fmt: skip
        """(sentences, aspects, 4): the probability that each aspect is absent, positive,
        negative or neutral (:data:`OUTCOMES`); ``rules``: the rules' mentions per sentence
        (worked out when not given); ``ratings``: each sentence's review rating (or None);
        ``states``: the sentences' :func:`lower_states` when already worked out."""
        import torch

        from core.trainer import pad_cached

        names = self.aspect_set.names
        sentences = [str(s or "") for s in sentences]
        out = np.zeros((len(sentences), len(names), len(OUTCOMES)), dtype=np.float32)
        if not sentences:
            return out
        if rules is None:
            rules = [extract_aspects(s, self.aspect_set) for s in sentences]
        verdicts = _rule_verdicts(rules, names)
        stars = rating_features(ratings, len(sentences)).astype(np.float32)
        net = self._loaded()
        if states is None:
            states = lower_states(sentences, self.frozen)
        order = np.argsort([s.shape[0] for s in states], kind="stable")
        device = net.bias.device
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                hidden, attention = (t.to(device) for t in pad_cached(list(states), idx))
                logits = net(hidden, attention, torch.from_numpy(verdicts[idx]).to(device),
                             torch.from_numpy(stars[idx]).to(device))  # fmt: skip
                out[idx] = logits.softmax(-1).cpu().numpy()
        return out


def _train(net: Any, states: list[Any], verdicts: np.ndarray, stars: np.ndarray,
           target: np.ndarray, epochs: int, seed: int,
           progress: Callable[[float, str], None] | None,
           label: str = "aspect reader") -> None:  # fmt: skip
    """The reader's training loop (AdamW, linear warm-up and decay, "absent" weighted down, a
    share of the sentences read without their rating)."""
    import torch

    from core.trainer import pad_cached

    heads = [net.queries, net.out, net.bias]
    optimizer = torch.optim.AdamW(
        [{"params": net.layers.parameters(), "lr": LAYER_LR}, {"params": heads, "lr": HEAD_LR}],
        weight_decay=0.01,
    )
    steps = max(1, epochs * math.ceil(len(states) / BATCH_SIZE))
    warmup = 0.1 * steps
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / warmup) * max(0.0, (steps - s) / steps)
    )
    device = net.bias.device
    loss_weights = torch.tensor([ABSENT_WEIGHT] + [1.0] * len(POLARITIES), device=device)
    unknown = rating_features(None, 1).astype(np.float32)
    rng = np.random.default_rng(seed)
    net.train()
    for epoch in range(epochs):
        order = rng.permutation(len(states))
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            hidden, attention = (t.to(device) for t in pad_cached(states, idx))
            batch_stars = stars[idx].copy()
            batch_stars[rng.random(len(idx)) < RATING_DROPOUT] = unknown
            logits = net(hidden, attention, torch.from_numpy(verdicts[idx]).to(device),
                         torch.from_numpy(batch_stars).to(device))  # fmt: skip
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, len(OUTCOMES)),
                torch.from_numpy(target[idx]).reshape(-1).to(device),
                weight=loss_weights,
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        if progress is not None:
            progress((epoch + 1) / epochs, f"{label}: epoch {epoch + 1} of {epochs}")


def fit_reader(sentences: Sequence[str], gold: Sequence[dict[str, str]],
               aspect_set: AspectSet = APPAREL_SET, rules: Sequence[Sequence[Mention]] | None = None,
               seed: int = 0, epochs: int = EPOCHS,
               progress: Callable[[float, str], None] | None = None,
               ratings: Sequence[float | None] | None = None) -> AspectReader:  # fmt: skip
    """Fine-tune a reader on labelled ``sentences`` (``gold``: aspect → polarity per sentence;
    aspects outside the set are ignored); ``rules`` and ``ratings`` as in
    :meth:`AspectReader.probabilities` (given ratings, it learns to read sentences with and
    without one); ``progress(done, message)`` after each epoch (``done`` from 0 to 1)."""
    return fit_readers(sentences, gold, aspect_set, rules, (seed,), epochs, progress, ratings)[0]


def fit_readers(sentences: Sequence[str], gold: Sequence[dict[str, str]],
                aspect_set: AspectSet = APPAREL_SET,
                rules: Sequence[Sequence[Mention]] | None = None, seeds: Sequence[int] = (0,),
                epochs: int = EPOCHS, progress: Callable[[float, str], None] | None = None,
                ratings: Sequence[float | None] | None = None) -> list[AspectReader]:  # fmt: skip
    """One reader per seed (:func:`fit_reader`), fine-tuned on the same sentences: their lower
    layers' states are worked out once; the seeds give each its own start and order."""
    import torch

    from core.embeddings import encoder

    names = aspect_set.names
    sentences = [str(s or "") for s in sentences]
    if rules is None:
        rules = [extract_aspects(s, aspect_set) for s in sentences]
    target = np.zeros((len(sentences), len(names)), dtype=np.int64)
    for i, g in enumerate(gold):
        for aspect, polarity in g.items():
            if aspect in names:
                target[i, names.index(aspect)] = OUTCOMES.index(polarity)
    verdicts = _rule_verdicts(rules, names)
    stars = rating_features(ratings, len(sentences)).astype(np.float32)
    uses_ratings = bool((stars[:, 0] == 0).any())
    key, _, base = encoder()
    states = lower_states(sentences, FROZEN_LAYERS)
    readers = []
    for n, seed in enumerate(seeds):
        label = "aspect reader" + (f" {n + 1} of {len(seeds)}" if len(seeds) > 1 else "")

        def report(done: float, message: str, n: int = n) -> None:
            if progress is not None:
                progress((n + done) / len(seeds), message)

        gpu = [base.device.index or 0] if base.device.type == "cuda" else []
        with torch.random.fork_rng(devices=gpu):  # seeded here, the process's generators untouched
            torch.manual_seed(seed)
            net = _network(base, FROZEN_LAYERS, len(names), stars.shape[1] if uses_ratings else 0)
            net.to(base.device)  # the encoder's (the settings' device: the GPU when there is one)
            _train(net, states, verdicts, stars, target, epochs, seed, report, label)
        net.eval()
        weights = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        reader = AspectReader(aspect_set, FROZEN_LAYERS, weights, _folder_name(key),
                              meta={"n_labelled": len(sentences), "epochs": epochs, "seed": seed},
                              uses_ratings=uses_ratings)  # fmt: skip
        reader._net = net
        readers.append(reader)
    return readers
