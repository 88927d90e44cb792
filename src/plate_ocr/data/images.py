"""Image files named on a command line: files and folders of them, read as RGB crops."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from plate_ocr.data.folder import read_rgb
from plate_ocr.data.labels import is_image, is_unread_image
from plate_ocr.errors import UserError


def _walk(folder: Path) -> Iterator[Path]:
    """Every file under ``folder``, sorted, through symlinked folders too (each real folder
    once, so a link back up cannot loop)."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs.sort()
        yield from (Path(top) / name for name in sorted(files))


def image_files(inputs: list[Path]) -> Iterator[Path | UserError]:
    """The images named or found in folders (recursively, sorted); a problem per bad input,
    and per file in a folder that looks like an image this tool cannot decode."""
    for path in inputs:
        if path.is_dir():
            found = 0
            for file in _walk(path):
                if is_image(file) and not file.is_file():  # a FIFO named .jpg would block
                    yield UserError(f"{file}: not a regular file (a pipe or a device)")
                elif is_image(file):
                    found += 1
                    yield file
                elif is_unread_image(file):
                    yield UserError(f"{file}: {file.suffix} images are not decoded; convert it")
            if not found:
                yield UserError(f"{path}: no plate crop images in this folder")
        elif path.is_file():
            yield path
        elif path.exists():
            yield UserError(f"{path}: not a regular file (a pipe or a device)")
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
