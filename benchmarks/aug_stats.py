"""Image statistics of real and synthetic crops, bare and under each augmentation preset.

    python benchmarks/aug_stats.py [--n 300] [--image-size 32 128] [--seed 0] [--real-dir DIR]

Prints one markdown table (cells p10 / p50 / p90, see plate_ocr.data.image_stats for the
definitions), measured on what the model receives: the preset's output at --image-size. Real
crops are a seeded random sample of train + validation; synthetic ones are rendered at
--image-size, as the datamodule does. A preset whose rows fall outside the real "none" row
trains on images the model will never see.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.data.folder import PlateFolder, find_splits
from plate_ocr.data.image_stats import summarise, table
from plate_ocr.synth import SyntheticPlates

REAL_DIR = Path(__file__).parents[1].parent / "shared" / "data" / "lpa_recognition"


def _augmented(images: list[np.ndarray], strength: str, size: tuple[int, int], seed: int):
    pipeline = build_augmentation(strength, size)
    pipeline.set_random_seed(seed)
    return (pipeline(image=image)["image"] for image in images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=REAL_DIR, help="folder of real crops")
    parser.add_argument("--n", type=int, default=300, help="images per row")
    parser.add_argument(
        "--image-size", type=int, nargs=2, default=(32, 128), metavar=("H", "W"), help="model input"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampling, rendering, augmentation")
    args = parser.parse_args()
    size = tuple(args.image_size)
    cv2.setNumThreads(1)

    start = time.perf_counter()
    splits = find_splits(args.real_dir)
    pool = splits["train"] + splits["validation"]
    picks = np.random.default_rng(args.seed).choice(len(pool), min(args.n, len(pool)), False)
    real = PlateFolder([pool[i] for i in sorted(picks)]).images
    plates = SyntheticPlates(args.n, seed=args.seed, image_size=size)
    synthetic = [plates[i][0] for i in range(len(plates))]
    loaded = time.perf_counter()

    rows = {}
    for source, images in (("real", real), ("synthetic", synthetic)):
        for strength in STRENGTHS:
            augmented = _augmented(images, strength, size, args.seed)
            rows[f"{source} {strength}"] = summarise(augmented)
    rows = {name: rows[name] for name in ("real none", "synthetic none")} | rows  # bare first
    done = time.perf_counter()

    print(
        f"{len(real)} real crops from {args.real_dir}, {len(synthetic)} synthetic, "
        f"at {size[0]}x{size[1]} (seed {args.seed})\n"
    )
    print(table(rows))
    print(
        f"\nloading + rendering {loaded - start:.1f} s, "
        f"augmenting + measuring {len(rows)} rows {done - loaded:.1f} s"
    )


if __name__ == "__main__":
    main()
