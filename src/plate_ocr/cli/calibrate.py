"""``plate-ocr calibrate MODEL REAL_DIR --out FILE``: give a model a calibrated confidence.

A model that ``train.py`` fitted with real validation crops is calibrated already; this is for
one that was not (the shipped reader, a model trained without real crops, an older
checkpoint). It reads every labelled crop under REAL_DIR (which it must never have trained
on) in each reading option, fits a calibrator per option, and writes the model with them to
FILE: a copy, so the model given is never changed. Then ``predict --max-error`` and
``PlateReader(..., max_error=...)`` can tell which readings to trust.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError
from plate_ocr.pretrained import resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .ckpt from train.py, a .pt reader file, or pretrained")
    parser.add_argument(
        "real_dir", type=Path, help="labelled real crops the model never trained on"
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the model")
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")


def run(args: argparse.Namespace) -> int:
    model = Path(resolve_model(args.model))
    if model.suffix.lower() not in (".ckpt", ".pt"):
        raise UserError(f"{args.model}: give a .ckpt or .pt model (export to ONNX after this)")
    if args.out.suffix.lower() != model.suffix.lower():
        raise UserError(f"--out {args.out}: name it *{model.suffix}, as {model.name} is")
    if args.out.exists() and not args.force:
        raise UserError(f"--out {args.out} exists: pass --force to replace it, or name another")
    from plate_ocr.confidence import fit_calibrations
    from plate_ocr.data.folder import PlateFolder, find_splits
    from plate_ocr.model.checkpoint import add_calibration, load_network

    net = load_network(model)
    samples = [
        s for split in find_splits(args.real_dir, config_key="REAL_DIR").values() for s in split
    ]
    if not samples:
        raise UserError(f"{args.real_dir}: no labelled crops to calibrate on")
    crops = PlateFolder(samples)
    calibration = fit_calibrations(net, crops.images, crops.labels)
    if not calibration:
        raise UserError(
            f"{args.real_dir}: the model reads all {len(crops)} crops right in every option, "
            "so there is no misread to learn from; calibrate on more crops"
        )
    with replacing(args.out) as temporary:
        shutil.copyfile(model, temporary)
        add_calibration(
            temporary, calibration, f"{args.real_dir.resolve().name}/ ({len(crops)} crops)"
        )
    print(
        f"{args.out}: confidence calibrated on {len(crops)} crops of {args.real_dir} "
        f"({len(calibration)} of 4 reading options)"
    )
    return 0
