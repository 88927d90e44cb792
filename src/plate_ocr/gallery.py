"""Image grids of plates, captioned: TensorBoard galleries, error galleries in reports,
augmentation previews and synthetic contact sheets all tile through ``tile``."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CAPTION_HEIGHT = 24  # room for text a person reads without enlarging
_BLACK, _GREEN, _RED = (0, 0, 0), (40, 160, 40), (220, 30, 30)


def captioned(image: np.ndarray, caption: str, colour=_BLACK) -> np.ndarray:
    """An (H, W, 3) RGB tile with ``caption`` in a white strip below, shrunk to fit."""
    strip = np.full((CAPTION_HEIGHT, image.shape[1], 3), 255, np.uint8)
    scale = 0.6
    width = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
    scale *= min(1.0, 0.95 * (image.shape[1] - 4) / max(width, 1))  # text scales not quite linearly
    origin = (2, CAPTION_HEIGHT - 7)
    cv2.putText(strip, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return np.vstack([image, strip])


def tile(rows: Sequence[Sequence[np.ndarray]], gap: int = 0) -> np.ndarray:
    """Rows of same-size RGB tiles on white, ``gap`` pixels around each; short rows end blank."""
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    grid = np.full(
        (len(rows) * (height + gap) + gap, columns * (width + gap) + gap, 3), 255, np.uint8
    )
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            top, left = gap + r * (height + gap), gap + c * (width + gap)
            grid[top : top + height, left : left + width] = image
    return grid


def titled(grid: np.ndarray, title: str) -> np.ndarray:
    """``grid`` with ``title`` in a strip above it: what the picture shows, as a legend."""
    strip = captioned(np.zeros((0, grid.shape[1], 3), np.uint8), title)
    return np.vstack([strip, grid])


def annotated_grid(
    images: np.ndarray,
    truths: list[str],
    readings: list[str],
    columns: int = 4,
    prefixes: list[str] | None = None,
) -> np.ndarray:
    """(N, H, W, C) uint8 crops -> one RGB grid; each tile shows ``truth>reading`` below it
    (after its ``prefixes`` entry: a rank, a score), green where the reading is right, red
    where it is wrong."""
    n, height, width = images.shape[:3]
    scale = max(width, 256) / width  # wide enough for a caption of two plate numbers
    size = (int(width * scale), int(height * scale))
    tiles = []
    prefixes = prefixes or [""] * n
    for image, truth, reading, prefix in zip(images, truths, readings, prefixes, strict=True):
        image = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)
        if image.ndim == 2 or image.shape[2] == 1:
            image = cv2.cvtColor(image.reshape(size[1], size[0]), cv2.COLOR_GRAY2RGB)
        ok = truth == reading
        text = (f"{prefix} " if prefix else "") + (truth if ok else f"{truth}>{reading or '-'}")
        tiles.append(captioned(image, text, _GREEN if ok else _RED))
    return tile([tiles[k : k + columns] for k in range(0, n, columns)])
