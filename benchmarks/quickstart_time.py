"""Where a training run's minutes go: the quickstart timed alone, per precision.

    python benchmarks/quickstart_time.py [--real-dir PATH] [--precisions 32-true,bf16-mixed]
                                         [-- KEY=VALUE ...]

Runs ``train.py`` (the defaults: the shipped reader fine-tuned for 6 x 10,000 samples, on the
shared real crops unless ``--real-dir ''``) once per precision, one after the other, each in a
fresh output folder with Lightning's ``SimpleProfiler``, and prints for each, side by side:
the minutes in all (imports and the final test included), and the profiler's seconds for the
data set-up (reading and checking the crops, placing the recombined source's digits,
rendering the synthetic validation set), the training step's forward and backward, waiting
on the loader, TensorBoard's images, validation and checkpoints; then how busy each core
was. Run it on a quiet machine: it times.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# SimpleProfiler's report rows: | action | mean s | calls | total s | percent |
ROW = re.compile(r"^\|\s+(\S.*?)\s+\|\s+([\d.e-]+)\s+\|\s+(\d+)\s+\|\s+([\d.e-]+)\s+\|")
SHOWN = {  # the profiler's action names, as a reader knows them
    "[LightningDataModule]PlateDataModule.setup": "data set-up (crops, digits, validation)",
    "run_training_epoch": "training epochs, in all",
    "[Strategy]SingleDeviceStrategy.training_step": "  forward + loss",
    "[Strategy]SingleDeviceStrategy.backward": "  backward",
    "[_TrainingEpochLoop].train_dataloader_next": "  waiting on the loader",
    "[Callback]TensorBoardViews.on_train_batch_start": "  TensorBoard sample images",
    "[Strategy]SingleDeviceStrategy.validation_step": "validation: forward + decode",
    "[_EvaluationLoop].val_next": "validation: waiting on its loader",
    "save_checkpoint": "checkpoints",
}


def _cpu_times() -> list[tuple[int, int]]:
    """(busy, total) jiffies per core, from /proc/stat."""
    cores = []
    for line in Path("/proc/stat").read_text().splitlines():
        if re.match(r"cpu\d+ ", line):
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + values[4]  # idle + iowait
            cores.append((sum(values) - idle, sum(values)))
    return cores


def time_run(precision: str, args: argparse.Namespace, folder: Path) -> dict:
    run_dir = folder / precision
    overrides = [
        f"trainer.precision={precision}",
        f"hydra.run.dir={run_dir}",
        "+trainer.profiler._target_=pytorch_lightning.profilers.SimpleProfiler",
        f"+trainer.profiler.dirpath={run_dir}",
        "+trainer.profiler.filename=profile",
        *([f"data.real_dir={args.real_dir}"] if args.real_dir else []),
        *args.extra,
    ]
    before, start = _cpu_times(), time.perf_counter()
    log = run_dir.with_suffix(".log")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "train.py", *overrides], cwd=REPO, stdout=out, stderr=out
        )
    seconds, after = time.perf_counter() - start, _cpu_times()
    if done.returncode != 0:
        sys.exit(f"train.py failed ({precision}): see {log}")
    busy = [(b1 - b0) / max(t1 - t0, 1) for (b0, t0), (b1, t1) in zip(before, after, strict=True)]
    totals = {}
    for line in (run_dir / "fit-profile.txt").read_text().splitlines():
        match = ROW.match(line)
        if match and match.group(1) in SHOWN:
            totals[SHOWN[match.group(1)]] = float(match.group(4))
    return {"minutes": seconds / 60, "busy": busy} | totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--real-dir", default=str(REPO.parent / "shared" / "data" / "lpa_recognition")
    )
    parser.add_argument("--precisions", default="32-true,bf16-mixed")
    parser.add_argument("extra", nargs="*", help="more train.py overrides, after --")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for precision in args.precisions.split(","):
            results[precision] = time_run(precision, args, Path(folder))
            print(f"{precision}: {results[precision]['minutes']:.1f} minutes", flush=True)
    rows = ["minutes", *SHOWN.values()]
    print("\n| seconds (minutes in row 1) | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for row in rows:
        cells = [f"{r[row]:.1f}" if row in r else "-" for r in results.values()]
        print(f"| {row} | " + " | ".join(cells) + " |")
    busy = [" / ".join(f"{share:.0%}" for share in r["busy"]) for r in results.values()]
    print("| cores busy | " + " | ".join(busy) + " |")


if __name__ == "__main__":
    main()
