"""Where a crop's label comes from: its file name, or a ``labels.csv`` beside it.

Only reading happens here; whether a label is a valid plate number is ``plates.plate_problem``'s
call, made by the folder scanner that knows which file the label belongs to.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from plate_ocr.errors import UserError
from plate_ocr.plates import normalize_label

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# image types OpenCV does not decode: a crop saved as one is named, never skipped in silence
UNREAD_IMAGE_EXTENSIONS = (".gif", ".heic", ".heif", ".avif", ".jp2", ".jxl", ".svg")
LABELS_CSV = "labels.csv"
# corrections a person made after looking (``plate-ocr audit`` writes a template): file,text
LABEL_FIXES_CSV = "label_fixes.csv"
DROP = "drop"  # a correction's text that takes the crop out: it cannot show its plate

# Copies of one plate get "_1", "_2", " (2)", sometimes stacked ("_1_1"): none is a digit of it.
_DUPLICATE_SUFFIX = re.compile(r"(?:_\d+|\s*\(\d+\))+$")


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_unread_image(path: Path) -> bool:
    """An image of a type this tool cannot decode (a .gif, a .heic): worth a word, not a crop."""
    return path.suffix.lower() in UNREAD_IMAGE_EXTENSIONS


def label_from_filename(path: str | Path) -> str:
    """``12345611616_1_1.JPG`` -> ``12345611616``; ``123456-116-16 (2).png`` -> ``12345611616``."""
    return normalize_label(_DUPLICATE_SUFFIX.sub("", Path(path).stem))


def read_label_fixes(csv_path: Path) -> dict[str, tuple[int, str]]:
    """``file -> (line number, corrected label or "drop")`` from a ``file,text`` corrections
    file; rows with no text yet (a template's) are left out."""
    rows = read_labels_csv(csv_path, header=("file", "text"), keep_drop=True)
    return {name: (line, text) for name, (line, text) in rows.items() if text}


def read_labels_csv(
    csv_path: Path, header: tuple[str, str] = ("filename", "text"), keep_drop: bool = False
) -> dict[str, tuple[int, str]]:
    """``filename -> (line number, normalised label)`` from a ``filename,text`` file.

    The header row is optional. A file that cannot be parsed (a row without exactly two
    fields, a file listed twice) is an error naming the line, since nothing it says can be
    trusted; whether each label is a valid plate is checked later, per image.
    """
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{csv_path}: cannot read it ({error})") from error
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise UserError(f"{csv_path} line {line}: a NUL byte; the file is not text (damaged?)")
    rows: dict[str, tuple[int, str]] = {}
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        fields = [field.strip() for field in row]
        if not any(fields):
            continue
        if len(fields) != 2:
            raise UserError(
                f"{csv_path} line {line}: expected 2 fields ({','.join(header)}), got {len(fields)}"
            )
        filename, label = fields
        if line == 1 and (filename.lower(), label.lower()) == header:
            continue
        if filename in rows:
            raise UserError(
                f"{csv_path} line {line}: {filename!r} is already labelled on line "
                f"{rows[filename][0]}: keep one row per file"
            )
        keep = keep_drop and label.lower() == DROP
        rows[filename] = (line, DROP if keep else normalize_label(label))
    return rows
