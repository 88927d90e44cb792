"""plate-ocr: train and ship an OCR model for Algerian licence plates."""

import os

# albumentations asks PyPI for a newer version at import: slow, and a warning offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
