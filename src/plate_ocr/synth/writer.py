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

import csv
import json
import os
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from plate_ocr import atomic
from plate_ocr.atomic import write_text
from plate_ocr.errors import UserError
from plate_ocr.gallery import tile
from plate_ocr.synth.camera import render_sample

SPLITS = (("train", 1), ("validation", 2), ("test", 3))  # name, random stream
_CHUNK = 64


def claim_folder(out: Path, settings: dict) -> None:
    """Create ``out`` and check it holds (if anything) a dataset made with ``settings``."""
    manifest = out / "synth.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not atomic.claim_folder(out):  # two renderings into one folder deleted each other's
            raise UserError(f"{out} is being rendered into by another plate-ocr synth: wait for it")
        if manifest.exists():
            try:
                found = json.loads(manifest.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise UserError(
                    f"{manifest} is not the JSON `plate-ocr synth` writes (damaged?): delete it "
                    "and render into a new folder, so no image here is mixed with others"
                ) from None
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
            tmp.unlink(missing_ok=True)  # a part-image is never left behind
            raise OSError(f"could not write {tmp.name} (a full disk, or a read-only folder?)")
        os.replace(tmp, folder / name)
    return len(indexes)


def surplus(folder: Path, count: int, fmt: str) -> int:
    """Images already in ``folder`` past index ``count``: what shrinking the split removes."""
    if not folder.is_dir():
        return 0
    return sum(i >= count for i in _done(folder, "." + fmt))


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
    return tile([images[k : k + columns] for k in range(0, len(images), columns)])


def write_sheet(path: Path, images: list[np.ndarray], columns: int = 6) -> None:
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"{path}: name the sheet *.png or *.jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), contact_sheet(images, columns)[..., ::-1]):
        raise UserError(f"cannot write {path}; use a .png or .jpg path in a writable folder")
