"""How many planted label errors ``plate-ocr audit`` ranks near the top.

    python benchmarks/audit.py [--errors 20] [--seed 0] [--folds 0] [--real-dir PATH]

Copies the real folder with ``--errors`` crops relabelled as a careless labeller would (one
digit changed, never in the wilaya), audits the copy, and prints where the planted errors
rank: recall among the first 20, 50, 60 and 100 suspects, and the minutes it took. The
folder's own labels are not all right either, so its true mislabels also rank high: they
count against precision, never for recall. Each run appends a record to
``benchmarks/results/audit_runs.jsonl``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from accuracy import RESULTS, _commit, _machine  # noqa: E402  (a sibling script)

RECORDS = "audit_runs.jsonl"
CUTS = (20, 50, 60, 100)


def planted_copy(real_dir: Path, target: Path, errors: int, seed: int) -> dict[str, str]:
    """Copy ``real_dir`` to ``target`` with ``errors`` crops relabelled; {new file: true label}."""
    from plate_ocr.data.folder import SPLITS, find_splits
    from plate_ocr.plates import is_valid_plate

    splits = find_splits(real_dir)
    crops = [(name, path, label) for name in SPLITS for path, label in splits[name]]
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(len(crops), errors, replace=False).tolist())
    planted = {}
    for k, (name, path, label) in enumerate(crops):
        (target / name).mkdir(parents=True, exist_ok=True)
        new = label
        if k in chosen:
            while new == label or not is_valid_plate(new):
                position = int(rng.integers(0, len(label) - 2))  # the last two: the wilaya
                digit = str(int(rng.integers(0, 10)))
                new = label[:position] + digit + label[position + 1 :]
        destination = target / name / f"{new}_{k}{path.suffix}"
        shutil.copyfile(path, destination)
        if k in chosen:
            planted[str(destination)] = label
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=0, help="plate-ocr audit --folds")
    parser.add_argument("--model", action="append", default=[], help="plate-ocr audit --model")
    parser.add_argument(
        "--real-dir", type=Path, default=REPO.parent / "shared" / "data" / "lpa_recognition"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    from plate_ocr.cli import main as plate_ocr

    with tempfile.TemporaryDirectory() as scratch:
        copy, out = Path(scratch) / "crops", Path(scratch) / "audit"
        planted = planted_copy(args.real_dir, copy, args.errors, args.seed)
        crops = sum(1 for path in copy.rglob("*") if path.is_file())
        command = ["audit", str(copy), "--out", str(out), "--folds", str(args.folds)]
        command += [part for model in args.model for part in ("--model", model)]
        start = time.perf_counter()
        if plate_ocr(command) != 0:
            sys.exit("the audit failed")
        minutes = (time.perf_counter() - start) / 60
        with (out / "suspects.csv").open() as suspects:
            ranked = [row["file"] for row in csv.DictReader(suspects)]
    rank = {file: k for k, file in enumerate(ranked)}
    found = sorted(rank[file] + 1 for file in planted if file in rank)
    recall = {cut: sum(r <= cut for r in found) / len(planted) for cut in CUTS}
    record = {
        "errors": args.errors,
        "seed": args.seed,
        "folds": args.folds,
        "models": args.model or ["pretrained"],
        "crops": crops,
        "ranks": found,
        "recall": {str(cut): round(value, 4) for cut, value in recall.items()},
        "minutes": round(minutes, 2),
        "commit": _commit(),
        "machine": _machine(),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    with (args.results / RECORDS).open("a") as records:
        records.write(json.dumps(record) + "\n")
    shown = ", ".join(f"first {cut}: {value:.2f}" for cut, value in recall.items())
    print(f"{args.errors} planted errors, ranks {found}; recall {shown}; {minutes:.1f} minutes")


if __name__ == "__main__":
    main()
