"""Synthetic Algerian plate crops: rendered on the fly or to disk, deterministic per index.

``render_plate(label, rng)`` draws one crop; ``SyntheticPlates`` is the on-the-fly dataset
(sample ``i`` of seed ``s`` is always the same image); ``plate-ocr synth`` (``writer``)
renders a dataset to disk or a contact sheet. ``Factors`` holds every distribution the
renderer samples from; ``plate-ocr synth --fit REAL_DIR`` (``fit``) estimates them from a
folder of real crops.
"""

from plate_ocr.synth.camera import render_plate, render_sample
from plate_ocr.synth.dataset import SyntheticPlates
from plate_ocr.synth.factors import DEFAULT_FACTORS, Factors
from plate_ocr.synth.glyphs import STYLE_NAMES

__all__ = [
    "DEFAULT_FACTORS",
    "STYLE_NAMES",
    "Factors",
    "SyntheticPlates",
    "render_plate",
    "render_sample",
]
