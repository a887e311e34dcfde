"""CLI tests reuse the labelling fixtures (toy store, in-memory Label Studio) and the sentiment
store of the core tests."""

from tests.core.conftest import sentiment_store  # noqa: F401 (fixture)
from tests.labeling.conftest import fake_ls, toy_store  # noqa: F401 (fixtures)
