"""How ShopLens names the rows it derives from a shop's data (one module, so no other layer
spells an id pattern).

    >>> sentence_id("r42", 3)
    'r42:3'
"""

from __future__ import annotations


def sentence_id(review_id: str, position: int) -> str:
    """The id of a review's sentence (0-based ``position``)."""
    return f"{review_id}:{position}"
