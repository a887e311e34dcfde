"""Tests for core/modeling.py: making the CPU scoring variants."""

from __future__ import annotations

import pytest
import torch

from core.modeling import to_bf16

pytestmark = pytest.mark.unit


def test_the_bf16_copy_leaves_the_fp32_model_as_it_was():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.5)).train()
    half = to_bf16(model)
    assert next(half.parameters()).dtype == torch.bfloat16 and not half.training
    assert next(model.parameters()).dtype == torch.float32 and model.training
    x = torch.randn(5, 4)
    torch.testing.assert_close(half(x.bfloat16()).float(), model.eval()(x), atol=0.05, rtol=0.05)


@pytest.mark.integration
def test_batches_side_by_side_give_the_logits_of_one_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import core.modeling as cm

    model, tokenizer = cm.load_encoder(cm.base_model_path(), ("a", "b", "c"))
    texts = [
        f"review {i}: " + "the fabric is soft and the fit runs small " * (i % 5) for i in range(40)
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        calls: list[int] = []
        side_by_side = cm._side_by_side
        monkeypatch.setattr(cm, "_side_by_side", lambda *a: calls.append(1) or side_by_side(*a))
        both = cm.encoder_logits(model, tokenizer, texts, batch_size=4)
        assert calls and torch.get_num_threads() == 2  # ran side by side, threads restored
        with cm._SIDE_BY_SIDE:  # another run holds the threads: this one loops alone
            alone = cm.encoder_logits(model, tokenizer, texts, batch_size=4)
        assert len(calls) == 1
        np.testing.assert_allclose(both, alone, rtol=1e-5, atol=1e-6)
        assert both.shape == (40, 3) and np.abs(both).sum() > 0

        def broken(**kwargs: object) -> None:
            raise RuntimeError("out of memory")

        monkeypatch.setattr(model, "forward", broken)
        with pytest.raises(RuntimeError, match="out of memory"):
            cm.encoder_logits(model, tokenizer, texts, batch_size=4)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
