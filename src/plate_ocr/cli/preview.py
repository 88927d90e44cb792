"""``plate-ocr preview OUT.png [overrides]``: samples exactly as the model receives them."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError


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
    parser.add_argument("--force", action="store_true", help="replace an existing OUT.png")
    parser.add_argument(
        "--config-dir", type=Path, default=Path("conf"), help="the conf/ folder (default ./conf)"
    )


def run(args: argparse.Namespace) -> int:
    import hydra

    from plate_ocr.data.augment import STRENGTHS  # here: --help need not import the pipelines
    from plate_ocr.data.preview import compose_data, preview_grid, sample_crops

    if args.out.suffix.lower() != ".png":
        raise UserError(f"{args.out}: the preview is written as PNG, name it *.png")
    if args.n < 1:
        raise UserError(f"--n {args.n}: need at least 1 sample per row")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: use a whole number, 0 or more")
    if args.out.exists() and not args.force:
        raise UserError(f"{args.out} exists: pass --force to replace it, or name another")
    overrides = list(args.overrides)
    if args.real_dir is not None:
        overrides.append(f"data.real_dir={args.real_dir}")
    data = compose_data(args.config_dir, overrides)
    datamodule = hydra.utils.instantiate(data, synthetic_val_size=0, synthetic_test_size=0)
    datamodule.setup("fit")
    sources = {
        name: sample_crops(dataset, args.n, args.seed)
        for name, dataset in sorted(datamodule.train_sources.items(), reverse=True)
    }
    grid = preview_grid(
        sources, datamodule.image_size, datamodule.channels, datamodule.augmentation, args.seed
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"{args.out}: could not encode the preview")
    with replacing(args.out) as temporary:
        data.tofile(temporary)
    height, width = datamodule.image_size
    colour = "grey" if datamodule.channels == 1 else "RGB"
    print(
        f"wrote {args.out}: {' and '.join(sources)} x {', '.join(STRENGTHS)} "
        f"({args.n} samples each, {height}x{width} {colour}, * = trained with)"
    )
    return 0
