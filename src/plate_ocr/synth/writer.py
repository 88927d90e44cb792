"""``plate-ocr synth``: render synthetic plates to disk, or a contact sheet to look at, or
(``--fit REAL_DIR``) fit the generator's distributions to a folder of real crops.

Disk layout: ``OUT/{train,validation,test}/NNNNNN_<label>.png`` plus ``labels.csv``
(``filename,text``) per split. Image ``i`` of a split is a function of (seed, split, i), so
an interrupted run is resumed by rendering only the missing indexes; each image is written
under a hidden temporary name and renamed into place, so a crash never leaves half an image.
``OUT/synth.json`` records what the folder was made with, and a run with other settings
is refused rather than mixed in.

``--fit`` writes the fitted ``Factors`` as a Hydra config (see ``synth/fit.py``), by default
``conf/data/synthetic_factors/fitted.yaml``, which ``python train.py
data/synthetic_factors=fitted`` trains with; an existing file is kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.atomic import write_text
from plate_ocr.errors import UserError
from plate_ocr.synth.camera import render_sample

SPLITS = (("train", 1), ("validation", 2), ("test", 3))  # name, random stream
FITTED = Path("conf/data/synthetic_factors/fitted.yaml")
_CHUNK = 64


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
    parser.add_argument("--force", action="store_true", help="with --fit: overwrite --out")
    parser.add_argument(
        "--skip-bad", action="store_true", help="with --fit: skip bad crops with a warning"
    )


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {text!r} is not HxW; write e.g. --size 64x200") from None
    if h < 16 or w < 32:
        raise UserError(f"--size {text} is too small; use at least 16x32")
    return h, w


def run(args: argparse.Namespace) -> int:
    if args.fit is not None:
        return _fit(args)
    for flag, given in (
        ("--out", args.fit_out),
        ("--force", args.force),
        ("--skip-bad", args.skip_bad),
    ):
        if given:
            raise UserError(f"{flag} goes with --fit REAL_DIR (a dataset folder is given as OUT)")
    size = _size(args.size)
    if args.preview is not None:
        if args.count < 1:
            raise UserError(f"--count must be at least 1, got {args.count}")
        write_sheet(args.preview, [render_sample(args.seed, i, size)[0] for i in range(args.count)])
        print(f"wrote {args.count} samples to {args.preview}")
        return 0
    if args.out is None:
        raise UserError("give an output folder (plate-ocr synth OUT) or --preview SHEET.png")
    counts = {"train": args.train, "validation": args.val, "test": args.test}
    for flag, n in zip(("--train", "--val", "--test"), counts.values(), strict=True):
        if n < 0:
            raise UserError(f"{flag} must be 0 or more, got {n}")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    settings = {"seed": args.seed, "size": list(size), "format": args.format}
    _claim(args.out, settings)
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
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write {out} ({error.strerror}); choose another --out") from None
    write_text(out, fitted.to_yaml(usage(out)))
    print(f"fitted to {fitted.crops:,} crops of {fitted.plates:,} plates in {args.fit}")
    print(fitted.table())
    print(f"wrote {out}. {usage(out)}")
    return 0


def _claim(out: Path, settings: dict) -> None:
    """Create ``out`` and check it holds (if anything) a dataset made with ``settings``."""
    manifest = out / "synth.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        if manifest.exists():
            found = json.loads(manifest.read_text())
            if found != settings:
                raise UserError(
                    f"{out} was rendered with {found}, not {settings}; "
                    "resume with the same settings or choose a new folder"
                )
            return
        if any(out.iterdir()):
            raise UserError(
                f"{out} is not empty and holds no synth.json (not a plate-ocr synth folder): "
                "choose a new or empty folder, so nothing in it is overwritten"
            )
        write_text(manifest, json.dumps(settings) + "\n")
    except OSError as error:
        raise UserError(
            f"cannot write to {out} ({error.strerror}); choose a writable folder"
        ) from None


def _done(folder: Path, suffix: str) -> dict[int, str]:
    """index -> file name of the finished images; stale temporary files are removed."""
    done = {}
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            if entry.name.endswith(".part" + suffix):
                os.unlink(entry.path)
            continue
        stem, dot, ext = entry.name.rpartition(".")
        index, _, label = stem.partition("_")
        if "." + ext == suffix and index.isdigit() and label.isdigit():
            done[int(index)] = entry.name
    return done


def _render_chunk(
    indexes: list[int], folder: Path, seed: int, stream: int, size, suffix: str
) -> int:
    for i in indexes:
        image, label = render_sample(seed, i, size, stream=stream)
        name = f"{i:06d}_{label}{suffix}"
        tmp = folder / f".{name[: -len(suffix)]}.part{suffix}"
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[..., ::-1])):
            raise OSError(f"could not write {tmp}")
        os.replace(tmp, folder / name)
    return len(indexes)


def write_split(
    folder: Path, count: int, seed: int, stream: int, size, fmt: str, pool=None
) -> tuple[int, int]:
    """Render images 0..count-1 of one split that are not there yet, remove those past
    ``count`` (a shrunk split), then write its labels.csv. Returns (rendered, removed).

    ``pool`` (a multiprocessing pool) renders chunks in parallel; without it, in process.
    """
    from tqdm.auto import tqdm

    suffix = "." + fmt
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"cannot write to {folder} ({error.strerror}); choose a writable folder"
        ) from None
    done = _done(folder, suffix)
    todo = [i for i in range(count) if i not in done]
    chunks = [todo[k : k + _CHUNK] for k in range(0, len(todo), _CHUNK)]
    job = partial(_render_chunk, folder=folder, seed=seed, stream=stream, size=size, suffix=suffix)
    with tqdm(total=count, initial=count - len(todo), desc=folder.name, unit="img") as bar:
        for n in pool.imap_unordered(job, chunks) if pool else map(job, chunks):
            bar.update(n)
    names = _done(folder, suffix)
    surplus = [name for i, name in names.items() if i >= count]
    for name in surplus:  # a folder reader would flag images that labels.csv leaves out
        (folder / name).unlink()
    names = {i: name for i, name in names.items() if i < count}
    tmp = folder / ".labels.csv.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "text"])
        for i in sorted(names):
            writer.writerow([names[i], names[i].partition("_")[2].rpartition(".")[0]])
    os.replace(tmp, folder / "labels.csv")
    return len(todo), len(surplus)


def contact_sheet(images: list[np.ndarray], columns: int = 6) -> np.ndarray:
    """Images (all one size) tiled row by row, blank cells at the end."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    sheet = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return sheet


def write_sheet(path: Path, images: list[np.ndarray], columns: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), contact_sheet(images, columns)[..., ::-1]):
        raise UserError(f"cannot write {path}; use a .png or .jpg path in a writable folder")
