"""Augmentation presets by strength, one albumentations pipeline each.

Every preset takes an RGB uint8 crop of any size and returns ``image_size`` (H, W). Geometry
comes first and keeps the whole plate: rotation and perspective grow the canvas to fit the
turned plate (as a detector's box around a tilted plate does) and fill the corners with grey,
so no digit is cut off and no mirrored digit appears; padding loosens the crop, as real crops
are often loose. Then the resize, then the photometric effects.

Strength is relative to the plate, not to pixels: blur sigma and motion length are fractions
of the output height, and JPEG quality rises as the output shrinks (an 8x8 block covers more
of a digit), so ``heavy`` at 32x128 is as legible as ``heavy`` at 64x200. The limits were set
against the measured range of real crops (``benchmarks/aug_stats.py``): ``heavy`` may go past
it, never to where a person can no longer read the digits. ``none`` is the resize alone: what
validation and test always get.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2

from plate_ocr.data.model_input import resize_transform
from plate_ocr.errors import UserError

STRENGTHS = ("none", "light", "medium", "heavy")
FILL = (128, 128, 128)  # grey corners: neither a digit stroke nor a plate background
JPEG_REFERENCE_HEIGHT = 64  # the height at which a preset's JPEG quality is stated


@dataclass(frozen=True)
class Preset:
    """One strength's limits; each effect fires with probability ``p`` (``p_*``)."""

    p: float  # of each geometric or photometric effect
    rotate_deg: float
    perspective: float  # corner jitter, fraction of the crop
    loosen: float  # padding up to this fraction of each side
    light: float  # brightness and contrast change, fraction
    gamma: tuple[int, int]
    blur: float  # Gaussian sigma up to this fraction of the output height
    motion: float  # motion blur length up to this fraction of the output height
    noise: tuple[float, float]  # noise std, fraction of 255
    jpeg_quality: tuple[int, int]  # at JPEG_REFERENCE_HEIGHT


PRESETS = {
    "light": Preset(0.25, 3, 0.02, 0.05, 0.15, (90, 110), 0.02, 0.06, (0.01, 0.02), (70, 95)),
    "medium": Preset(0.35, 6, 0.04, 0.08, 0.25, (80, 125), 0.03, 0.10, (0.01, 0.04), (50, 95)),
    "heavy": Preset(0.5, 10, 0.07, 0.12, 0.3, (70, 140), 0.04, 0.14, (0.02, 0.06), (30, 90)),
}


def _pipeline(preset: Preset, height: int, width: int) -> A.Compose:
    border = {"border_mode": cv2.BORDER_CONSTANT, "fill": FILL}
    p = preset.p
    max_sigma = max(0.3, preset.blur * height)
    motion = max(3, int(preset.motion * height) // 2 * 2 + 1)  # odd kernel length
    # JPEG blocks are 8 px whatever the size: scale the damage to the output height
    keep = min(1.0, height / JPEG_REFERENCE_HEIGHT)
    low, high = (int(100 - (100 - q) * keep) for q in preset.jpeg_quality)
    return A.Compose(
        [
            A.Affine(
                rotate=(-preset.rotate_deg, preset.rotate_deg), fit_output=True, p=p, **border
            ),
            A.Perspective(scale=(0.0, preset.perspective), fit_output=True, p=p * 0.6, **border),
            A.CropAndPad(
                percent=(0.0, preset.loosen),
                keep_size=False,
                border_mode=cv2.BORDER_REPLICATE,
                p=p * 0.6,
            ),
            resize_transform(height, width),
            A.RandomBrightnessContrast(
                brightness_limit=preset.light, contrast_limit=preset.light, p=min(1.0, 1.6 * p)
            ),
            A.RandomGamma(gamma_limit=preset.gamma, p=p),
            A.OneOf(
                [
                    A.GaussianBlur(blur_limit=0, sigma_limit=(0.2, max_sigma)),
                    A.MotionBlur(blur_limit=(3, motion)),
                ],
                p=p,
            ),
            A.GaussNoise(std_range=preset.noise, p=p),
            A.ImageCompression(quality_range=(low, high), p=p),
        ]
    )


def build_augmentation(strength: str, image_size: tuple[int, int] = (64, 200)) -> A.Compose:
    """The ``strength`` preset as a pipeline: ``pipeline(image=rgb)["image"]`` is (H, W, 3)."""
    if strength not in STRENGTHS:
        raise UserError(f"unknown augmentation strength {strength!r}: use one of {STRENGTHS}")
    height, width = (int(side) for side in image_size)
    if strength == "none":
        return A.Compose([resize_transform(height, width)])
    return _pipeline(PRESETS[strength], height, width)
