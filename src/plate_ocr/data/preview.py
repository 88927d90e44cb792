"""``plate-ocr preview OUT.png [key=value ...]``: augmented samples exactly as the model gets them.

The training config is composed from ``conf/`` with the same overrides ``train.py`` takes, so
the tiles have the input size and colour mode of that run, pixel for pixel, and the real crops
come from its training split. Rows are source x strength, the strength that run trains each
source with is marked; each column is one crop under every strength.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.errors import UserError

CAPTION_HEIGHT, GAP = 14, 4
Crop = tuple[np.ndarray, str]


def compose_data(config_dir: Path, overrides: list[str]):
    """The ``data`` section of the training config, composed as ``train.py`` would."""
    from hydra import compose, initialize_config_dir  # only this verb needs Hydra

    if not (config_dir / "train.yaml").is_file():
        raise UserError(
            f"{config_dir}/train.yaml not found: run from the plate-ocr folder or pass --config-dir"
        )
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        return compose("train", overrides=overrides).data


def sample_crops(dataset, n: int, seed: int) -> list[Crop]:
    picked = np.random.default_rng(seed).choice(len(dataset), min(n, len(dataset)), replace=False)
    return [dataset[int(i)] for i in sorted(picked)]


def _captioned(image: np.ndarray, caption: str) -> np.ndarray:
    strip = np.full((CAPTION_HEIGHT, image.shape[1], 3), 255, np.uint8)
    scale = 0.35
    width = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
    scale *= min(1.0, (image.shape[1] - 4) / width)
    cv2.putText(
        strip,
        caption,
        (2, CAPTION_HEIGHT - 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return np.vstack([image, strip])


def preview_grid(
    sources: dict[str, list[Crop]],
    image_size: tuple[int, int] = (64, 200),
    channels: int = 3,
    trained: dict[str, str] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """An RGB grid: one row per (source, strength), one column per crop of that source.

    Tiles are the network's input, pixel for pixel: ``image_size``, and grey when
    ``channels`` is 1. ``trained`` marks the strength each source trains with.
    """
    from plate_ocr.data.datamodule import model_input

    rows = []
    for source, crops in sources.items():
        for strength in STRENGTHS:
            pipeline = build_augmentation(strength, image_size)
            pipeline.set_random_seed(seed + len(rows))
            mark = " *" if (trained or {}).get(source) == strength else ""
            tiles = []
            for image, label in crops:
                tile = model_input(image, pipeline, channels)
                tile = np.repeat(tile, 3, axis=2) if channels == 1 else tile
                tiles.append(_captioned(tile, f"{source} {strength}{mark}: {label}"))
            rows.append(tiles)
    height, width = image_size[0] + CAPTION_HEIGHT, image_size[1]
    columns = max(len(tiles) for tiles in rows)
    grid = np.full(
        (len(rows) * (height + GAP) + GAP, columns * (width + GAP) + GAP, 3), 255, np.uint8
    )
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            top, left = GAP + r * (height + GAP), GAP + c * (width + GAP)
            grid[top : top + height, left : left + width] = tile
    return grid
