"""The precision a trainer runs fastest at on its accelerator, for ``trainer.precision``.

On a CPU with bfloat16 instructions (AVX512-BF16 or AMX) Lightning's ``bf16-mixed`` takes a
crnn_small training step about 1.6x faster than float32 (``benchmarks/train_speed.py``); a
CPU without them would emulate bfloat16, slower than float32, so it keeps float32. The
trainer configs ask for it as ``${fastest_precision:${.accelerator}}``;
``trainer.precision=32-true`` still overrides it.
"""

from __future__ import annotations

import torch


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (oneDNN's fast bf16 kernels)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def fastest_precision(accelerator: str) -> str:
    """``bf16-mixed`` where ``accelerator`` computes bfloat16 natively, else ``32-true``."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return "bf16-mixed" if native else "32-true"
    if accelerator in ("cpu", "auto") and cpu_has_bfloat16():
        return "bf16-mixed"
    return "32-true"
