"""Loading trained networks from checkpoints without unpickling arbitrary objects.

Checkpoints are files people pass around; ``torch.load(weights_only=True)`` refuses any
payload beyond tensors and plain containers, so a tampered file cannot run code. A reader
file (``reader_file``: a network's config and weights, no optimizer) loads the same way, and
the name ``pretrained`` stands for the one shipped in the package.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning_fabric.plugins import TorchCheckpointIO
from torch import nn

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError
from plate_ocr.model.crnn import renamed_legacy_weights
from plate_ocr.model.networks import build_network
from plate_ocr.pretrained import PRETRAINED_FILE, resolve_model

# where PlateDataModule.state_dict() lands in a Lightning checkpoint: the real split trained on
REAL_SPLIT_KEY = "PlateDataModule"


def load_checkpoint(path: str | Path) -> dict:
    """A plate-ocr checkpoint's contents, tensors and plain containers only; remote files
    are refused (fetch and check them first)."""
    path = resolve_model(path)
    if "://" in str(path):
        raise UserError(
            f"{path}: remote checkpoints are refused, a crafted one could run code; "
            "download it and pass the local file"
        )
    path = Path(path)
    if not path.is_file() and path == PRETRAINED_FILE:
        raise UserError(
            f"{path}: the pretrained reader is missing from this installation; reinstall "
            "plate-ocr, or make it with `python train.py experiment=pretrained`"
        )
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found; pass the path of a .ckpt file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the checkpoint is empty (0 bytes); use another one")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError and others for unsafe payloads
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"{path}: refused to load checkpoint ({reason})") from error
    if "net_config" not in checkpoint:
        raise UserError(f"{path}: not a plate-ocr checkpoint (no net_config); train with train.py")
    checkpoint["state_dict"] = renamed_legacy_weights(checkpoint.get("state_dict", {}), "net.")
    return checkpoint


def _network_state(path: str | Path) -> tuple[dict, dict]:
    """(net_config, the CRNN's weights) of a checkpoint, refused if any weight is not finite."""
    checkpoint = load_checkpoint(path)
    prefix = "net."
    state = {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }
    broken = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise UserError(
            f"{path}: weights are not finite ({broken[0]} and {len(broken) - 1} more): the run "
            "diverged; train again with a lower model.optimizer.lr"
        )
    return checkpoint["net_config"], state


def load_network(path: str | Path) -> nn.Module:
    """The network saved in a checkpoint or reader file, in eval mode on the CPU."""
    config, state = _network_state(path)
    net = build_network(config)
    net.load_state_dict(state)
    return net.eval()


def init_weights(net: nn.Module, path: str | Path) -> None:
    """Fine-tuning: copy a checkpoint's weights into ``net``. Everything but the input width
    must match (the width only sets how many columns the sequence head reads)."""
    config, state = _network_state(path)
    config = build_network(config).config  # with today's defaults for options it predates
    saved = {k: v for k, v in config.items() if k != "image_size"} | {
        "height": config["image_size"][0]
    }
    wanted = {k: v for k, v in net.config.items() if k != "image_size"} | {
        "height": net.config["image_size"][0]
    }
    differ = [f"{k} {saved[k]} (this run: {wanted[k]})" for k in saved if saved[k] != wanted.get(k)]
    if differ:
        raise UserError(
            f"init_from={path}: the checkpoint's network differs in {', '.join(differ)}; "
            "pick the model size and data.image_size height and data.channels it was trained with"
        )
    net.load_state_dict(state)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all: to a temporary file, then renamed over the
    old one, so a full disk or a kill mid-write never leaves a truncated ``last.ckpt``."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        with replacing(path) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options)
