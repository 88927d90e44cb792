"""One training run from a composed config: build, fit, test, summarise.

``train.py`` is only the Hydra entry; this is the run itself, so tests and other tools can
call it with a config they composed.
"""

from __future__ import annotations

import json
import logging
import warnings

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from plate_ocr.atomic import write_text
from plate_ocr.config_check import check_config
from plate_ocr.errors import UserError, require_bool, sigterm_as_ctrl_c
from plate_ocr.markdown import table
from plate_ocr.model.checkpoint import check_resumable, init_weights
from plate_ocr.model.precision import native_precision
from plate_ocr.model.tensorboard_views import TensorBoardViews
from plate_ocr.run_folder import METRICS_FILE, output_folder

log = logging.getLogger(__name__)
# Lightning's own deprecation notices, about its internals: nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# a resumed run writes to a new folder by design: that its checkpoints' folder moved is expected
warnings.filterwarnings("ignore", message=r"The dirpath has changed from")
# conf/trainer/gpu.yaml and the larger models: precision: ${native_precision:ACCELERATOR}
OmegaConf.register_new_resolver("native_precision", native_precision, replace=True)


def _instantiate_all(section: DictConfig | None) -> list:
    """Every object of a config section; an entry set to null (``callbacks.early_stopping:
    null``) is switched off."""
    return [hydra.utils.instantiate(item) for item in (section or {}).values() if item is not None]


def summary_table(metrics: dict[str, float]) -> str:
    """Per stage and source: plates read exactly, characters, CER, as a markdown table."""
    keys = ("seq_acc", "char_acc", "cer")
    rows = []
    for stage in ("val", "test"):
        for source in ("real", "synthetic"):
            values = [metrics.get(f"{stage}/{source}/{k}") for k in keys]
            if values[0] is not None:
                rows.append([stage, source, *(f"{v:.4f}" for v in values)])
    return "\n".join(table(["split", "source", *keys], rows))


def _scalars(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if getattr(v, "numel", lambda: 1)() == 1}


def train(cfg: DictConfig) -> float:
    """Fit, test the best checkpoint, write ``metrics.json``; return ``cfg.optimized_metric``."""
    check_config(cfg)  # every key's type and range, before any work
    test = require_bool("test", cfg.get("test", True))
    accelerator = cfg.trainer.get("accelerator")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(
            f"trainer.accelerator={accelerator}: torch sees no GPU here (torch "
            f"{torch.__version__}); use trainer=default for the CPU, or install the CUDA build "
            "of torch that fits the GPU"
        )
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    output_dir = output_folder(cfg.paths.output_dir)
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    log.info(
        "model: %s, %.2f M parameters",
        type(model.net).__name__,
        sum(p.numel() for p in model.net.parameters()) / 1e6,
    )
    loggers = _instantiate_all(cfg.get("logger"))
    choices = dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else {}
    callbacks = [*_instantiate_all(cfg.get("callbacks")), TensorBoardViews(cfg, choices=choices)]
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False
    )
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:  # resuming restores the run's weights: where it started no longer matters
        check_resumable(ckpt_path, model.net)  # refuses URLs and pickled objects too
    elif cfg.get("init_from"):
        init_weights(model.net, cfg.init_from)
        log.info("starting from the weights of init_from=%s", cfg.init_from)
    else:
        first = cfg.data.get("synthetic_epochs") or 0
        plan = f"synthetic plates only for {first} epochs, " if first else ""
        log.info(
            "starting from random weights (init_from=null): %s%d epochs in all; each epoch's "
            "line tells the minutes left",
            plan,
            cfg.trainer.max_epochs,
        )
    try:
        with sigterm_as_ctrl_c():
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:  # Lightning's answer to Ctrl-C, after a graceful stop
        if trainer.interrupted:
            last = output_dir / "checkpoints" / "last.ckpt"
            resume = f"resume with ckpt_path={last}" if last.is_file() else "nothing to resume"
            # numbered as the epoch lines number them, from 1
            epoch = f"{trainer.current_epoch + 1}/{trainer.max_epochs}"
            log.warning("interrupted during epoch %s: %s", epoch, resume)
        raise
    metrics = _scalars(trainer.callback_metrics)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if test:
        # the best checkpoint's weights; fast_dev_run saves none and tests what it has
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        metrics |= _scalars(trainer.callback_metrics)

    # logged, not printed: the table belongs in train.log too
    log.info(
        "Results (%s):\n%s\nbest checkpoint: %s", output_dir, summary_table(metrics), best or "-"
    )
    record = {
        "best_checkpoint": best,
        "metrics": metrics,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    write_text(output_dir / METRICS_FILE, json.dumps(record, indent=2))
    return metrics.get(cfg.optimized_metric, float("nan"))
