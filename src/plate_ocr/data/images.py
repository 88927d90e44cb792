"""Image files named on a command line: files and folders of them, read as RGB crops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from plate_ocr.data.folder import read_rgb
from plate_ocr.data.labels import is_image
from plate_ocr.errors import UserError


def image_files(inputs: list[Path]) -> Iterator[Path | UserError]:
    """The images named or found in folders (recursively, sorted); a problem per bad input."""
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_image(p))
            if not found:
                yield UserError(f"{path}: no .jpg/.jpeg/.png images in this folder")
            yield from found
        elif path.is_file():
            yield path
        else:
            yield UserError(f"{path}: no such file or folder")


def load_images(inputs: list[Path]) -> Iterator[tuple[Path, np.ndarray] | UserError]:
    """(path, RGB image) per readable image; the UserError saying why for anything else."""
    for item in image_files(inputs):
        if isinstance(item, UserError):
            yield item
            continue
        try:
            yield item, read_rgb(item)
        except UserError as error:
            yield error
