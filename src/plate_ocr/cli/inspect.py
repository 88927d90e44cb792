"""``plate-ocr inspect REAL_DIR``: check a folder of real crops and summarise it."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from plate_ocr.data.folder import SPLITS, scan_folder
from plate_ocr.data.inspect import notes, split_summary, summary_row
from plate_ocr.data.labels import DROP
from plate_ocr.errors import UserError
from plate_ocr.plates import PLATE_LENGTHS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="ROOT/{train,validation,test}/ or a flat folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of a flat folder's split")
    parser.add_argument(
        "--label-fixes",
        type=Path,
        help="a corrections file (file,text: a label, or drop); default ROOT/label_fixes.csv",
    )


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: use a whole number, 0 or more")
    scanned = scan_folder(args.path, seed=args.seed, label_fixes=args.label_fixes)
    root = scanned.root

    def shown(path: Path) -> str:
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    problems = list(scanned.problems)
    present = {name for name in SPLITS if (root / name).is_dir()} or set(SPLITS)
    summaries = {
        name: split_summary(scanned.splits[name], problems) if name in present else None
        for name in SPLITS
    }
    header = " ".join(f"{f'{n}-digit':>8}" for n in PLATE_LENGTHS)
    print(f"{root} ({scanned.layout}{', split by plate' if scanned.layout == 'flat' else ''})")
    print(f"{'split':<11} {'crops':>6} {'plates':>6} {header} {'yellow/white':>13}  size W x H")
    for name in SPLITS:
        print(summary_row(name, summaries[name]))

    found = notes(scanned.splits, shown)
    print(f"\nnotes ({len(found)}): valid, but worth a look" if found else "\nnotes: none")
    for note in found:
        print(textwrap.fill(note, 100, initial_indent="  ", subsequent_indent="      "))
    if scanned.fixes:
        print(f"\nlabel fixes ({len(scanned.fixes)}) from {scanned.fixes[0].fixes_file}:")
    for fix in scanned.fixes:
        change = "dropped" if fix.text == DROP else f"{fix.label} -> {fix.text}"
        print(f"  {shown(fix.path)}: {change} (line {fix.line})")
    print(f"\nproblems ({len(problems)}): these stop training" if problems else "\nproblems: none")
    for problem in sorted(problems, key=lambda p: str(p.path)):
        print(f"  {shown(problem.path)}: {problem.reason}")
    return 1 if problems else 0
