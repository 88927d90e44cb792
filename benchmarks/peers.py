"""General-purpose OCR engines a user could install instead, on the held-out LPA plates of the
five folds: what the shipped reader (trained on no real crop) has to beat.

Benchmark-only dependencies, in a venv of their own beside the project's:

    python -m venv .venv-peers
    .venv-peers/bin/pip install torch==2.13.0 rapidocr onnxruntime pytesseract
    .venv-peers/bin/pip install opencv-python-headless
    .venv-peers/bin/pip install --no-deps -e .          # plate-ocr's reader and fold split
    apt-get install tesseract-ocr                       # for --engine tesseract
    .venv-peers/bin/python benchmarks/peers.py [--engine plate-ocr rapidocr tesseract]

Each engine reads each fold's held-out crops one at a time, the whole crop, recognition only
(no detection), and keeps the digits of what it reads: exactly the label is a plate read.
plate-ocr's shipped reader (trained on no real crop, so every fold is unseen) reads the same
way, constrained, as ``predict`` does.
One record per engine and fold goes to ``peers_runs.jsonl`` with its accuracy, CER and CPU
milliseconds per crop (wall clock, the engine's own thread settings, beside nothing else);
an engine and fold already measured is not read again. The shipped reader's own numbers on
the same folds are in ``reading_runs.jsonl`` (tag ``pretrained``).

- **rapidocr**: RapidOCR 3.10, its default recogniser (PP-OCRv6 small, shipped in the wheel);
- **tesseract**: Tesseract 5 as a single text line (``--psm 7``), digits whitelisted.

EasyOCR is left out: it downloads its recognition weights from GitHub at first use, which
the development machines cannot reach (only package registries).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PEERS_FILE = "peers_runs.jsonl"
FOLDS = 5


def _rapidocr():
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})

    def read(bgr) -> str:
        result = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        return "".join(result.txts or ())

    return read, f"rapidocr {version('rapidocr')}, onnxruntime {version('onnxruntime')}"


def _tesseract():
    import pytesseract

    config = "--psm 7 -c tessedit_char_whitelist=0123456789"

    def read(bgr) -> str:
        return pytesseract.image_to_string(bgr[..., ::-1], config=config)

    return read, f"tesseract {pytesseract.get_tesseract_version()}"


def _plate_ocr():
    from plate_ocr.reader import PlateReader

    reader = PlateReader.load(device="cpu")

    def read(bgr) -> str:
        return reader(bgr, order="bgr").text

    return read, f"plate-ocr {version('plate-ocr')}, torch {version('torch')}, shipped reader"


ENGINES = {"plate-ocr": _plate_ocr, "rapidocr": _rapidocr, "tesseract": _tesseract}


def cer(label: str, reading: str) -> int:
    """Edits (Levenshtein) from the label to the reading."""
    previous = list(range(len(reading) + 1))
    for i, a in enumerate(label, 1):
        current = [i]
        for j, b in enumerate(reading, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def measure(name: str, fold: int, real_dir: Path, beside: str) -> dict:
    import cv2

    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit

    crops = PlateFolder(RealSplit(str(real_dir), fold).splits()["validation"])
    read, version = ENGINES[name]()
    read(cv2.cvtColor(crops.images[0], cv2.COLOR_RGB2BGR))  # warm up: lazy initialisation
    right = edits = 0
    start = time.perf_counter()
    for image, label in zip(crops.images, crops.labels, strict=True):
        digits = re.sub(r"\D", "", read(cv2.cvtColor(image, cv2.COLOR_RGB2BGR)))
        right += digits == label
        edits += cer(label, digits)
    seconds = time.perf_counter() - start
    return {
        "engine": name,
        "version": version.strip(),
        "fold": fold,
        "plates": len(crops.labels),
        "seq_acc": round(right / len(crops.labels), 4),
        "cer": round(edits / sum(len(label) for label in crops.labels), 4),
        "ms_per_crop": round(1000 * seconds / len(crops.labels), 2),
        "beside": beside,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument(
        "--real-dir", type=Path, default=REPO.parent / "shared" / "data" / "lpa_recognition"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--beside", default="nothing", help="what else ran meanwhile, recorded with the times"
    )
    args = parser.parse_args()
    path = args.results / PEERS_FILE
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    for name in args.engine:
        for fold in range(FOLDS):
            if any(r["engine"] == name and r["fold"] == fold for r in done):
                continue
            record = measure(name, fold, args.real_dir, args.beside)
            done.append(record)
            with path.open("a") as out:
                out.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
    for name in args.engine:
        runs = [r for r in done if r["engine"] == name]
        if runs:
            mean = sum(r["seq_acc"] for r in runs) / len(runs)
            ms = sum(r["ms_per_crop"] for r in runs) / len(runs)
            print(f"{name}: {mean:.3f} of held-out plates over {len(runs)} folds, {ms:.1f} ms/crop")


if __name__ == "__main__":
    main()
