"""One log line per epoch beside the progress bar: the numbers a user steers by, kept in
the run's log file too (the bar itself is redrawn and lost)."""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl

log = logging.getLogger("train")


class EpochLine(pl.Callback):
    def __init__(self) -> None:
        self._started = time.monotonic()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.monotonic()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        if "train/loss" in metrics:
            parts.append(f"loss {float(metrics['train/loss']):.3f}")
        read = [
            f"{source} {float(metrics[f'val/{source}/seq_acc']):.3f}"
            for source in ("real", "synthetic")
            if f"val/{source}/seq_acc" in metrics
        ]
        if read:
            parts.append("plates read: " + ", ".join(read))
        if trainer.optimizers:
            parts.append(f"lr {trainer.optimizers[0].param_groups[0]['lr']:.1e}")
        seconds = time.monotonic() - self._started
        parts.append(f"{seconds:.0f} s")
        left = trainer.max_epochs - trainer.current_epoch - 1
        if left > 0 and trainer.max_epochs < 10_000:  # the last epoch's pace, for the rest
            parts.append(f"~{seconds * left / 60:.0f} min left")
        log.info(" | ".join(parts))
