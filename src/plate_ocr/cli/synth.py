"""``plate-ocr synth OUT`` (a dataset on disk), ``--preview SHEET.png`` or ``--fit REAL_DIR``."""

from __future__ import annotations

import argparse
import sys
from multiprocessing import get_context
from pathlib import Path

import cv2

from plate_ocr.atomic import write_text
from plate_ocr.data.images import MAX_CROP_SIDE
from plate_ocr.errors import UserError
from plate_ocr.synth.camera import render_sample
from plate_ocr.synth.writer import SPLITS, claim_folder, surplus, write_sheet, write_split

FITTED = Path("conf/data/synthetic_factors/fitted.yaml")  # --fit's default, from the repo root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "out", nargs="?", type=Path, help="folder to write train/validation/test into"
    )
    parser.add_argument("--train", type=int, default=40000, help="training images (default 40000)")
    parser.add_argument("--val", type=int, default=5000, help="validation images (default 5000)")
    parser.add_argument("--test", type=int, default=5000, help="test images (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same images")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering in parallel")
    parser.add_argument("--size", default="64x200", help="image size HxW (default 64x200)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", help="image file type")
    parser.add_argument(
        "--preview",
        type=Path,
        metavar="SHEET.png",
        help="write a contact sheet of --count samples instead of a dataset",
    )
    parser.add_argument("--count", type=int, default=48, help="samples on the preview sheet")
    parser.add_argument(
        "--fit",
        type=Path,
        metavar="REAL_DIR",
        help="instead of rendering, estimate the generator's distributions from a folder of "
        "real crops and write them as a Hydra config",
    )
    parser.add_argument(
        "--out",
        dest="fit_out",
        type=Path,
        metavar="FILE",
        help=f"with --fit: the config to write (default {FITTED}, when ./conf exists)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="remove the images past smaller counts in OUT; with --fit: overwrite --out; "
        "with --preview: overwrite the sheet",
    )
    parser.add_argument(
        "--skip-bad", action="store_true", help="with --fit: skip bad crops with a warning"
    )


MIN_FIT_CROPS = 5  # below this a fitted spread is none: every plate would look alike
FEW_FIT_CROPS = 50  # below this it is rough: said with the result
MAX_IMAGES = 10_000_000  # per split: hundreds of GB of PNG already


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {text!r} is not HxW; write e.g. --size 64x200") from None
    if h < 16 or w < 32:
        raise UserError(f"--size {text} is too small; use at least 16x32")
    if max(h, w) > MAX_CROP_SIDE:  # a plate crop, not a photo: the readers refuse larger
        raise UserError(f"--size {text} is too large; use at most {MAX_CROP_SIDE} px a side")
    return h, w


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: use a whole number, 0 or more")
    if args.fit is not None:
        return _fit(args)
    for flag, given in (("--out", args.fit_out), ("--skip-bad", args.skip_bad)):
        if given:
            raise UserError(f"{flag} goes with --fit REAL_DIR (a dataset folder is given as OUT)")
    size = _size(args.size)
    if args.preview is not None:
        if args.count < 1:
            raise UserError(f"--count must be at least 1, got {args.count}")
        if args.preview.exists() and not args.force:
            raise UserError(f"--preview {args.preview} exists: pass --force to replace it")
        write_sheet(args.preview, [render_sample(args.seed, i, size)[0] for i in range(args.count)])
        print(f"wrote {args.count} samples to {args.preview}")
        return 0
    if args.out is None:
        raise UserError("give an output folder (plate-ocr synth OUT) or --preview SHEET.png")
    counts = {"train": args.train, "validation": args.val, "test": args.test}
    for flag, n in zip(("--train", "--val", "--test"), counts.values(), strict=True):
        if not 0 <= n <= MAX_IMAGES:  # past this, the disk fills long before it ends
            raise UserError(f"{flag} must be from 0 to {MAX_IMAGES:,}, got {n:,}")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    settings = {"seed": args.seed, "size": list(size), "format": args.format}
    claim_folder(args.out, settings)
    past = {name: surplus(args.out / name, counts[name], args.format) for name, _ in SPLITS}
    if any(past.values()) and not args.force:
        shown = ", ".join(f"{n:,} in {name}/" for name, n in past.items() if n)
        raise UserError(
            f"{args.out} holds images past the counts asked for ({shown}): pass --force to "
            "remove them, the same counts to keep them, or a new folder"
        )
    # One OpenCV thread per worker process: the processes are the parallelism.
    pool = (
        get_context("spawn").Pool(args.workers, cv2.setNumThreads, (1,))
        if args.workers > 1
        else None
    )
    rendered = removed = 0
    try:
        for name, stream in SPLITS:
            new, old = write_split(
                args.out / name, counts[name], args.seed, stream, size, args.format, pool
            )
            rendered, removed = rendered + new, removed + old
    except OSError as error:
        raise UserError(
            f"{args.out}: cannot write the images ({error.strerror or error}); free some space "
            "and run it again: the images already written are kept, only the rest is rendered"
        ) from None
    finally:
        if pool is not None:
            pool.terminate()
    kept = sum(counts.values()) - rendered
    print(
        f"{args.out}: rendered {rendered} images, kept {kept} already there"
        + (f", removed {removed} past the new counts" if removed else "")
    )
    return 0


def _fit(args: argparse.Namespace) -> int:
    from plate_ocr.synth.fit import fit_factors, usage

    if args.out is not None or args.preview is not None:
        raise UserError("--fit writes a config file, not images: give it with --out FILE")
    out = args.fit_out
    if out is None:
        if not Path("conf").is_dir():
            raise UserError(f"give --out FILE: there is no conf/ folder here to write {FITTED}")
        out = FITTED
    if out.is_dir():
        raise UserError(f"--out {out} is a folder: give the .yaml file to write")
    if out.exists() and not args.force:
        raise UserError(f"{out} exists: pass --force to overwrite it, or choose another --out")
    fitted = fit_factors(args.fit, skip_bad=args.skip_bad)
    if fitted.crops < MIN_FIT_CROPS:  # a spread of one crop is none: every plate alike
        raise UserError(
            f"--fit {args.fit}: {fitted.crops} crop(s) are too few to fit distributions to "
            f"(at least {MIN_FIT_CROPS}); {out} not written"
        )
    if fitted.crops < FEW_FIT_CROPS:
        print(
            f"warning: fitted to {fitted.crops} crops only: the spreads are rough", file=sys.stderr
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write {out} ({error.strerror}); choose another --out") from None
    write_text(out, fitted.to_yaml(usage(out)))
    print(f"fitted to {fitted.crops:,} crops of {fitted.plates:,} plates in {args.fit}")
    print(fitted.table())
    print(f"wrote {out}. {usage(out)}")
    return 0
