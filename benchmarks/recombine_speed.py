"""Recombined real plates made per second on one core, from a real folder's training fold.

    python benchmarks/recombine_speed.py [--real-dir PATH] [--n 4000]

Prints the share of training crops whose digits could be placed (they feed the source), the
seconds that placing took (once, at set-up), and crops made per second of CPU time, steady.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--real-dir", type=Path, default=REPO.parent / "shared" / "data" / "lpa_recognition"
    )
    parser.add_argument("--n", type=int, default=4000, help="crops to make")
    args = parser.parse_args()

    import cv2
    import torch

    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.data.recombine import RecombinedPlates, locate_digits
    from plate_ocr.pretrained import PRETRAINED
    from plate_ocr.reader import PlateReader

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    train = PlateFolder(RealSplit(str(args.real_dir), 0).splits()["train"])
    start = time.process_time()
    cells = locate_digits(PlateReader(PRETRAINED, device="cpu", constrained=False),
                          train.images, train.labels)  # fmt: skip
    plates = RecombinedPlates(train.images, train.labels, cells)
    placed = time.process_time() - start
    plates[0]
    start = time.process_time()
    for index in range(args.n):
        plates[index]
    rate = args.n / (time.process_time() - start)
    print(
        f"{len(plates.bases)} of {len(train)} training crops feed it "
        f"({len(plates.bases) / len(train):.0%}); placing their digits took {placed:.1f} s CPU; "
        f"{rate:,.0f} recombined crops/s on one core"
    )


if __name__ == "__main__":
    main()
