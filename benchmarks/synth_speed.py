"""Synthetic plate rendering speed, in plates per second on one core.

    python benchmarks/synth_speed.py [--n 3000] [--warmup 3000] [--size 64x200] [--profile]

Runs in this one process with OpenCV limited to one thread, so the figure is per core:
a DataLoader with N workers renders about N times as many. Reports wall-clock and CPU
time; on a busy machine the CPU-time figure is the one to trust.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import cv2
import numpy as np

from plate_ocr.synth import SyntheticPlates, render_plate
from plate_ocr.synth.camera import DEFAULT_SAMPLER


def _timed(fn, n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="plates to render per measurement")
    parser.add_argument("--size", default="64x200", help="output HxW")
    parser.add_argument(
        "--warmup", type=int, default=3000, help="plates rendered first, timed apart"
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    cv2.setNumThreads(1)

    # Each process draws a glyph set the first time a plate asks for it (styles x variants x
    # cuts: about 1,500): the first plates pay for that once; a training worker renders
    # thousands, so the steady state below is what it sees. Timed on other plates than these.
    warm = SyntheticPlates(args.warmup, seed=1, image_size=size)
    wall, cpu = _timed(warm.__getitem__, args.warmup)
    print(f"{'first plates of a process (cold caches)':42s} {wall:7.0f} plates/s wall  "
          f"{cpu:7.0f} plates/s CPU  ({args.warmup} plates)")  # fmt: skip
    dataset = SyntheticPlates(args.n, seed=0, image_size=size)
    rng = np.random.default_rng(0)
    labels = [DEFAULT_SAMPLER.sample(rng) for _ in range(args.n)]
    for name, fn in (
        ("dataset[i] (label sampling + rendering)", dataset.__getitem__),
        ("render_plate only", lambda i: render_plate(labels[i], np.random.default_rng(i), size)),
    ):
        wall, cpu = _timed(fn, args.n)
        shape = f"{size[0]}x{size[1]}"
        print(f"{name:42s} {wall:7.0f} plates/s wall  {cpu:7.0f} plates/s CPU  ({shape}, 1 core)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_timed, dataset.__getitem__, args.n)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
