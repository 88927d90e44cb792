"""plate-ocr: train and ship an OCR model for Algerian licence plates.

``from plate_ocr import PlateReader``: ``PlateReader.load("best.ckpt")("crop.jpg").display``.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# albumentations asks PyPI for a newer version at import: slow, and a warning offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

try:
    __version__ = version("plate-ocr")
except PackageNotFoundError:  # run from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["PlateReader", "Reading", "__version__"]


def __getattr__(name: str):
    """The reader is imported on first use: ``import plate_ocr`` stays free of torch."""
    if name == "PlateReader":
        from plate_ocr.reader import PlateReader

        return PlateReader
    if name == "Reading":
        from plate_ocr.model.codec import Reading

        return Reading
    raise AttributeError(f"module 'plate_ocr' has no attribute {name!r}")
