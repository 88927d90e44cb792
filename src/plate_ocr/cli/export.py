"""``plate-ocr export [MODEL] --onnx FILE [--int8]``: export to ONNX, checked against PyTorch.

MODEL is a checkpoint or reader file; without one, the shipped pretrained reader.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from plate_ocr.atomic import replacing
from plate_ocr.errors import UserError
from plate_ocr.pretrained import PRETRAINED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        nargs="?",
        default=PRETRAINED,
        help="a .ckpt from train.py or a reader file (default: pretrained, the shipped reader)",
    )
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
    parser.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's own)")
    parser.add_argument("--force", action="store_true", help="replace an existing --onnx file")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="quantise to int8 (faster on a CPU, most with model.net.sequence=conv); checked by "
        "accuracy on --check-dir's labelled crops (synthetic plates without it)",
    )
    parser.add_argument(
        "--max-loss",
        type=float,
        default=0.005,
        metavar="SHARE",
        help="--int8: the most accuracy it may lose, as a share of plates (default 0.005)",
    )


CALIBRATION_PLATES = 256  # synthetic: activation ranges settle well before this
CALIBRATION_SEED = 1  # not the check's seed 0: calibrate and check on different plates
CHECK_TOP_UP_SEED = 2  # plates added to a check too small to resolve --max-loss
RESOLVED_PLATES = 4  # --max-loss must be this many plates of the check, at least
MIN_MAX_LOSS = 1e-4  # resolved by RESOLVED_PLATES / 1e-4 = 40,000 check plates at most


def run(args: argparse.Namespace) -> int:
    # the arguments first: a refusal need not wait for torch and the exporter to load
    if args.onnx.suffix.lower() != ".onnx":
        raise UserError(f"--onnx {args.onnx}: name the file *.onnx")
    if args.onnx.exists() and not args.force:
        raise UserError(f"--onnx {args.onnx} exists: pass --force to replace it, or name another")
    if not (args.max_loss == 0 or MIN_MAX_LOSS <= args.max_loss < 1):
        raise UserError(
            f"--max-loss {args.max_loss}: give 0 (no plate may change) or a share of plates "
            f"from {MIN_MAX_LOSS} to below 1 (a smaller one needs millions of check plates)"
        )
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

    net = load_network(args.checkpoint)
    args.opset = args.opset or OPSET
    args.onnx.parent.mkdir(parents=True, exist_ok=True)
    if args.int8:
        return _run_int8(args, net)
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


def _run_int8(args: argparse.Namespace, net) -> int:
    from plate_ocr.export import (
        accuracy,
        export_onnx,
        labelled_crops,
        quantize_int8,
        synthetic_crops,
        synthetic_plates,
    )
    from plate_ocr.reader import PlateReader

    reference = PlateReader(args.checkpoint, device="cpu")
    if args.check_dir is not None:
        plates, where = labelled_crops(args.check_dir), f"real crops in {args.check_dir}"
    else:
        plates = synthetic_plates(args.check_synthetic, net.image_size)
        where = "synthetic plates (pass --check-dir REAL_DIR to check on real ones)"
    # enough plates that --max-loss is several of them: one changed reading is not a loss
    needed = math.ceil(RESOLVED_PLATES / args.max_loss) if args.max_loss else 0
    if len(plates) < needed:
        plates += synthetic_plates(needed - len(plates), net.image_size, seed=CHECK_TOP_UP_SEED)
        where += f", topped up with synthetic plates to {needed}"
    calibration = reference.preprocess(
        synthetic_crops(CALIBRATION_PLATES, net.image_size, CALIBRATION_SEED)
    )
    with replacing(args.onnx) as temporary, tempfile.TemporaryDirectory() as folder:
        float_path = export_onnx(net, Path(folder) / "float.onnx", args.opset)
        quantize_int8(float_path, temporary, calibration)
        before, after = accuracy(reference, plates), accuracy(PlateReader(temporary), plates)
        loss = before - after
        if loss > args.max_loss:
            raise UserError(
                f"int8 reads {after:.3f} of {len(plates)} {where}, the checkpoint {before:.3f}: "
                f"a loss of {loss:.3f}, more than --max-loss {args.max_loss}; "
                f"{args.onnx} not written (export without --int8)"
            )
    print(
        f"wrote {args.onnx} (int8): reads {after:.3f} of {len(plates)} {where}, the checkpoint "
        f"{before:.3f} ({after - before:+.3f})"
    )
    return 0
