"""Augmentation presets by strength, one albumentations pipeline each.

Every preset takes an RGB uint8 crop of any size and returns ``image_size`` (H, W). Geometry
comes first and keeps the whole plate: rotation and perspective grow the canvas to fit the
turned plate (as a detector's box around a tilted plate does) and fill the corners with grey,
so no digit is cut off and no mirrored digit appears. Then the resize, then the photometric
effects, so a blur kernel or noise level means the same for a 194x53 photo and a 400x100
render. ``none`` is the resize alone: what validation and test always get.
"""

from __future__ import annotations

import albumentations as A
import cv2

from plate_ocr.errors import UserError

STRENGTHS = ("none", "light", "medium", "heavy")
FILL = (128, 128, 128)  # grey corners: neither a digit stroke nor a plate background


def _presets() -> dict[str, tuple[list, list]]:
    """strength -> (geometry, done at native size; photometric effects, done after the resize)."""
    border = {"border_mode": cv2.BORDER_CONSTANT, "fill": FILL}

    def rotate(degrees: float, p: float) -> A.Affine:
        return A.Affine(rotate=(-degrees, degrees), fit_output=True, p=p, **border)

    def perspective(scale: tuple[float, float], p: float) -> A.Perspective:
        return A.Perspective(scale=scale, fit_output=True, p=p, **border)

    def blur(gaussian: int, motion: int, p: float) -> A.OneOf:
        return A.OneOf(
            [A.GaussianBlur(blur_limit=(3, gaussian)), A.MotionBlur(blur_limit=(3, motion))], p=p
        )

    def light(limit: float, p: float) -> A.RandomBrightnessContrast:
        return A.RandomBrightnessContrast(brightness_limit=limit, contrast_limit=limit, p=p)

    return {
        "light": ([rotate(3, 0.5)], [light(0.1, 0.5), blur(3, 3, 0.1)]),
        "medium": (
            [rotate(7, 0.5), perspective((0.01, 0.04), 0.3)],
            [
                light(0.2, 0.5),
                A.RandomGamma(gamma_limit=(80, 125), p=0.3),
                blur(5, 5, 0.25),
                A.GaussNoise(std_range=(0.01, 0.05), p=0.25),  # std as a fraction of 255
                A.ImageCompression(quality_range=(50, 95), p=0.25),
            ],
        ),
        "heavy": (
            [rotate(15, 0.7), perspective((0.02, 0.08), 0.5)],
            [
                light(0.3, 0.8),
                A.RandomGamma(gamma_limit=(70, 150), p=0.5),
                blur(7, 9, 0.5),
                A.GaussNoise(std_range=(0.02, 0.08), p=0.5),
                A.ImageCompression(quality_range=(20, 80), p=0.5),
            ],
        ),
    }


def build_augmentation(strength: str, image_size: tuple[int, int] = (64, 200)) -> A.Compose:
    """The ``strength`` preset as a pipeline: ``pipeline(image=rgb)["image"]`` is (H, W, 3)."""
    if strength not in STRENGTHS:
        raise UserError(f"unknown augmentation strength {strength!r}: use one of {STRENGTHS}")
    height, width = (int(side) for side in image_size)
    resize = A.Resize(height, width, area_for_downscale="image")
    if strength == "none":
        return A.Compose([resize])
    geometry, photometric = _presets()[strength]
    return A.Compose([*geometry, resize, *photometric])
