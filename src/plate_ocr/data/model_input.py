"""A crop as the network takes it: one colour conversion, one resize, one scaling.

Validation, ``evaluate.py``, ``PlateReader`` and the ONNX check all go through ``prepare``
(training through its augmentation, which ends at the input size, then ``to_channels``), so
what a deployed model is fed can never drift from what it was validated on. Crops are
(H, W, 3) uint8 RGB at any size; batches are (B, C, H, W) float32 in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import albumentations as A


def resize_transform(height: int, width: int) -> A.Resize:
    """The resize every path shares: area averaging when shrinking (no aliasing), linear
    when enlarging. Augmentation pipelines place it after their geometry."""
    import albumentations as A  # here: a reader resizes without albumentations' import time

    return A.Resize(height, width, area_for_downscale="image")


def resize(image: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """``resize_transform`` applied directly: the same pixels (a test holds it to that)
    without a pipeline's per-call cost, which a served plate would pay on every read."""
    height, width = (int(side) for side in image_size)
    if image.shape[:2] == (height, width):
        return image
    shrinking = height < image.shape[0] or width < image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, channels): grey by OpenCV's luma weights for one channel."""
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    return image


def to_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """(H, W, C) uint8 images of one size -> (B, C, H, W) float32 in [0, 1]."""
    batch = np.stack(images).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32) / np.float32(255.0)


def model_pixels(image: np.ndarray, image_size: Sequence[int], channels: int) -> np.ndarray:
    """An RGB crop of any size -> (H, W, channels) uint8 at ``image_size``, no augmentation:
    grey first, so one channel is resized instead of three (a served plate's largest cost
    after the network); both steps are linear, so the order moves a pixel by a rounding."""
    image = resize(to_channels(image, channels), image_size)
    return image[..., None] if image.ndim == 2 else image


def prepare(images: Sequence[np.ndarray], image_size: Sequence[int], channels: int) -> np.ndarray:
    """RGB crops of any size -> the network's input batch (no augmentation)."""
    return to_batch([model_pixels(image, image_size, channels) for image in images])
