"""``plate-ocr export CKPT --onnx FILE``: export to ONNX, checked against PyTorch."""

from __future__ import annotations

import argparse
from pathlib import Path

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError
from plate_ocr.export import (
    LOG_PROB_TOLERANCE,
    OPSET,
    compare,
    export_onnx,
    folder_crops,
    synthetic_crops,
)
from plate_ocr.model.checkpoint import load_network
from plate_ocr.reader import PlateReader


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a .ckpt from train.py")
    parser.add_argument("--onnx", type=Path, required=True, help="where to write the ONNX model")
    parser.add_argument(
        "--check-dir",
        type=Path,
        default=None,
        help="real crops to compare PyTorch and ONNX readings on (synthetic ones always are)",
    )
    parser.add_argument(
        "--check-synthetic",
        type=int,
        default=128,
        metavar="N",
        help="synthetic crops in the check (default 128)",
    )
    parser.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")


def run(args: argparse.Namespace) -> int:
    net = load_network(args.checkpoint)
    if args.onnx.suffix.lower() != ".onnx":
        raise UserError(f"--onnx {args.onnx}: name the file *.onnx")
    args.onnx.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and moved there only once it reads like the checkpoint.
    with replacing(args.onnx) as temporary:
        export_onnx(net, temporary, args.opset)
        crops = synthetic_crops(args.check_synthetic, net.image_size)
        if args.check_dir is not None:
            crops += folder_crops(args.check_dir)
        # the reference is the checkpoint loaded afresh, untouched by the export
        reference = PlateReader(args.checkpoint, device="cpu")
        result = compare(reference, PlateReader(temporary, device="cpu"), crops)
        if result["mismatches"]:
            examples = ", ".join(f"#{i}: {a!r} vs {b!r}" for i, a, b in result["mismatches"][:5])
            raise UserError(
                f"ONNX readings differ from the checkpoint's on {len(result['mismatches'])} of "
                f"{result['n']} crops ({examples}); max log-prob gap "
                f"{result['max_log_prob_gap']:.2e}; {args.onnx} not written"
            )
    gap = result["max_log_prob_gap"]
    note = "" if gap <= LOG_PROB_TOLERANCE else " (above 1e-3: check the opset and runtime)"
    print(
        f"wrote {args.onnx}: input images (batch, {net.in_channels}, {net.image_size[0]}, "
        f"{net.image_size[1]}) in [0, 1], output log_probs (batch, T, classes); "
        f"same readings as {args.checkpoint} on {result['n']} crops, "
        f"max log-prob gap {gap:.1e}{note}"
    )
    return 0
