"""How unsure a model is of a prediction, as a registry of named signals.

Each signal maps a matrix of class probabilities (rows sum to 1) to one score per row where
**higher means less certain**, so every routing strategy can sort the same way.

    >>> import numpy as np
    >>> probs = np.array([[0.9, 0.1], [0.55, 0.45]])
    >>> score_uncertainty(probs, "margin").round(2).tolist()
    [0.2, 0.9]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from common.errors import InputError

UncertaintySignal = Callable[..., np.ndarray]
UNCERTAINTY_SIGNALS: dict[str, UncertaintySignal] = {}


def register_signal(name: str) -> Callable[[UncertaintySignal], UncertaintySignal]:
    """Register an uncertainty signal under ``name`` (a decorator)."""

    def decorate(fn: UncertaintySignal) -> UncertaintySignal:
        if name in UNCERTAINTY_SIGNALS:
            raise ValueError(f"uncertainty signal {name!r} is registered twice")
        UNCERTAINTY_SIGNALS[name] = fn
        return fn

    return decorate


def _as_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(
            f"expected an (n_rows, n_classes>=2) probability matrix, got {probs.shape}"
        )
    return probs


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row."""
    probs = _as_probs(probs)
    safe = np.clip(probs, 1e-12, 1.0)
    return -(probs * np.log(safe)).sum(axis=1)


def margin(probs: np.ndarray) -> np.ndarray:
    """Difference between the two most probable classes (small = unsure)."""
    probs = _as_probs(probs)
    top2 = np.sort(probs, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


@register_signal("entropy")
def entropy_signal(probs: np.ndarray) -> np.ndarray:
    """Normalised entropy: 0 for a one-hot row, 1 for a uniform row."""
    probs = _as_probs(probs)
    return entropy(probs) / np.log(probs.shape[1])


@register_signal("margin")
def margin_signal(probs: np.ndarray) -> np.ndarray:
    """One minus the top-two margin."""
    return 1.0 - margin(probs)


@register_signal("breaking_ties")
def breaking_ties_signal(probs: np.ndarray) -> np.ndarray:
    """Breaking ties (Luo et al. 2005): like margin, but ties break towards rows whose top class
    is itself weak, which spreads queries across more confusable classes."""
    probs = _as_probs(probs)
    top = probs.max(axis=1)
    return (1.0 - margin(probs)) + 1e-3 * (1.0 - top)


@register_signal("random")
def random_signal(probs: np.ndarray, seed: int = 0) -> np.ndarray:
    """A seeded random score: the baseline every other strategy must beat."""
    probs = _as_probs(probs)
    return np.random.default_rng(seed).random(probs.shape[0])


def score_uncertainty(probs: np.ndarray, signal: str = "entropy", seed: int = 0) -> np.ndarray:
    """Score each row with the named signal; higher means the model is less sure (``seed``
    feeds the signals that draw at random)."""
    try:
        fn = UNCERTAINTY_SIGNALS[signal]
    except KeyError:
        known = ", ".join(sorted(UNCERTAINTY_SIGNALS))
        raise InputError(f"unknown uncertainty signal {signal!r}; choose one of: {known}") from None
    takes_seed = "seed" in inspect.signature(fn).parameters
    return fn(probs, seed=seed) if takes_seed else fn(probs)
