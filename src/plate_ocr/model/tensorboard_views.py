"""What TensorBoard shows beyond Lightning's scalars, set up when a fit starts.

- one chart with real and synthetic validation accuracy, and the sim-to-real gap as its own
  curve (custom scalars layout);
- the run's settings in the hparams tab with their metrics from the first epoch on (the tab
  reads the latest value of each metric's scalar, so it fills in as the run goes);
- each source's first training batch, as the network receives it after augmentation.
Sample predictions per source, errors in red, come from ``PlateRecognizer`` each validation.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger

from plate_ocr.gallery import annotated_grid

SOURCES = ("real", "synthetic")
HPARAM_METRICS = (
    "val/seq_acc",
    *(f"{stage}/{source}/seq_acc" for stage in ("val", "test") for source in SOURCES),
    "val/real/cer",
    "val/sim_to_real_gap",
)


def layout() -> dict:
    accuracy = ["Multiline", [f"val/{source}/seq_acc" for source in SOURCES]]
    return {
        "plates read": {
            "validation, real and synthetic": accuracy,
            "sim-to-real gap (synthetic - real)": ["Multiline", ["val/sim_to_real_gap"]],
            "characters (CER)": ["Multiline", [f"val/{source}/cer" for source in SOURCES]],
        },
        "training": {"loss": ["Multiline", ["train/loss"]]},
    }


class TensorBoardViews(pl.Callback):
    """``config``: the run's composed config, shown in the hparams tab (None: none shown)."""

    def __init__(self, config: DictConfig | dict | None = None, samples: int = 16):
        self.config, self.samples = config, samples
        self._shown: set[str] = set()  # sources whose first training batch is logged

    def _writer(self, trainer: pl.Trainer):
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                return logger
        return None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = self._writer(trainer)
        if logger is None:
            return
        logger.experiment.add_custom_scalars(layout())
        if self.config is not None:
            params = self.config
            if isinstance(params, DictConfig):
                params = OmegaConf.to_container(params, resolve=True)
            params = {k: v for k, v in params.items() if k != "hydra"}
            logger.log_hyperparams(params, dict.fromkeys(HPARAM_METRICS, float("nan")))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        logger = self._writer(trainer)
        new = set(batch["sources"]) - self._shown  # real crops may join epochs later
        if not new or logger is None:
            return
        self._shown |= new
        images = (batch["images"] * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        sources = np.array(batch["sources"])
        for source in sorted(new):
            picked = np.flatnonzero(sources == source)[: self.samples]
            labels = [batch["labels"][i] for i in picked]
            grid = annotated_grid(images[picked], labels, labels)
            logger.experiment.add_image(
                f"training_input/{source}", grid, trainer.global_step, dataformats="HWC"
            )
