"""``plate-ocr inspect PATH``: check a folder of real crops and summarise it, per split.

Problems (an unreadable image, a label that is not a plate, a missing file, an empty folder)
would stop training, so they set exit status 1. Notes are labels that are valid but worth a
look (a 9-digit label may have lost a leading zero) and plates shared between splits.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from plate_ocr.data.folder import SPLITS, Problem, Sample
from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.plates import PLATE_LENGTHS, display_form, is_temporary

YELLOW_SHARE = 0.3  # of the central pixels; white plates score under 0.1, yellow ones over 0.4


def colour_guess(image: np.ndarray) -> str:
    """'yellow' or 'white' from the hue of the crop's centre (crops are loose: skip the rim)."""
    height, width = image.shape[:2]
    centre = image[height // 4 : 3 * height // 4 or 1, width // 8 : 7 * width // 8 or 1]
    hue, saturation, value = cv2.split(cv2.cvtColor(centre, cv2.COLOR_RGB2HSV))
    yellow = (hue >= 12) & (hue <= 40) & (saturation >= 70) & (value >= 70)
    return "yellow" if yellow.mean() >= YELLOW_SHARE else "white"


def label_note(label: str) -> str | None:
    """Why a valid label deserves a look, or None."""
    reasons = []
    if len(label) == min(PLATE_LENGTHS):
        reasons.append(f"{len(label)} digits: short serial, or lost a leading zero")
    if not is_temporary(label) and label[-5] == "0":
        reasons.append("vehicle class 0 is unused outside temporary plates")
    if int(label[-2:]) > 58:
        reasons.append(f"wilaya {label[-2:]} is one of the new codes")
    return "; ".join(reasons) or None


def split_summary(samples: list[Sample], problems: list[Problem]) -> dict:
    lengths, colours, sizes, plates = Counter(), Counter(), [], set()
    for path, label in samples:
        try:
            image = read_rgb(path)
        except UserError as error:
            problems.append(Problem(path, str(error).removeprefix(f"{path}: ")))
            continue
        lengths[len(label)] += 1
        colours[colour_guess(image)] += 1
        sizes.append(image.shape[:2])
        plates.add(label)
    return {
        "crops": len(sizes),
        "plates": len(plates),
        "lengths": lengths,
        "colours": colours,
        "sizes": np.array(sizes).reshape(-1, 2),
    }


def summary_row(name: str, summary: dict | None) -> str:
    if summary is None:
        return f"{name:<11} {'(no folder)':>6}"
    lengths = " ".join(f"{summary['lengths'][n]:>8}" for n in PLATE_LENGTHS)
    colours = f"{summary['colours']['yellow']}/{summary['colours']['white']}"
    sizes = summary["sizes"]
    if len(sizes):
        (h_min, w_min), (h_max, w_max) = sizes.min(0), sizes.max(0)
        size = f"{w_min}-{w_max} x {h_min}-{h_max}"
    else:
        size = "-"
    return (
        f"{name:<11} {summary['crops']:>6} {summary['plates']:>6} {lengths} {colours:>13}  {size}"
    )


def notes(splits: dict[str, list[Sample]], shown) -> list[str]:
    """Odd-but-valid labels, then plates that sit in two splits (a leak that flatters scores)."""
    notes = [
        f"{shown(path)} ({display_form(label)}): {note}"
        for name in SPLITS
        for path, label in splits[name]
        if (note := label_note(label))
    ]
    plates = {name: {label for _, label in splits[name]} for name in SPLITS}
    for i, first in enumerate(SPLITS):
        for second in SPLITS[i + 1 :]:
            if shared := sorted(plates[first] & plates[second]):
                notes.append(
                    f"{len(shared)} plate(s) in both {first} and {second}, so {second} scores "
                    f"are optimistic: " + ", ".join(shared)
                )
    return notes
