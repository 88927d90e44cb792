"""A reader file: a trained network's config and weights with a record of how it was made.

What ships in the package (``plate_ocr.pretrained``) and what ``experiment=pretrained``
writes. It has the keys of a Lightning checkpoint that loading needs (``net_config``,
``state_dict``), without optimizer state, so reading, export and ``init_from`` take it as
they take a checkpoint, at a fraction of the size.
"""

from __future__ import annotations

import datetime
import platform
import subprocess
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn

from plate_ocr import __version__
from plate_ocr.atomic import replacing
from plate_ocr.model.checkpoint import load_checkpoint
from plate_ocr.model.networks import network_config
from plate_ocr.plates import ALPHABET

METADATA_KEY = "plate_ocr"
# what a reader file must say about itself: tests/test_pretrained.py holds the shipped one to it
METADATA_FIELDS = (
    "trained_on",
    "command",
    "commit",
    "seed",
    "epochs",
    "samples",
    "image_size",
    "channels",
    "alphabet",
    "plate_ocr_version",
    "torch_version",
    "created",
)


def save_reader_file(net: nn.Module, path: str | Path, record: dict) -> Path:
    """Write ``net`` (weights as float32 on the CPU) with ``record`` and the facts every
    reader file states about its input."""
    config = network_config(net)
    metadata = {
        "image_size": config["image_size"],
        "channels": config["in_channels"],
        "alphabet": ALPHABET,
        "plate_ocr_version": __version__,
        "torch_version": str(torch.__version__),
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    } | record
    state = {f"net.{k}": v.detach().float().cpu() for k, v in net.state_dict().items()}
    path = Path(path)
    with replacing(path) as temporary:
        torch.save({"net_config": config, "state_dict": state, METADATA_KEY: metadata}, temporary)
    return path


def reader_metadata(path: str | Path) -> dict:
    """How a reader file (``"pretrained"``: the shipped one) was made."""
    return dict(load_checkpoint(path).get(METADATA_KEY) or {})


def _commit() -> str:
    """The source tree's commit, where it is a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


class SaveReader(pl.Callback):
    """At the end of training, the network as a reader file at ``path``, with the command,
    commit, seed and samples that made it."""

    def __init__(self, path: str, trained_on: str = "synthetic plates only (plate_ocr.synth)"):
        self.path, self.trained_on = path, trained_on
        self.commit = _commit()  # now: the tree may move on while it trains

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        datamodule = trainer.datamodule
        epochs = trainer.current_epoch
        record = {
            "trained_on": self.trained_on,
            "command": " ".join(["python train.py", *overrides]),
            "commit": self.commit,
            "seed": getattr(datamodule, "seed", None),
            "epochs": epochs,
            "samples": epochs * getattr(datamodule, "epoch_size", 0),
            "python": platform.python_version(),
        }
        if trainer.is_global_zero:
            save_reader_file(pl_module.net, self.path, record)
