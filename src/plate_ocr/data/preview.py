"""``plate-ocr preview OUT.png``: a grid of augmented samples, to check plates stay readable.

Rows are source x strength, columns are samples: each column is one source crop under every
strength, so a row reads as "what training sees" and a column as "how far each preset goes".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.data.folder import SPLITS, PlateFolder, find_splits
from plate_ocr.errors import UserError

CAPTION_HEIGHT, GAP = 14, 4
Crop = tuple[np.ndarray, str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="the .png to write")
    parser.add_argument("--real-dir", type=Path, help="a folder of real crops: adds real rows")
    parser.add_argument("--n", type=int, default=8, help="samples per row (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="picks the samples and the effects")
    parser.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        default=(64, 200),
        metavar=("H", "W"),
        help="output size of the presets, as data.image_size (default 64 200)",
    )


def synthetic_crops(n: int, seed: int, image_size: tuple[int, int]) -> list[Crop]:
    from plate_ocr.synth import SyntheticPlates  # the renderer is only needed here

    plates = SyntheticPlates(n, seed, image_size)
    return [plates[i] for i in range(n)]


def real_crops(folder: Path, n: int, seed: int) -> list[Crop]:
    splits = find_splits(folder, seed=seed, skip_bad=True)
    samples = next((splits[name] for name in SPLITS if splits[name]), [])
    picked = np.random.default_rng(seed).choice(len(samples), min(n, len(samples)), replace=False)
    return list(PlateFolder([samples[i] for i in sorted(picked)], skip_bad=True))


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
    sources: dict[str, list[Crop]], image_size: tuple[int, int] = (64, 200), seed: int = 0
) -> np.ndarray:
    """An RGB grid: one row per (source, strength), one column per crop of that source."""
    rows = []
    for source, crops in sources.items():
        for strength in STRENGTHS:
            pipeline = build_augmentation(strength, image_size)
            pipeline.set_random_seed(seed + len(rows))
            tiles = [
                _captioned(pipeline(image=image)["image"], f"{source} {strength}: {label}")
                for image, label in crops
            ]
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


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".png":
        raise UserError(f"{args.out}: the preview is written as PNG, name it *.png")
    if args.n < 1:
        raise UserError(f"--n {args.n}: need at least 1 sample per row")
    image_size = tuple(args.image_size)
    sources = {"synthetic": synthetic_crops(args.n, args.seed, image_size)}
    if args.real_dir is not None:
        sources["real"] = real_crops(args.real_dir, args.n, args.seed)
    grid = preview_grid(sources, image_size, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"{args.out}: could not encode the preview")
    data.tofile(args.out)
    rows = len(sources) * len(STRENGTHS)
    print(
        f"wrote {args.out}: {rows} rows ({' and '.join(sources)} x {', '.join(STRENGTHS)}), "
        f"{args.n} samples each"
    )
    return 0
