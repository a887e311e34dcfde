from __future__ import annotations

import numpy as np
import pytest

from common.errors import InputError
from core.uncertainty import UNCERTAINTY_SIGNALS, entropy, margin, score_uncertainty

pytestmark = pytest.mark.unit

PROBS = np.array([[1.0, 0.0, 0.0], [0.5, 0.4, 0.1], [1 / 3, 1 / 3, 1 / 3]])


def test_entropy_and_margin_values() -> None:
    assert entropy(PROBS)[0] == pytest.approx(0.0, abs=1e-9)
    assert entropy(PROBS)[2] == pytest.approx(np.log(3))
    assert margin(PROBS).tolist() == pytest.approx([1.0, 0.1, 0.0])


@pytest.mark.parametrize("signal", ["entropy", "margin", "breaking_ties"])
def test_less_certain_rows_score_higher(signal: str) -> None:
    scores = score_uncertainty(PROBS, signal)
    assert scores[0] < scores[1] < scores[2]


def test_registry_lists_the_strategies_and_rejects_unknown() -> None:
    assert {"entropy", "margin", "breaking_ties", "random"} <= set(UNCERTAINTY_SIGNALS)
    with pytest.raises(InputError, match="choose one of"):
        score_uncertainty(PROBS, "nope")
