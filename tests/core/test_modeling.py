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
