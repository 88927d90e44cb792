"""The precision ``trainer=gpu`` runs at: bfloat16 mixed where the GPU computes it natively.

A GPU without bfloat16 (a V100, a T4) would emulate it, slowly, so it trains in float32.
The CPU trainers stay in float32 on purpose: ``bf16-mixed`` steps 1.6x faster on a CPU with
AVX512-BF16 (``benchmarks/train_speed.py``), a whole epoch about 1.25x, but it read no more
of the unseen LPA plates, at the same budget or in the same minutes (README), so it is an
opt-in: ``trainer.precision=bf16-mixed``.
"""

from __future__ import annotations

import torch


def gpu_precision() -> str:
    """``bf16-mixed`` on a GPU that computes bfloat16 natively, else ``32-true``."""
    native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return "bf16-mixed" if native else "32-true"
