"""Training-loader speed: samples per second at 0, 2 and all workers.

    python benchmarks/data_speed.py [--real-dir PATH] [--ratio 0.2] [--size 64 200] [--batches 40]

Times whole batches out of ``PlateDataModule.train_dataloader()`` (render synthetic plates,
draw real crops, augment each source, collate), after one warm-up batch that pays for
starting the workers. Nothing trains, so this is the most the loader can feed a model.
"""

from __future__ import annotations

import argparse
import os
import time

from plate_ocr.data.datamodule import PlateDataModule


def samples_per_second(workers: int, args: argparse.Namespace) -> float:
    datamodule = PlateDataModule(
        real_dir=args.real_dir,
        real_ratio=args.ratio if args.real_dir else 0.0,
        epoch_size=(args.batches + 1) * args.batch_size,
        image_size=args.size,
        batch_size=args.batch_size,
        num_workers=workers,
        persistent_workers=False,
        synthetic_val_size=1,
        synthetic_test_size=1,
    )
    datamodule.setup("fit")
    batches = iter(datamodule.train_dataloader())
    next(batches)  # warm-up: worker start-up, first renders
    start = time.perf_counter()
    count = sum(len(batch["labels"]) for batch in batches)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", default=None, help="a folder of real crops to mix in")
    parser.add_argument("--ratio", type=float, default=0.2)
    parser.add_argument("--size", type=int, nargs=2, default=(64, 200), metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"training loader, {args.size[0]}x{args.size[1]}, real_ratio="
        f"{args.ratio if args.real_dir else 0.0}, batch {args.batch_size}, {cores} cores"
    )
    for workers in sorted({0, 2, cores}):
        print(f"  {workers:>2} workers: {samples_per_second(workers, args):8.0f} samples/s")


if __name__ == "__main__":
    main()
