"""The callback that gives a trained network a calibrated confidence before it leaves."""

from __future__ import annotations

import logging

import pytorch_lightning as pl

log = logging.getLogger(__name__)


class CalibrateConfidence(pl.Callback):
    """At the end of fitting, each saved checkpoint (best and last) read on the run's real
    validation crops, which it never trained on, in every reading option, and calibrators
    fitted on those readings stored in it (``plate_ocr.confidence``): a reader of the
    checkpoint, its export or its reader file then says how likely each reading is right."""

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted:
            return
        sources = getattr(trainer.datamodule, "eval_sources", {}).get("validation", {})
        real = sources.get("real")
        paths = {c.best_model_path for c in trainer.checkpoint_callbacks if c.best_model_path}
        if real is None or not len(real) or not paths:
            log.info("no real validation crops or no checkpoint: confidences stay uncalibrated")
            return
        from plate_ocr.confidence import fit_calibrations
        from plate_ocr.model.checkpoint import add_calibration, load_network

        for path in sorted(paths):
            calibration = fit_calibrations(load_network(path), real.images, real.labels)
            add_calibration(path, calibration)
        log.info(
            "confidence calibrated on %d real validation crops (%s)",
            len(real),
            ", ".join(calibration) or "no misread to fit on: none stored",
        )
