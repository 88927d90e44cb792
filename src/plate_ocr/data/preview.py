"""``plate-ocr preview OUT.png [key=value ...]``: augmented samples exactly as the model gets them.

The training config is composed from ``conf/`` with the same overrides ``train.py`` takes, so
the tiles have the input size and colour mode of that run, pixel for pixel, and the real crops
come from its training split. Rows are source x strength, the strength that run trains each
source with is marked; each column is one crop under every strength.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.errors import UserError

CAPTION_HEIGHT, GAP = 14, 4
Crop = tuple[np.ndarray, str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="the .png to write")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="as for train.py, e.g. experiment=quickstart data.real_dir=PATH",
    )
    parser.add_argument("--real-dir", type=Path, help="a folder of real crops (= data.real_dir)")
    parser.add_argument("--n", type=int, default=8, help="samples per row (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="picks the samples and the effects")
    parser.add_argument(
        "--config-dir", type=Path, default=Path("conf"), help="the conf/ folder (default ./conf)"
    )


def compose_data(config_dir: Path, overrides: list[str]):
    """The ``data`` section of the training config, composed as ``train.py`` would."""
    from hydra import compose, initialize_config_dir  # only this verb needs Hydra

    if not (config_dir / "train.yaml").is_file():
        raise UserError(
            f"{config_dir}/train.yaml not found: run from the plate-ocr folder or pass --config-dir"
        )
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        return compose("train", overrides=overrides).data


def _sample(dataset, n: int, seed: int) -> list[Crop]:
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


def run(args: argparse.Namespace) -> int:
    import hydra

    if args.out.suffix.lower() != ".png":
        raise UserError(f"{args.out}: the preview is written as PNG, name it *.png")
    if args.n < 1:
        raise UserError(f"--n {args.n}: need at least 1 sample per row")
    overrides = list(args.overrides)
    if args.real_dir is not None:
        overrides.append(f"data.real_dir={args.real_dir}")
    data = compose_data(args.config_dir, overrides)
    datamodule = hydra.utils.instantiate(data, synthetic_val_size=0, synthetic_test_size=0)
    datamodule.setup("fit")
    sources = {
        name: _sample(dataset, args.n, args.seed)
        for name, dataset in sorted(datamodule.train_sources.items(), reverse=True)
    }
    grid = preview_grid(
        sources, datamodule.image_size, datamodule.channels, datamodule.augmentation, args.seed
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"{args.out}: could not encode the preview")
    data.tofile(args.out)
    height, width = datamodule.image_size
    colour = "grey" if datamodule.channels == 1 else "RGB"
    print(
        f"wrote {args.out}: {' and '.join(sources)} x {', '.join(STRENGTHS)} "
        f"({args.n} samples each, {height}x{width} {colour}, * = trained with)"
    )
    return 0
