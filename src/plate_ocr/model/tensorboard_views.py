"""What TensorBoard shows beyond Lightning's scalars, set up when a fit starts.

- one chart with real and synthetic validation accuracy, and the sim-to-real gap as its own
  curve (custom scalars layout);
- the settings that tell runs apart in the hparams tab, with the metrics that matter (the
  tab reads the latest value of each metric's scalar, so it fills in as the run goes);
- each source's first training batch, as the network receives it after augmentation.
Sample predictions per source, errors in red, come from ``PlateRecognizer`` each validation.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard.summary import hparams

from plate_ocr.gallery import annotated_grid

SOURCES = ("real", "synthetic")
BY_SOURCE = "by_source"  # run folders beside the run's own, one per source
VALIDATION_TAG = "accuracy/validation plates read"  # each source its own run: one chart


def run_settings(cfg: DictConfig | dict, datamodule, choices: dict) -> dict:
    """The settings that tell runs apart, by name, in the order a person compares them:
    sources and shares, model, input, rate, budget, seed, fold. The shares are the ones the
    data module resolved, not the config's null."""
    data, trainer = cfg["data"], cfg["trainer"]
    real_share = getattr(getattr(datamodule, "schedule", None), "ratio", data.get("real_ratio"))
    recombined = getattr(getattr(datamodule, "recombined_schedule", None), "ratio", None)
    settings = {
        "real share": real_share,
        "recombined share": recombined if recombined is not None else data.get("recombined_ratio"),
        "model": choices.get("model") or str(cfg["model"]["net"].get("_target_")),
        "start": cfg.get("init_from"),
        "fold": data.get("real_fold") if data.get("real_dir") else None,
        "seed": cfg.get("seed"),
        "learning rate": cfg["model"]["optimizer"].get("lr"),
        "epochs": trainer.get("max_epochs"),
        "epoch size": data.get("epoch_size"),
        "synthetic epochs first": data.get("synthetic_epochs"),
        "input": "x".join(str(side) for side in data.get("image_size", ())),
        "experiment": choices.get("experiment"),
        "real crops": data.get("real_dir"),
    }
    # the tab sorts names and shows the first few: numbered, the ones that tell runs apart
    # most often come first
    settings = {f"{i:02d} {name}": value for i, (name, value) in enumerate(settings.items(), 1)}
    # the hparams tab takes numbers, words and switches; nothing set reads "-"
    return {
        k: v if isinstance(v, bool | int | float | str) else ("-" if v is None else str(v))
        for k, v in settings.items()
    }


def shown_metrics(datamodule) -> list[str]:
    """The metrics the hparams tab lists: accuracy per source the run is scored on, the
    real CER and the gap; none for a source it has no crops of (no empty columns)."""
    sources = getattr(datamodule, "eval_sources", {})
    metrics = []
    for stage, split in (("val", "validation"), ("test", "test")):
        metrics += [f"{stage}/{s}/seq_acc" for s in SOURCES if s in sources.get(split, {})]
    if "real" in sources.get("validation", {}):
        metrics += ["val/real/cer", "val/sim_to_real_gap"]
    return metrics


class PlateTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoard logger without the ``epoch`` scalar Lightning adds to each
    epoch's metrics: TensorBoard sorts charts by name, so it came first, above accuracy."""

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        super().log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step)


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

    def __init__(
        self,
        config: DictConfig | dict | None = None,
        samples: int = 16,
        choices: dict | None = None,
    ):
        self.config, self.samples, self.choices = config, samples, choices or {}
        self._shown: set[str] = set()  # sources whose first training batch is logged
        self._by_source: dict = {}  # source -> a writer of its own run folder

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
        if self.config is not None and trainer.is_global_zero:  # other ranks write nothing
            config = self.config
            if isinstance(config, DictConfig):
                config = OmegaConf.to_container(config, resolve=True)
            settings = run_settings(config, trainer.datamodule, self.choices)
            # the session alone: the tab reads each metric's latest scalar as the run logs it,
            # and Lightning's log_hyperparams would write a NaN point of each at step 0
            metrics = dict.fromkeys(shown_metrics(trainer.datamodule), 0.0)
            writer = logger.experiment._get_file_writer()
            for summary in hparams(settings, metrics):
                writer.add_summary(summary)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        """Real and synthetic accuracy under one tag in a run folder per source: TensorBoard's
        Scalars tab draws them in one chart, first (it sorts sections by name)."""
        logger = self._writer(trainer)
        if logger is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        from torch.utils.tensorboard import SummaryWriter

        for source in SOURCES:
            value = trainer.callback_metrics.get(f"val/{source}/seq_acc")
            if value is None:
                continue
            if source not in self._by_source:
                folder = f"{logger.log_dir}/{BY_SOURCE}/{source}"
                self._by_source[source] = SummaryWriter(folder)
            writer = self._by_source[source]
            writer.add_scalar(VALIDATION_TAG, float(value), trainer.global_step)
            writer.flush()

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        for writer in self._by_source.values():
            writer.close()
        self._by_source.clear()

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
