"""Loading trained networks from checkpoints without unpickling arbitrary objects.

Checkpoints are files people pass around; ``torch.load(weights_only=True)`` refuses any
payload beyond tensors and plain containers, so a tampered file cannot run code. A reader
file (``reader_file``: a network's config and weights, no optimizer) loads the same way, and
the name ``pretrained`` stands for the one shipped in the package.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from torch import nn

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError
from plate_ocr.model.networks import build_network
from plate_ocr.pretrained import PRETRAINED_FILE, resolve_model

# the largest network here is tens of MB with its optimizer state: past this, not a reader
MAX_CHECKPOINT_BYTES = 1 << 30
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
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path}: the checkpoint is empty (0 bytes); use another one")
    if max(size, _unpacked_size(path)) > MAX_CHECKPOINT_BYTES:
        raise UserError(
            f"{path}: holds over {MAX_CHECKPOINT_BYTES // 2**20} MB unpacked, far more than any "
            "plate reader's weights: not a plate-ocr checkpoint, or a crafted one"
        )
    with path.open("rb") as file:
        head = file.read(4)
    if not head.startswith(b"PK\x03\x04") and head[:1] != b"\x80":  # torch's zip, or a pickle
        raise UserError(
            f"{path}: not a PyTorch checkpoint (a .ckpt from train.py or a reader .pt); an "
            ".onnx file is read by predict and evaluate.py, not started or resumed from"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError and others for unsafe payloads
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if "weights_only" in reason:  # torch's advice to load it unsafely is not ours to give
            reason = "it holds objects beyond weights, which could run code when loaded"
        raise UserError(f"{path}: refused to load checkpoint ({reason})") from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("net_config"), dict):
        raise UserError(f"{path}: not a plate-ocr checkpoint (no net_config); train with train.py")
    weights = checkpoint.get("state_dict", {})
    if not isinstance(weights, dict) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise UserError(f"{path}: its state_dict is not a set of weights (damaged or edited)")
    return checkpoint


def _network_state(path: str | Path, checkpoint: dict | None = None) -> tuple[dict, dict]:
    """(net_config, the network's weights) of a checkpoint, refused if any weight is not
    finite."""
    checkpoint = checkpoint or load_checkpoint(path)
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


def _load_state(net: nn.Module, state: dict, path: str | Path) -> None:
    try:
        net.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or mis-shaped weights
        reason = str(error).strip().splitlines()[0]
        raise UserError(
            f"{path}: its weights do not fit the network it describes ({reason}); the file is "
            "damaged or was edited: use another one"
        ) from error


def _build(config: dict, path: str | Path, weights: dict | None = None) -> nn.Module:
    """The network ``config`` describes; with ``weights``, sized on no memory first and
    refused unless it holds as many as the file does (a config edited to hidden=60000
    would otherwise allocate tens of GB before the weights are found not to fit)."""
    try:
        if weights is not None:
            with torch.device("meta"):
                planned = sum(p.numel() for p in build_network(config).state_dict().values())
            held = sum(v.numel() for v in weights.values())
            if planned != held:
                raise UserError(
                    f"{path}: its net_config describes {planned:,} weights, the file holds "
                    f"{held:,}: damaged or edited; use another one"
                )
        return build_network(config)
    except (TypeError, ValueError) as error:  # a key or value the network does not take
        raise UserError(f"{path}: its net_config is not a network's ({error})") from error


def _unpacked_size(path: Path) -> int:
    """What a checkpoint (a zip archive, as torch writes it) unpacks to; 0 for other files."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return 0


def load_network(path: str | Path) -> nn.Module:
    """The network saved in a checkpoint or reader file, in eval mode on the CPU, with its
    confidence calibrators as ``calibration`` ({reading option: Calibrator dict}, or None:
    see ``plate_ocr.confidence``), which readers and exports carry along."""
    checkpoint = load_checkpoint(path)
    config, state = _network_state(path, checkpoint)
    net = _build(config, path, state)
    _load_state(net, state, path)
    net.calibration = _calibration(checkpoint, path)
    return net.eval()


def _calibration(checkpoint: dict, path: str | Path) -> dict | None:
    from plate_ocr.confidence import CALIBRATION_KEY, Calibrator

    saved = checkpoint.get(CALIBRATION_KEY)
    if saved is None:
        return None
    try:
        for calibrator in saved.values():
            Calibrator.from_dict(calibrator)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise UserError(
            f"{path}: its {CALIBRATION_KEY} is not a set of calibrators ({error}); calibrate it "
            "again with `plate-ocr calibrate`"
        ) from None
    return dict(saved)


def add_calibration(path: str | Path, calibration: dict, fitted_on: str | None = None) -> None:
    """Store confidence calibrators in a checkpoint or reader file, whole or not at all; a
    reader file's record also says what they were ``fitted_on``."""
    from plate_ocr.confidence import CALIBRATION_KEY
    from plate_ocr.model.reader_file import METADATA_KEY

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    checkpoint[CALIBRATION_KEY] = calibration
    if fitted_on and isinstance(checkpoint.get(METADATA_KEY), dict):
        checkpoint[METADATA_KEY]["calibrated_on"] = fitted_on
    with replacing(path) as temporary:
        torch.save(checkpoint, temporary)


def _differences(config: dict, net: nn.Module, path: str | Path, any_width: bool) -> list[str]:
    """``KEY SAVED (this run: NOW)`` for each setting in which a saved network differs from
    ``net``; ``any_width``: the input width may differ (it only sets how many columns the
    sequence head reads, so weights carry over), nor those ``net.ADAPTABLE`` names."""
    with torch.device("meta"):  # its settings only: no memory for a network never used
        saved = _build(config, path).config  # today's defaults, old options
    wanted = net.config
    if any_width:
        saved, wanted = (
            {k: v for k, v in c.items() if k != "image_size"} | {"height": c["image_size"][0]}
            for c in (saved, wanted)
        )
        for key in getattr(net, "ADAPTABLE", ()):
            saved.pop(key, None)
            wanted.pop(key, None)
    return [
        f"{k} {saved[k]} (this run: {wanted.get(k)})" for k in saved if saved[k] != wanted.get(k)
    ]


def init_weights(net: nn.Module, path: str | Path) -> None:
    """Fine-tuning: copy a checkpoint's weights into ``net``. Everything but the input width
    must match."""
    config, state = _network_state(path)
    differ = _differences(config, net, path, any_width=True)
    if differ:
        raise UserError(
            f"init_from={path}: the checkpoint's network differs in {', '.join(differ)}; "
            "pick the model size and data.image_size height and data.channels it was trained with"
        )
    adapted = getattr(net, "adapted_weights", None)
    _load_state(net, adapted(state, config) if adapted else state, path)


def check_resumable(path: str | Path, net: nn.Module) -> None:
    """A checkpoint a run can go on from: a training's (not weights alone), of ``net``."""
    checkpoint = load_checkpoint(path)
    if "epoch" not in checkpoint:
        raise UserError(
            f"ckpt_path={path} holds weights only, not a run to resume: start from them with "
            f"init_from={path}"
        )
    differ = _differences(checkpoint["net_config"], net, path, any_width=False)
    if differ:
        raise UserError(
            f"ckpt_path={path}: the checkpoint's network differs in {', '.join(differ)}; resume "
            "with the settings it trained with (its run folder's .hydra/config.yaml)"
        )
