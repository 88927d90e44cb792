"""The reader shipped in the package, used wherever no model is named.

Trained on synthetic plates only, so it carries no data licence: ``PlateReader.load()``,
``plate-ocr predict crops/``, ``plate-ocr export --onnx m.onnx`` and
``python train.py init_from=pretrained`` all start from it. It is a reader file (see
``plate_ocr.model.reader_file``): the network's config and weights, and how it was made.
``python train.py experiment=pretrained`` makes it again.
"""

from __future__ import annotations

from pathlib import Path

PRETRAINED = "pretrained"  # the name that stands for the shipped reader
PRETRAINED_FILE = Path(__file__).with_name("plate_reader.pt")
# the same network exported (``plate-ocr export --onnx``): ``predict`` reads with it when no
# model is named, without torch's import time; tests hold it to the .pt's readings
PRETRAINED_ONNX = Path(__file__).with_name("plate_reader.onnx")


def resolve_model(model: str | Path | None) -> str | Path:
    """``model`` as a path: None and ``"pretrained"`` mean the shipped reader."""
    if model is None or str(model) == PRETRAINED:
        return PRETRAINED_FILE
    return model
