"""Image grids of plates with truth and reading, errors in red: for TensorBoard and reports."""

from __future__ import annotations

import cv2
import numpy as np

_GREEN, _RED = (40, 160, 40), (220, 30, 30)


def annotated_grid(
    images: np.ndarray, truths: list[str], readings: list[str], columns: int = 4
) -> np.ndarray:
    """(N, H, W, C) uint8 crops -> one RGB grid; each tile shows ``truth -> reading`` below it."""
    n, height, width = images.shape[:3]
    caption = 16
    scale = max(width, 160) / width
    tile_w, tile_h = int(width * scale), int(height * scale)
    rows = -(-n // columns)
    grid = np.full((rows * (tile_h + caption), columns * tile_w, 3), 255, np.uint8)
    for i, (image, truth, reading) in enumerate(zip(images, truths, readings, strict=True)):
        tile = cv2.resize(image, (tile_w, tile_h), interpolation=cv2.INTER_NEAREST)
        if tile.ndim == 2 or tile.shape[2] == 1:
            tile = cv2.cvtColor(tile.reshape(tile_h, tile_w), cv2.COLOR_GRAY2RGB)
        top, left = (i // columns) * (tile_h + caption), (i % columns) * tile_w
        grid[top : top + tile_h, left : left + tile_w] = tile
        ok = truth == reading
        text = truth if ok else f"{truth}>{reading or '-'}"
        cv2.putText(
            grid,
            text,
            (left + 2, top + tile_h + 12),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.38,
            _GREEN if ok else _RED,
            1,
            cv2.LINE_AA,
        )
    return grid
