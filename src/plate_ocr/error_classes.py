"""What kind of misread a reading is, told from the strings, and the crop properties that
go with misreads (tilt, height, contrast): so that a change aimed at one kind of error is
judged on that kind as well as on the whole."""

from __future__ import annotations

import cv2
import numpy as np

# in the order they are tested: the first that fits names the misread
CLASSES = (
    "merged repeat",  # one digit of a run of equal digits lost: CTC found no blank between
    "dropped edge digit",  # the first or last digit lost (a cut crop, or a bolt beside it)
    "extra edge digit",  # a digit read before or after the plate (furniture, a frame edge)
    "dropped digit",
    "extra digit",
    "one substitution",
    "substitutions",
    "digit lost or added, and one wrong",  # two edits, one of them changing the length
    "garbled",  # three edits or more: a crop read as something else
)


def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


def error_class(label: str, reading: str) -> str | None:
    """The class of reading ``reading`` for a crop labelled ``label``; None when right."""
    if reading == label:
        return None
    if len(reading) == len(label) - 1:
        runs = {
            label[:i] + label[i + 1 :] for i in range(1, len(label)) if label[i] == label[i - 1]
        }
        if reading in runs:
            return "merged repeat"
        if reading in (label[1:], label[:-1]):
            return "dropped edge digit"
        if reading in _deletions(label):
            return "dropped digit"
    if len(reading) == len(label) + 1:
        if label in (reading[1:], reading[:-1]):
            return "extra edge digit"
        if label in _deletions(reading):
            return "extra digit"
    if len(reading) == len(label):
        wrong = sum(a != b for a, b in zip(reading, label, strict=True))
        return "one substitution" if wrong == 1 else "substitutions"
    from plate_ocr.model.metrics import edit_counts

    if edit_counts(label, reading)[0] == 2 and abs(len(reading) - len(label)) == 1:
        return "digit lost or added, and one wrong"
    return "garbled"


def crop_properties(image: np.ndarray) -> dict[str, float]:
    """An RGB crop's height in pixels, RMS contrast (grey, 0-1) and tilt: the angle in
    degrees of the principal axis of its dark (ink) pixels, which lie along the text line."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    moments = cv2.moments(ink, binaryImage=True)
    tilt = 0.0
    if moments["m00"]:
        tilt = 0.5 * np.degrees(np.arctan2(2 * moments["mu11"], moments["mu20"] - moments["mu02"]))
    return {
        "height": int(grey.shape[0]),
        "contrast": round(float(grey.std()) / 255, 4),
        "tilt": round(float(tilt), 2),
    }
