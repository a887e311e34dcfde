"""What this process's processor can do for the models, decided once per process from the
settings (:class:`common.settings.ModelSettings`): whether text models score on the CPU with a
bf16 copy of the encoder, and where the shared sentence encoder runs (the settings' device:
``auto`` takes the GPU when there is one).

A processor that multiplies bf16 natively (AVX512-BF16 or AMX) scores a bf16 copy about 1.8x
faster than fp32; elsewhere bf16 is emulated and no faster. ``SHOPLENS_CPU_BF16`` is ``auto``
(read the processor's flags), ``on`` (e.g. to test the path on a processor that only emulates
bf16) or ``off``. :meth:`core.context.Context.from_settings` applies it; a process without a
context (a benchmark) gets ``auto``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from common.settings import CPU_BF16_CHOICES, DEVICE_CHOICES

_PREFERENCE = {"cpu_bf16": "auto", "device": "auto"}


def use_device(preference: str) -> None:
    """Apply the settings' ``device`` (auto | cpu | cuda) to the models this process shares
    (the sentence encoder, and the aspect readers built on it)."""
    if preference not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {preference!r}")
    _PREFERENCE["device"] = preference


def shared_device() -> Any:
    """The torch device of the shared models: :func:`use_device`'s preference through
    :func:`core.modeling.pick_device` (a clear error when ``cuda`` is asked for and absent)."""
    from core.modeling import pick_device

    return pick_device(_PREFERENCE["device"])


def use_cpu_bf16(preference: str) -> None:
    """Apply the settings' ``cpu_bf16`` (auto | on | off) to this process."""
    if preference not in CPU_BF16_CHOICES:
        raise ValueError(f"cpu_bf16 must be one of {CPU_BF16_CHOICES}, got {preference!r}")
    _PREFERENCE["cpu_bf16"] = preference


def bf16_on_cpu() -> bool:
    """Whether text models score on the CPU with a bf16 copy of the encoder: the setting, or
    with `auto` whether the processor multiplies bf16 natively (see the module docstring)."""
    preference = _PREFERENCE["cpu_bf16"]
    if preference != "auto":
        return preference == "on"
    return _processor_has_bf16()


@cache
def _processor_has_bf16() -> bool:
    """AVX512-BF16 or AMX among the CPU flags, and a torch that runs bf16 on oneDNN (read once
    per process: the processor does not change)."""
    import torch

    if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:  # not Linux: no way to tell native from emulated bf16
        return False
    return any(f" {flag}" in flags for flag in ("avx512_bf16", "amx_bf16"))
