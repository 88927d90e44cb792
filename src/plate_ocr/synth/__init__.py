"""Synthetic Algerian plate crops: rendered on the fly or to disk, deterministic per index."""

from plate_ocr.synth.camera import render_plate
from plate_ocr.synth.factors import DEFAULT_FACTORS, Factors

__all__ = ["DEFAULT_FACTORS", "Factors", "render_plate"]
