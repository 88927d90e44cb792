"""PlateRecognizer: the training system around a network (loss, decoding, metrics, logging).

Batches are dicts: ``images`` (B, C, H, W) floats in [0, 1], ``labels`` (digit strings) and
``sources`` ("real" / "synthetic" per sample), so every metric is kept per source.
``val/seq_acc`` is the headline number that checkpointing and early stopping watch: the real
source's sequence accuracy when a real source is validated, else the synthetic one's.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger
from torch import nn

from plate_ocr.errors import UserError, require_bool
from plate_ocr.gallery import annotated_grid
from plate_ocr.model.codec import BLANK, decode, encode
from plate_ocr.model.metrics import PlateMetrics
from plate_ocr.model.networks import PlateNetwork, network_config

HEADLINE_SOURCES = ("real", "synthetic")  # first one present is the headline
TOTAL_STEPS_KEY = "total_steps"  # the run length a checkpoint's schedule was built for


class PlateRecognizer(pl.LightningModule):
    def __init__(
        self,
        net: PlateNetwork,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., dict] | None = None,
        constrained_decoding: bool = False,
        gallery_size: int = 16,
    ):
        super().__init__()
        require_bool("model.constrained_decoding", constrained_decoding)
        # Only plain values go into the checkpoint, so it loads with weights_only=True.
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self._resumed: dict | None = None  # the checkpoint a resumed fit starts from
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
        self.metrics: dict[tuple[str, str], PlateMetrics] = {}
        self.gallery: dict[str, tuple[np.ndarray, list[str], list[str]]] = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, T, classes) log-probabilities."""
        return self.net.log_probs(images)

    def ctc_loss(self, log_probs: torch.Tensor, labels: list[str]) -> torch.Tensor:
        targets, target_lengths = encode(labels)
        batch, steps = log_probs.shape[:2]
        input_lengths = torch.full((batch,), steps, dtype=torch.long)
        # cuDNN's CTC wants float32 inputs; autocast may hand us half precision.
        return self.ctc(log_probs.float().transpose(0, 1), targets, input_lengths, target_lengths)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.ctc_loss(self(batch["images"]), batch["labels"])
        if not torch.isfinite(loss):
            # a diverged run must not go on to save and report NaN weights as a result
            raise UserError(
                f"training loss is {loss.item()} at step {self.global_step}: the run diverged; "
                "lower model.optimizer.lr (or check the data)"
            )
        size = len(batch["labels"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        for source in ("real", "recombined"):  # the realised shares; synthetic is the rest
            share = sum(s == source for s in batch["sources"]) / size
            self.log(
                f"train/{source}_fraction", share, on_step=False, on_epoch=True, batch_size=size
            )
        return loss

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate("val", batch, batch_idx)

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate("test", batch, batch_idx)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")
        self._log_gallery()

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def _evaluate(self, stage: str, batch: dict, batch_idx: int) -> None:
        source = batch["sources"][0]
        log_probs = self(batch["images"])
        size = len(batch["labels"])
        loss = self.ctc_loss(log_probs, batch["labels"])
        self.log(f"{stage}/{source}/loss", loss, batch_size=size, add_dataloader_idx=False)
        readings = [r.text for r in decode(log_probs, self.hparams.constrained_decoding)]
        key = (stage, source)
        if key not in self.metrics:
            self.metrics[key] = PlateMetrics().to(self.device)
        self.metrics[key].update(readings, batch["labels"])
        if stage == "val" and batch_idx == 0 and self.hparams.gallery_size:
            n = self.hparams.gallery_size
            images = (batch["images"][:n] * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
            self.gallery[source] = (images, batch["labels"][:n], readings[:n])

    def _log_epoch(self, stage: str) -> None:
        accuracy = {}
        for (metric_stage, source), metric in sorted(self.metrics.items()):
            if metric_stage != stage:
                continue
            values = metric.compute()
            for name, value in values.items():
                self.log(f"{stage}/{source}/{name}", value, add_dataloader_idx=False)
            accuracy[source] = values["seq_acc"]
            metric.reset()
        headline = next((accuracy[s] for s in HEADLINE_SOURCES if s in accuracy), None)
        if headline is not None:
            self.log(f"{stage}/seq_acc", headline, prog_bar=True, add_dataloader_idx=False)
        if len(accuracy) == len(HEADLINE_SOURCES):  # how much better synthetic plates read
            gap = accuracy["synthetic"] - accuracy["real"]
            self.log(f"{stage}/sim_to_real_gap", gap, add_dataloader_idx=False)

    def _log_gallery(self) -> None:
        if not isinstance(self.logger, TensorBoardLogger) or self.trainer.sanity_checking:
            return
        for source, (images, truths, readings) in self.gallery.items():
            grid = annotated_grid(images, truths, readings)
            self.logger.experiment.add_image(
                f"predictions/{source}", grid, self.global_step, dataformats="HWC"
            )
        self.gallery.clear()

    def configure_optimizers(self):
        try:
            optimizer = self.optimizer_factory(params=self.parameters())
        except ValueError as error:  # torch's "Invalid learning rate: -1" and the like
            raise UserError(f"model.optimizer: {error}; e.g. model.optimizer.lr=0.002") from error
        if self.scheduler_factory is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer, total_steps)
        if self._resumed is not None:
            _stretch_resumed_schedule(scheduler, total_steps, self._resumed)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # Lightning calls this before loading the weights and before configure_optimizers,
        # which may stretch the schedule.
        self._resumed = checkpoint

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["net_config"] = network_config(self.net)
        total_steps = self.trainer.estimated_stepping_batches
        if math.isfinite(total_steps):  # max_epochs=-1 runs without an end
            checkpoint[TOTAL_STEPS_KEY] = int(total_steps)


def _stretch_resumed_schedule(scheduler: dict, total_steps: int, checkpoint: dict) -> None:
    """Resume into a run longer (or shorter) than the saved one: per-step schedules are sized
    to the run, so the saved state would stop the run or crash (OneCycle steps past its
    end). Build the schedule for the new length instead and advance it to the saved step."""
    saved = checkpoint.get(TOTAL_STEPS_KEY)
    if scheduler["interval"] != "step" or saved in (None, total_steps):
        return
    done = int(checkpoint["global_step"])
    if done >= total_steps:
        raise UserError(
            f"trainer.max_epochs: the checkpoint already trained {done} steps, as many as the "
            f"whole run would ({total_steps}); raise trainer.max_epochs to train on"
        )
    checkpoint["lr_schedulers"] = []  # the saved schedule was for the other length
    with warnings.catch_warnings():  # stepping the schedule before any optimizer step
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(done):
            scheduler["scheduler"].step()
