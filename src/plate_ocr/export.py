"""``plate-ocr export CKPT --onnx model.onnx``: the network as ONNX, checked before it is kept.

The ONNX model takes ``images`` (B, C, H, W) floats in [0, 1], any batch size, and gives
``log_probs`` (B, T, classes), so decoding stays in the shared codec. The network's config travels
in the model's metadata: a reader knows the input size and colour mode from the file alone.
After export both models read the same crops (synthetic plates, plus ``--check-dir``); the
file is written only when every reading agrees.

``--int8`` quantises the convolutions and matrix products statically (ONNX Runtime, QDQ),
calibrated on synthetic plates. Readings may then change, so the check becomes accuracy on
labelled crops: the file is written only when it loses at most ``max_loss`` of them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch

from plate_ocr import __version__
from plate_ocr.data.images import load_images
from plate_ocr.errors import UserError
from plate_ocr.model.codec import BLANK, greedy_decode
from plate_ocr.model.networks import PlateNetwork, network_config
from plate_ocr.plates import ALPHABET
from plate_ocr.reader import ONNX_CALIBRATION_KEY, ONNX_CONFIG_KEY, PlateReader

OPSET = 17
LOG_PROB_TOLERANCE = 1e-3  # reported, not enforced: the readings are what must agree


class _LogProbs(torch.nn.Module):
    def __init__(self, net: PlateNetwork):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.log_probs(images)


def export_onnx(net: PlateNetwork, path: str | Path, opset: int = OPSET) -> Path:
    """Write ``net`` as an ONNX model with a dynamic batch axis and its config as metadata."""
    path = Path(path)
    model = _LogProbs(net).eval().cpu()
    height, width = net.image_size
    example = torch.rand(1, net.in_channels, height, width)
    with warnings.catch_warnings():
        # The TorchScript exporter: no extra dependency (the dynamo one needs onnxscript).
        # Its LSTM warning is about batch-sized initial states, which no network passes.
        for category in (DeprecationWarning, UserWarning, torch.jit.TracerWarning):
            warnings.simplefilter("ignore", category)
        try:
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=False,
                input_names=["images"],
                output_names=["log_probs"],
                dynamic_axes={"images": {0: "batch"}, "log_probs": {0: "batch"}},
                opset_version=opset,
            )
        except (ValueError, RuntimeError, torch.onnx.errors.OnnxExporterError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UserError(f"--opset {opset}: export failed ({reason}); try {OPSET}") from error
    proto = onnx.load(str(path))
    for key, value in deployment_metadata(net).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path


def deployment_metadata(net: PlateNetwork) -> dict[str, str]:
    """What a runtime needs to use the model with no plate-ocr code: the input it takes and
    how to decode its output. PlateReader reads ``ONNX_CONFIG_KEY``; the rest is for others."""
    height, width = net.image_size
    return {
        ONNX_CONFIG_KEY: json.dumps(network_config(net)),
        **(
            {ONNX_CALIBRATION_KEY: json.dumps(net.calibration)}
            if getattr(net, "calibration", None)
            else {}
        ),
        "plate_ocr.version": __version__,
        "plate_ocr.input": (
            f"images: float32 (batch, {net.in_channels}, {height}, {width}), "
            + ("grey (OpenCV RGB-to-grey weights)" if net.in_channels == 1 else "RGB")
            + ", the crop resized to the size (area averaging when shrinking), values / 255"
        ),
        "plate_ocr.output": (
            "log_probs: float32 (batch, columns, classes); CTC, greedy: best class per column, "
            "merge repeats, drop blanks"
        ),
        "plate_ocr.alphabet": ALPHABET,
        "plate_ocr.blank_index": str(BLANK),
        "plate_ocr.class_index": "class 0 is the blank, class k + 1 is alphabet[k]",
    }


def quantize_int8(
    float_path: Path, path: Path, calibration: np.ndarray, op_types: Sequence[str] | None = None
) -> Path:
    """Static int8 copy of an exported model: weights per channel, activations scaled from
    ``calibration`` (B, C, H, W) inputs. Every operator ONNX Runtime can quantise is, unless
    ``op_types`` names some: with only the convolutions and products in int8, activations
    are converted in and out around every pooling, ReLU and residual sum. Recurrent layers
    stay in float (ONNX Runtime does not quantise LSTM statically), so a ``conv`` sequence
    head gains the most."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(np.array_split(calibration, max(1, len(calibration) // 64)))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"images": batch}

    prepared = path.with_name(path.name + ".prepared")
    try:
        quant_pre_process(str(float_path), str(prepared))  # shapes and fused BatchNorm first
        quantize_static(
            str(prepared),
            str(path),
            Batches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(op_types) if op_types else None,
        )
    finally:
        prepared.unlink(missing_ok=True)
    proto = onnx.load(str(path))  # the float model's metadata came through; say what changed
    entry = proto.metadata_props.add()
    quantised = ", ".join(op_types) if op_types else "every operator ONNX Runtime quantises"
    entry.key, entry.value = "plate_ocr.quantization", f"int8 static QDQ: {quantised}"
    onnx.save(proto, str(path))
    return path


def synthetic_crops(n: int, image_size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``n`` rendered plates at ``image_size``: check crops that need no data on disk."""
    return [image for image, _ in synthetic_plates(n, image_size, seed)]


def synthetic_plates(n: int, image_size: tuple[int, int], seed: int = 0) -> list[tuple]:
    """``n`` rendered plates at ``image_size`` with their labels."""
    from plate_ocr.synth import SyntheticPlates  # the renderer is only needed here

    plates = SyntheticPlates(n, seed, image_size)
    return [plates[i] for i in range(n)]


def labelled_crops(folder: str | Path) -> list[tuple[np.ndarray, str]]:
    """Every labelled crop of a real folder (all its splits; bad files skipped, up to the
    share ``skip_bad`` allows), for an accuracy check."""
    from plate_ocr.data.folder import find_splits
    from plate_ocr.data.images import read_rgb

    splits = find_splits(folder, skip_bad=True, config_key="--check-dir")
    return [(read_rgb(path), label) for samples in splits.values() for path, label in samples]


def accuracy(reader: PlateReader, plates: list[tuple[np.ndarray, str]]) -> float:
    """Share of ``plates`` (crop, label) read exactly."""
    right = 0
    for start in range(0, len(plates), PlateReader.BATCH):
        batch = plates[start : start + PlateReader.BATCH]
        readings = reader.read([crop for crop, _ in batch])
        right += sum(r.text == label for r, (_, label) in zip(readings, batch, strict=True))
    return right / len(plates)


def folder_crops(folder: str | Path) -> list[np.ndarray]:
    """Every readable image under ``folder`` (recursively); unreadable ones are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--check-dir {folder}: not a folder of plate crops")
    crops = [item[1] for item in load_images([folder]) if not isinstance(item, UserError)]
    if not crops:
        raise UserError(f"--check-dir {folder}: no readable .jpg/.jpeg/.png images in it")
    return crops


def compare(reference: PlateReader, candidate: PlateReader, crops: list[np.ndarray]) -> dict:
    """Readings of both models on ``crops``: how many differ, examples, largest log-prob gap."""
    mismatches, gap = [], 0.0
    for start in range(0, len(crops), 64):
        batch = reference.preprocess(crops[start : start + 64])
        expected, actual = reference.log_probs(batch), candidate.log_probs(batch)
        gap = max(gap, float(np.abs(expected - actual).max()))
        pairs = zip(greedy_decode(expected), greedy_decode(actual), strict=True)
        mismatches += [
            (start + i, a.text, b.text) for i, (a, b) in enumerate(pairs) if a.text != b.text
        ]
    return {"n": len(crops), "mismatches": mismatches, "max_log_prob_gap": gap}
