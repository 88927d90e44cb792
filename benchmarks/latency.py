"""Plate-reading latency and throughput per model size: PyTorch eager vs ONNX Runtime.

    python benchmarks/latency.py [--models crnn_small,crnn_small_bilstm,crnn_base,crnn_large]
                                 [--inputs 64x200,32x128] [--threads 1] [--seconds 1.0]

Each row reads plates through ``PlateReader`` as ``plate-ocr predict`` does: a crop at a
typical native size (60x190 RGB) resized, converted, run and greedily decoded. ``b1`` is the
median time per plate at batch 1; ``b64`` is plates per second at batch 64 (with ``--threads
2`` and more, ONNX readers split it into parts read at once); the ``net`` columns time one
call of the network on the whole batch, without resizing and decoding. Weights are random: latency
does not depend on training. CPU figures use ``--threads`` threads (default one core:
``torch.set_num_threads`` and ORT's intra-op threads); CUDA rows follow when a GPU is present.
``onnxruntime-int8`` is what ``plate-ocr export --int8`` writes (calibrated on synthetic
plates), on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from plate_ocr.export import export_onnx, quantize_int8, synthetic_crops
from plate_ocr.reader import PlateReader

CONF = Path(__file__).resolve().parents[1] / "conf"
NATIVE_CROP = (60, 190)  # H, W: about the median real crop


def build_network(model: str, image_size: tuple[int, int]) -> torch.nn.Module:
    """The CRNN of ``conf/model/<model>.yaml`` for a one-channel input of ``image_size``."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"model={model}",
                f"data.image_size=[{image_size[0]},{image_size[1]}]",
                "data.channels=1",
            ],
        )
    return instantiate(cfg.model.net).eval()


def _times(fn, seconds: float, least: int) -> list[float]:
    """Wall-clock seconds per call: at least ``least`` calls and ``seconds`` in all."""
    fn()  # warm up: allocations, lazy initialisation, ORT graph optimisation
    times, start = [], time.perf_counter()
    while len(times) < least or time.perf_counter() - start < seconds:
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return times


def measure(reader: PlateReader, crops: list[np.ndarray], seconds: float) -> dict[str, float]:
    one, batch = crops[:1], crops[:64]

    def network(inputs: np.ndarray):
        def run() -> None:
            reader.log_probs(inputs)
            if reader.device.startswith("cuda"):
                torch.cuda.synchronize()

        return run

    return {
        "b1_ms": 1e3 * statistics.median(_times(lambda: reader.read(one), seconds, 20)),
        "net_ms": 1e3 * statistics.median(_times(network(reader.preprocess(one)), seconds, 20)),
        "b64_per_s": len(batch) / statistics.median(_times(lambda: reader.read(batch), seconds, 3)),
        "b64_net_per_s": len(batch)
        / statistics.median(_times(network(reader.preprocess(batch)), seconds, 3)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="crnn_small,crnn_small_bilstm,crnn_base,crnn_large")
    parser.add_argument("--inputs", default="32x160", help="model input sizes, HxW")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1 core)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    crops = synthetic_crops(64, NATIVE_CROP)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

    header = (
        "| model | input | params | engine | device | b1 ms/plate | b1 net ms | b64 plates/s "
        "| b64 net plates/s |"
    )
    print(f"{args.threads} CPU thread(s), crops {NATIVE_CROP[0]}x{NATIVE_CROP[1]}\n")
    print(header + "\n|" + "---|" * header.count(" | ") + "---|")
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models.split(","):
            for text in args.inputs.split(","):
                size = tuple(int(v) for v in text.split("x"))
                net = build_network(model, size)
                onnx_path = export_onnx(net, Path(folder) / f"{model}_{text}.onnx")
                int8_path = quantize_int8(
                    onnx_path,
                    Path(folder) / f"{model}_{text}_int8.onnx",
                    PlateReader(net, device="cpu").preprocess(synthetic_crops(256, size, seed=1)),
                )
                for device in devices:
                    readers = {
                        "pytorch": PlateReader(net, constrained=False, device=device),
                        "onnxruntime": PlateReader(
                            onnx_path, constrained=False, device=device, threads=args.threads
                        ),
                    }
                    if device == "cpu":
                        readers["onnxruntime-int8"] = PlateReader(
                            int8_path, constrained=False, device=device, threads=args.threads
                        )
                    for engine, reader in readers.items():
                        if (
                            device == "cuda"
                            and engine == "onnxruntime"
                            and (
                                "CUDAExecutionProvider"
                                not in reader.networks[0].session.get_providers()
                            )
                        ):
                            print(f"| {model} | {text} | | onnxruntime | cuda | no CUDA provider |")
                            continue
                        m = measure(reader, crops, args.seconds)
                        print(
                            f"| {model} | {text} | {net.num_parameters() / 1e6:.2f} M | {engine} "
                            f"| {device} | {m['b1_ms']:.2f} | {m['net_ms']:.2f} "
                            f"| {m['b64_per_s']:.0f} | {m['b64_net_per_s']:.0f} |",
                            flush=True,
                        )
                net.cpu()


if __name__ == "__main__":
    main()
