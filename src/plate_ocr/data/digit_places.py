"""Where each digit of a real crop lies, for recombining (``recombine.locate_digits``),
computed once per set of crops and reader and kept in a cache folder: every job of a sweep,
``plate-ocr preview`` and ``audit`` on the same crops would otherwise redo the same minute.

The key is the content (each crop's pixels and label, the reader's file), never a path, so a
moved folder still hits and a changed crop misses. ``PLATE_OCR_CACHE`` names the folder;
the default is ``$XDG_CACHE_HOME/plate-ocr`` (``~/.cache/plate-ocr``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from plate_ocr.atomic import write_text
from plate_ocr.data.recombine import locate_digits
from plate_ocr.pretrained import PRETRAINED, PRETRAINED_FILE

log = logging.getLogger(__name__)
FORMAT = 1  # bumped when locate_digits changes what it returns for the same crops


def cache_folder() -> Path:
    if os.environ.get("PLATE_OCR_CACHE"):
        return Path(os.environ["PLATE_OCR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "plate-ocr"


def _key(images: Sequence[np.ndarray], labels: Sequence[str]) -> str:
    digest = hashlib.sha256(f"digit places {FORMAT}\n".encode())
    digest.update(PRETRAINED_FILE.read_bytes())
    for image, label in zip(images, labels, strict=True):
        digest.update(f"{label} {image.shape}\n".encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()[:32]


def placed_digits(images: Sequence[np.ndarray], labels: Sequence[str]) -> list:
    """``locate_digits`` by the shipped reader for these crops, from the cache when they
    were placed before."""
    path = cache_folder() / f"digit-places-{_key(images, labels)}.json"
    cached = _read(path, len(images))
    if cached is not None:
        log.info("digit places of %d crops from the cache (%s)", len(images), path.parent)
        return cached
    from plate_ocr.reader import PlateReader

    log.info("placing the digits of %d crops (once for these crops: cached)", len(images))
    reader = PlateReader(PRETRAINED, device="cpu", constrained=False)
    cells = locate_digits(reader, images, labels)
    try:
        rows = [None if c is None else np.asarray(c).tolist() for c in cells]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(rows))
    except OSError as error:  # a read-only home: placed again next time, nothing lost
        log.warning("cannot keep digit places in %s (%s)", path.parent, error.strerror or error)
    return cells


def _read(path: Path, count: int) -> list | None:
    """The cached cells, or None when there are none or they are damaged."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list) or len(rows) != count:
        return None
    try:
        return [None if r is None else np.asarray(r).reshape(-1, 2) for r in rows]  # ints stay ints
    except (TypeError, ValueError):
        return None
