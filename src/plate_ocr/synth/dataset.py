"""Synthetic plates on the fly: sample ``i`` is rendered when asked for, never stored."""

from __future__ import annotations

import numpy as np

from plate_ocr.plates import PlateSampler
from plate_ocr.synth.camera import render_sample
from plate_ocr.synth.factors import DEFAULT_FACTORS, Factors


class SyntheticPlates:
    """``length`` synthetic crops, (H, W, 3) uint8 RGB with their digit labels: a map-style
    dataset, torch-free so that rendering to disk starts fast.

    Indexes past ``length`` are refused rather than wrapped, so an epoch is exactly
    ``length`` distinct plates; a new seed gives a new, equally deterministic set. Plate
    numbers come from ``sampler``, else from the weight tables in ``factors``.
    """

    def __init__(
        self,
        length: int,
        seed: int = 0,
        image_size: tuple[int, int] = (64, 200),
        sampler: PlateSampler | None = None,
        factors: Factors = DEFAULT_FACTORS,
    ) -> None:
        if length < 0:
            raise ValueError(f"SyntheticPlates length must be >= 0, got {length}")
        self.length = length
        self.seed = seed
        self.image_size = tuple(image_size)
        self.sampler = sampler or factors.plate_sampler
        self.factors = factors

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} synthetic plates")
        index %= self.length
        return render_sample(self.seed, index, self.image_size, self.sampler, self.factors)
