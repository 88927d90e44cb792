"""Image files, read safely as RGB crops: one file (``read_rgb``), or the files and folders
named on a command line.

Crops are decoded only when their bytes are a known image format and their declared size is
a plate crop's, so a photo, a bomb or a pipe is refused before it fills memory or blocks.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from plate_ocr.data.labels import is_image, is_unread_image
from plate_ocr.errors import UserError

MIN_CROP = (8, 16)  # (height, width): smaller cannot hold 10 legible digits
MAX_CROP_SIDE = 4000  # px: a whole photo, not a crop; decoding thousands would fill memory
# the formats decoded, told by the file's bytes (Pillow's name for each), never by its name
DECODED_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "WEBP", "TIFF")
MAX_FILE_BYTES = 32 * 2**20  # a plate crop is kilobytes: past this, reading it would cost the rest


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB; any path, any case of extension, its EXIF
    orientation applied. Its size is checked from the file and the header first, so a photo
    or a bomb (a small file declaring a huge image) is refused before it fills memory."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block or never end
            raise UserError(f"{path}: not a regular file (a pipe or a device): remove it")
        size = status.st_size
        if size > MAX_FILE_BYTES:
            raise UserError(
                f"{path}: {size / 2**20:.0f} MB is not a plate crop (at most "
                f"{MAX_FILE_BYTES // 2**20} MB): crop the plate out of the photo, or delete it"
            )
        _check_header(path)
        data = np.fromfile(path, dtype=np.uint8)  # cv2.imread cannot open non-ASCII paths
    except OSError as error:
        raise UserError(f"{path}: cannot read the file ({error.strerror or error})") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UserError(f"{path}: not a readable image (empty or corrupt): replace or delete it")
    _check_size(path, *image.shape[:2])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _check_header(path: Path) -> None:
    """The size the file declares, checked without decoding its pixels."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                (width, height), kind = image.size, image.format
        except Image.DecompressionBombError:
            raise UserError(
                f"{path}: its header declares an image of hundreds of millions of pixels, not a "
                "plate crop: crop the plate out of the photo, or delete it"
            ) from None
        except (UnidentifiedImageError, SyntaxError, ValueError, OSError):
            kind = None
    if kind not in DECODED_FORMATS:  # by content: OpenCV would decode HDR, PFM, ... whole
        raise UserError(
            f"{path}: not a readable image (empty or corrupt, or not JPEG, PNG, BMP, WebP or "
            "TIFF by its content): replace or delete it"
        )
    if max(width, height) > MAX_CROP_SIDE:
        _check_size(path, height, width)


def _check_size(path: Path, height: int, width: int) -> None:
    if height < MIN_CROP[0] or width < MIN_CROP[1]:
        raise UserError(
            f"{path}: {width}x{height} px is too small to show a plate (at least "
            f"{MIN_CROP[1]}x{MIN_CROP[0]}): re-crop or delete it"
        )
    if max(height, width) > MAX_CROP_SIDE:
        raise UserError(
            f"{path}: {width}x{height} px is not a plate crop (over {MAX_CROP_SIDE} px): "
            "crop the plate out of the photo"
        )


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
