"""The precision ``trainer=gpu`` runs at: bfloat16 mixed where the GPU computes it natively.

A GPU without bfloat16 (a V100, a T4) would emulate it, slowly, so it trains in float32.
The CPU trainers stay in float32 on purpose: ``bf16-mixed`` is faster only on a CPU that
computes bfloat16 natively, and it read no more unseen real plates at the same budget or in
the same minutes (docs/results.md), so it is an opt-in: ``trainer.precision=bf16-mixed``.
"""

from __future__ import annotations

import torch


def gpu_precision() -> str:
    """``bf16-mixed`` on a GPU that computes bfloat16 natively, else ``32-true``."""
    native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return "bf16-mixed" if native else "32-true"
