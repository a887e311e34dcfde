"""Tests for core/hardware.py: the process-wide choices of bf16 CPU scoring and of the shared
models' device, from the settings."""

from __future__ import annotations

import pytest
import torch

from common.errors import InputError, ShopLensError
from common.settings import load_settings
from core import hardware
from core.context import Context

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _restore():
    before = dict(hardware._PREFERENCE)
    yield
    hardware.use_cpu_bf16(before["cpu_bf16"])
    hardware.use_device(before["device"])


def test_the_setting_turns_bf16_cpu_scoring_off_or_forces_it(tmp_path):
    for value, expected in (("off", False), ("on", True), ("OFF", False)):
        settings = load_settings({"SHOPLENS_HOME": str(tmp_path), "SHOPLENS_CPU_BF16": value})
        Context.from_settings(settings)
        assert hardware.bf16_on_cpu() is expected


def test_auto_reads_the_processor_and_a_wrong_value_says_what_to_write(tmp_path):
    assert load_settings({"SHOPLENS_HOME": str(tmp_path)}).models.cpu_bf16 == "auto"
    hardware.use_cpu_bf16("auto")
    assert isinstance(hardware.bf16_on_cpu(), bool)
    with pytest.raises(InputError, match="SHOPLENS_CPU_BF16 must be one of auto, on, off"):
        load_settings({"SHOPLENS_HOME": str(tmp_path), "SHOPLENS_CPU_BF16": "yes"})
    with pytest.raises(ValueError, match="cpu_bf16"):
        hardware.use_cpu_bf16("maybe")


def test_the_shared_models_follow_the_device_setting(tmp_path):
    settings = load_settings({"SHOPLENS_HOME": str(tmp_path), "SHOPLENS_DEVICE": "CPU"})
    assert settings.models.device == "cpu"
    Context.from_settings(settings)
    assert hardware.shared_device() == torch.device("cpu")
    hardware.use_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert hardware.shared_device().type == expected
    with pytest.raises(InputError, match="SHOPLENS_DEVICE must be one of auto, cpu, cuda"):
        load_settings({"SHOPLENS_HOME": str(tmp_path), "SHOPLENS_DEVICE": "gpu"})
    with pytest.raises(ValueError, match="device must be one of"):
        hardware.use_device("tpu")
    if not torch.cuda.is_available():
        hardware.use_device("cuda")
        with pytest.raises(ShopLensError, match="no CUDA device is available"):
            hardware.shared_device()
