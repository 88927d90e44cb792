"""``plate-ocr sweep-report SWEEP_DIR``: summarise a Hydra multirun, best first."""

from __future__ import annotations

import argparse
from pathlib import Path

from plate_ocr.errors import UserError
from plate_ocr.sweep import write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_dir", type=Path, help="an outputs/multirun/<date>/<time> folder")


def run(args: argparse.Namespace) -> int:
    if not args.sweep_dir.is_dir():
        raise UserError(f"{args.sweep_dir}: no such folder; pass a Hydra multirun folder")
    print(write_report(args.sweep_dir), end="")
    return 0
