"""The network (CRNN), its CTC codec, metrics and the Lightning training system.

Imported on first use: a reader needs the network and codec, not Lightning's import time."""

__all__ = ["CRNN", "PlateRecognizer"]


def __getattr__(name: str):
    if name == "CRNN":
        from plate_ocr.model.crnn import CRNN

        return CRNN
    if name == "PlateRecognizer":
        from plate_ocr.model.recognizer import PlateRecognizer

        return PlateRecognizer
    raise AttributeError(f"module 'plate_ocr.model' has no attribute {name!r}")
