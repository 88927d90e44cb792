"""``plate-ocr preview OUT.png [key=value ...]``: augmented samples exactly as the model gets them.

The training config is composed from ``conf/`` with the same overrides ``train.py`` takes, so
the tiles have the input size and colour mode of that run, pixel for pixel, and the real crops
come from its training split. Rows are source x strength, the strength that run trains each
source with is marked; each column is one crop under every strength.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plate_ocr.data.augment import STRENGTHS, build_augmentation
from plate_ocr.errors import UserError
from plate_ocr.gallery import captioned, tile

GAP = 4
Crop = tuple[np.ndarray, str]


def compose_data(config_dir: Path, overrides: list[str]):
    """The ``data`` section of the training config, composed as ``train.py`` would."""
    from hydra import compose, initialize_config_dir  # only this verb needs Hydra

    if not (config_dir / "train.yaml").is_file():
        raise UserError(
            f"{config_dir}/train.yaml not found: run from the plate-ocr folder or pass --config-dir"
        )
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        try:
            return compose("train", overrides=overrides).data
        except (HydraException, OmegaConfBaseException) as error:  # model=nope, a typo'd key
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UserError(f"{' '.join(overrides)}: {reason}") from None


def sample_crops(dataset, n: int, seed: int) -> list[Crop]:
    picked = np.random.default_rng(seed).choice(len(dataset), min(n, len(dataset)), replace=False)
    return [dataset[int(i)] for i in sorted(picked)]


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
                shown = model_input(image, pipeline, channels)
                shown = np.repeat(shown, 3, axis=2) if channels == 1 else shown
                tiles.append(captioned(shown, f"{source} {strength}{mark}: {label}"))
            rows.append(tiles)
    return tile(rows, GAP)
