"""``plate-ocr predict [MODEL] IMG_OR_DIR...``: read the plate in each image file.

MODEL is a ``.ckpt``, ``.onnx`` or ``.pt`` reader file (told from images by its suffix), or
``pretrained``; without one the shipped pretrained reader reads. Prints one row per image:
the file, the plate in its printed form (``123456 116 16``; raw digits when the reading is
not a valid plate) and the reading's confidence, then, where the model was calibrated (as
train.py does on real validation crops), the chance that the reading is right; with
``--max-error 0.005``, whether it is accepted at that error rate or is for a person to
review. ``--ensemble MODEL`` reads with more models and keeps the majority. Images are read
in batches; a file that cannot be read is reported on stderr and skipped, and the exit status
is then 1 so scripts notice.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from plate_ocr.errors import UserError
from plate_ocr.pretrained import PRETRAINED

if TYPE_CHECKING:  # the reader imports torch: not for --help or a refused argument
    from plate_ocr.model.codec import Reading

MODEL_SUFFIXES = (".ckpt", ".onnx", ".pt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "plate-ocr predict [MODEL] IMG_OR_DIR [IMG_OR_DIR ...] [options]"
    parser.add_argument(
        "inputs",
        type=Path,
        nargs="+",
        metavar="[MODEL] IMG_OR_DIR",
        help="a model first (a .ckpt from train.py, a .onnx from export, or pretrained: the "
        "default), then images or folders of them",
    )
    parser.add_argument(
        "--format",
        choices=("text", "csv", "json"),
        default="text",
        help="text: file, plate, confidence[, probability right][, accept or review], "
        "tab-separated; csv and json add the digits and whether they make a valid plate "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="crops read per network call; more is faster up to memory (default: %(default)s)",
    )
    parser.add_argument(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read only valid Algerian plate numbers (default); --no-constrained: the best path",
    )
    parser.add_argument(
        "--vote",
        action="store_true",
        help="read each crop as given, tighter and looser, keep the majority (3x the work)",
    )
    parser.add_argument(
        "--ensemble",
        type=Path,
        action="append",
        default=[],
        metavar="MODEL",
        help="one more model to read with (repeat for more): each crop gets the reading most "
        "models agree on, for the work of each; models of one input size",
    )
    parser.add_argument(
        "--max-error",
        type=float,
        default=None,
        metavar="SHARE",
        help="mark each reading accept or review: accepted ones are wrong this share of the "
        "time or less (e.g. 0.005), by the model's calibrated confidence",
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")


def _one_field(text: str) -> str:
    """Text as one tab-separated field on one line: tabs, newlines, other control characters
    and backslashes escaped, so a file name cannot forge a reading's row."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if not char.isprintable() or char == "\\"
        else char
        for char in text
    )


class _Printer:
    """Rows to stdout as they come; JSON is one array, written as a stream. CSV and JSON
    carry the digits and their validity beside the printed form, for programs to use."""

    FIELDS = ("file", "plate", "confidence", "digits", "valid")

    def __init__(self, fmt: str, calibrated: bool, review: bool):
        self.fmt, self.rows = fmt, 0
        self.fields = (
            self.FIELDS
            + (("probability",) if calibrated else ())
            + (("accepted",) if review else ())
        )
        if fmt == "csv":
            self.csv = csv.writer(sys.stdout, lineterminator="\n")
            self.csv.writerow(self.fields)

    def row(self, path: Path, reading: Reading) -> None:
        from plate_ocr.plates import is_valid_plate

        plate, confidence = reading.display, round(reading.confidence, 4)
        valid = is_valid_plate(reading.text)
        values = [str(path), plate, confidence, reading.text, valid]
        if "probability" in self.fields:
            values.append(round(reading.probability, 4))
        if "accepted" in self.fields:
            values.append(reading.accepted)
        if self.fmt == "csv":
            self.csv.writerow(
                [f"{v:.4f}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool)
                 else v for v in values]
            )  # fmt: skip
        elif self.fmt == "json":
            item = json.dumps(dict(zip(self.fields, values, strict=True)))
            print(("[" if not self.rows else ",") + "\n  " + item, end="")
        else:
            extra = [f"{v:.4f}" for v in values[5:6] if isinstance(v, float)]
            if "accepted" in self.fields:
                extra.append("accept" if reading.accepted else "review")
            fields = [_one_field(str(path)), plate or "-", f"{confidence:.4f}", *extra]
            print("\t".join(fields))
        self.rows += 1
        sys.stdout.flush()

    def close(self) -> None:
        if self.fmt == "json":
            print("\n]" if self.rows else "[]")


def _split_model(inputs: list[Path]) -> tuple[Path | str, list[Path]]:
    """The model named first, if any (by its suffix: no image is a .ckpt), and the inputs."""
    first = inputs[0]
    if first.suffix.lower() in MODEL_SUFFIXES or str(first) == PRETRAINED:
        if len(inputs) == 1:
            raise UserError(f"{first} is a model: name the images or folders to read after it")
        return first, inputs[1:]
    return PRETRAINED, inputs


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UserError(f"--batch-size {args.batch_size}: use 1 or more")
    if args.max_error is not None and not 0 < args.max_error < 1:
        raise UserError(f"--max-error {args.max_error}: give a share of readings, e.g. 0.005")
    from plate_ocr.data.images import load_images
    from plate_ocr.reader import PlateReader

    model, args.inputs = _split_model(args.inputs)
    if str(model) == PRETRAINED and not args.ensemble and args.device in (None, "cpu"):
        from plate_ocr.pretrained import PRETRAINED_ONNX

        model = PRETRAINED_ONNX  # the shipped reader as ONNX: no torch to import
    reader = PlateReader(
        PlateReader.distinct([model, *args.ensemble]),
        constrained=args.constrained,
        device=args.device,
        vote=args.vote,
        max_error=args.max_error,
    )
    printer = _Printer(args.format, reader.calibrator is not None, args.max_error is not None)
    skipped = 0
    batch: list = []  # (path, image)

    def flush() -> None:
        for (path, _), reading in zip(batch, reader.read([im for _, im in batch]), strict=True):
            printer.row(path, reading)
        batch.clear()

    try:
        for item in load_images(args.inputs):
            if isinstance(item, UserError):
                print(f"plate-ocr predict: skipped {item}", file=sys.stderr)
                skipped += 1
                continue
            batch.append(item)
            if len(batch) == args.batch_size:
                flush()
        flush()
        printer.close()
    except BrokenPipeError:  # `plate-ocr predict ... | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # stdout on a full disk, say: the readings are not all written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise UserError(f"cannot write the readings ({error.strerror or error})") from None
    if skipped:
        print(f"plate-ocr predict: {skipped} input(s) skipped", file=sys.stderr)
    return 1 if skipped else 0
