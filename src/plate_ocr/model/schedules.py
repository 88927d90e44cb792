"""Learning-rate schedules, each returning the scheduler config Lightning expects.

Each schedule knows how it must be stepped (per step or per epoch, on which metric), so the
LightningModule only passes the optimizer and the run length and never special-cases one.
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
)


def one_cycle(optimizer: Optimizer, total_steps: int, pct_start: float = 0.15) -> dict:
    """Warm up then anneal: robust for CTC, which stalls on blanks when started too hot."""
    max_lr = [group["lr"] for group in optimizer.param_groups]
    scheduler = OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)
    return {"scheduler": scheduler, "interval": "step"}


def cosine(optimizer: Optimizer, total_steps: int, warmup_steps: int = 200) -> dict:
    warmup_steps = min(warmup_steps, max(1, total_steps // 10))
    scheduler = SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=0.05, total_iters=warmup_steps),
            CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps)),
        ],
        milestones=[warmup_steps],
    )
    return {"scheduler": scheduler, "interval": "step"}


def plateau(
    optimizer: Optimizer,
    total_steps: int,
    monitor: str = "val/seq_acc",
    factor: float = 0.5,
    patience: int = 2,
) -> dict:
    """Halve the rate when the headline accuracy stops improving (run length unused)."""
    scheduler = ReduceLROnPlateau(optimizer, mode="max", factor=factor, patience=patience)
    return {"scheduler": scheduler, "interval": "epoch", "monitor": monitor}
