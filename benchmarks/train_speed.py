"""Training speed of the network alone: plates per second through forward, CTC and backward.

    python benchmarks/train_speed.py [--models crnn_small,crnn_small_bilstm] [--input 32x160]
                                     [--batch 64] [--threads 2] [--seconds 5]
                                     [--precision 32-true,bf16-mixed]

One AdamW step per batch of random one-channel images and random 10-digit labels, as
``PlateRecognizer.training_step`` computes its loss; no data loading, so this is the ceiling
the loaders feed (``benchmarks/data_speed.py`` measures them). Default: two threads, the
machines this project trains on. ``--precision`` times each model at each of Lightning's
precisions given (``bf16-mixed``: the forward pass under CPU autocast, as ``trainer.precision``
runs it). ``--profile`` prints the top operators of the first model.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from latency import build_network

from plate_ocr.model.recognizer import PlateRecognizer


def _step_function(model: str, image_size: tuple[int, int], batch: int, precision: str):
    """One optimisation step of ``model`` on a fixed random batch."""
    if precision not in ("32-true", "bf16-mixed"):
        raise SystemExit(f"--precision {precision}: use 32-true or bf16-mixed")
    recognizer = PlateRecognizer(build_network(model, image_size).train(), torch.optim.AdamW)
    optimizer = torch.optim.AdamW(recognizer.parameters(), lr=1e-3)
    images = torch.rand(batch, 1, *image_size)
    rng = random.Random(0)
    labels = ["".join(rng.choice("0123456789") for _ in range(10)) for _ in range(batch)]

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            loss = recognizer.ctc_loss(recognizer(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="crnn_small,crnn_small_bilstm")
    parser.add_argument("--input", default="32x160", help="HxW")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="timed per model")
    parser.add_argument("--precision", default="32-true", help="comma-separated")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image_size = tuple(int(v) for v in args.input.split("x"))

    print("| model | precision | input | batch | threads | ms / step (median) | plates / s |")
    print("|---|---|---|---|---|---|---|")
    runs = [(m, p) for m in args.models.split(",") for p in args.precision.split(",")]
    for k, (model, precision) in enumerate(runs):
        step = _step_function(model, image_size, args.batch, precision)
        for _ in range(3):  # warm up: allocations, oneDNN kernel selection
            step()
        times, start = [], time.perf_counter()
        while len(times) < 5 or time.perf_counter() - start < args.seconds:
            begin = time.perf_counter()
            step()
            times.append(time.perf_counter() - begin)
        ms = statistics.median(times) * 1000
        print(f"| {model} | {precision} | {args.input} | {args.batch} | {args.threads} | "
              f"{ms:.1f} | {args.batch / ms * 1000:.0f} |")  # fmt: skip
        if args.profile and k == 0:
            with torch.profiler.profile() as profiler:
                for _ in range(5):
                    step()
            print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
