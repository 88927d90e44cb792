"""Learning-rate schedules, each returning the scheduler config Lightning expects.

A schedule knows how it must be stepped (per step or per epoch, on which metric), so the
LightningModule only passes the optimizer and the run length and never special-cases one.
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import OneCycleLR


def one_cycle(optimizer: Optimizer, total_steps: int, pct_start: float = 0.15) -> dict:
    """Warm up then anneal: robust for CTC, which stalls on blanks when started too hot."""
    max_lr = [group["lr"] for group in optimizer.param_groups]
    scheduler = OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)
    # named into the train/ section of TensorBoard, beside the loss, not a chart of its own
    return {"scheduler": scheduler, "interval": "step", "name": "train/lr"}
