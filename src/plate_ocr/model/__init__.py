"""The network (CRNN), its CTC codec, metrics and the Lightning training system."""

from plate_ocr.model.crnn import CRNN
from plate_ocr.model.recognizer import PlateRecognizer

__all__ = ["CRNN", "PlateRecognizer"]
