"""Plate-reading latency and throughput per model: PyTorch eager vs ONNX Runtime, float and int8.

    python benchmarks/latency.py [--models pretrained,crnn_small_bilstm,crnn_base,crnn_large]
                                 [--inputs 32x160] [--threads 1] [--seconds 1.0]

Each row reads plates through ``PlateReader`` as ``plate-ocr predict`` does, with its default
(constrained) decoding: a rendered plate at a typical native size (60x190 RGB) greyed,
resized, run and decoded. ``b1`` is the median time per plate at batch 1; ``b64`` is plates
per second at batch 64 (with ``--threads 2`` and more, ONNX readers split it into parts read
at once); the ``net`` columns time one call of the network on the whole batch, without
preprocessing and decoding. ``pretrained`` is the shipped reader (trained weights, so its
readings, and so its decoding, are a real reader's); the other models have random weights.
CPU figures use ``--threads`` threads (default one core: ``torch.set_num_threads`` and ORT's
intra-op threads); CUDA rows follow when a GPU is present. ``onnxruntime-int8`` is what
``plate-ocr export --int8`` writes (calibrated on synthetic plates), on the CPU.

Beside today's figures, in the same run: ``int8 convs only``, the export before every
operator was quantised (convolutions and products only), and the preprocessing before the
grey conversion came first (resize the RGB crop, then grey it).
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

from plate_ocr.data.model_input import model_pixels, resize, to_channels
from plate_ocr.export import export_onnx, quantize_int8, synthetic_crops
from plate_ocr.model.checkpoint import load_network
from plate_ocr.pretrained import PRETRAINED, resolve_model
from plate_ocr.reader import PlateReader

CONF = Path(__file__).resolve().parents[1] / "conf"
NATIVE_CROP = (60, 190)  # H, W: about the median real crop
PREVIOUS_INT8 = ("Conv", "MatMul", "Gemm")  # what --int8 quantised before every operator


def build_network(model: str, image_size: tuple[int, int] | None) -> torch.nn.Module:
    """The CRNN of ``conf/model/<model>.yaml`` for a one-channel input of ``image_size``;
    ``pretrained``: the shipped reader (at its own input size)."""
    if model == "pretrained":
        return load_network(resolve_model(PRETRAINED)).eval()
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


def preprocessing(crops: list[np.ndarray], size: tuple[int, int], seconds: float) -> str:
    """Microseconds per crop to make a one-channel input, grey first (today) and resized
    first (before), at batch 1 and over 64 crops."""
    orders = {
        "grey, then resize": lambda crop: model_pixels(crop, size, 1),
        "resize, then grey (before)": lambda crop: to_channels(resize(crop, size), 1),
    }
    rows = []
    for name, fn in orders.items():
        one = 1e6 * statistics.median(_times(lambda fn=fn: fn(crops[0]), seconds, 50))
        batch = _times(lambda fn=fn: [fn(crop) for crop in crops[:64]], seconds, 5)
        rows.append(f"| {name} | {one:.1f} | {1e6 * statistics.median(batch) / 64:.1f} |")
    header = "| preprocessing, one channel | b1 µs/plate | b64 µs/plate |\n|---|---|---|\n"
    return header + "\n".join(rows)


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
    parser.add_argument("--models", default="pretrained,crnn_small_bilstm,crnn_base,crnn_large")
    parser.add_argument(
        "--inputs", default="32x160", help="model input sizes, HxW (pretrained: its own)"
    )
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
            inputs = [tuple(int(v) for v in text.split("x")) for text in args.inputs.split(",")]
            for asked in [None] if model == "pretrained" else inputs:
                net = build_network(model, asked)
                size = tuple(net.config["image_size"])
                text = f"{size[0]}x{size[1]}"
                onnx_path = export_onnx(net, Path(folder) / f"{model}_{text}.onnx")
                calibration = PlateReader(net, device="cpu").preprocess(
                    synthetic_crops(256, size, seed=1)
                )
                int8 = {
                    "onnxruntime-int8 convs only (before)": PREVIOUS_INT8,
                    "onnxruntime-int8": None,
                }
                int8_paths = {
                    engine: quantize_int8(
                        onnx_path, Path(folder) / f"{model}_{text}_{k}.onnx", calibration, ops
                    )
                    for k, (engine, ops) in enumerate(int8.items())
                }
                for device in devices:
                    readers = {
                        "pytorch": PlateReader(net, device=device),
                        "onnxruntime": PlateReader(onnx_path, device=device, threads=args.threads),
                    }
                    if device == "cpu":
                        readers |= {
                            engine: PlateReader(path, device=device, threads=args.threads)
                            for engine, path in int8_paths.items()
                        }
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
    print("\n" + preprocessing(crops, (32, 160), args.seconds))


if __name__ == "__main__":
    main()
