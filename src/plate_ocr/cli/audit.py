"""``plate-ocr audit REAL_DIR [--model M ...] [--folds K] [--out DIR]``: find wrong labels.

Every crop is read by readers that never trained on it: by default the shipped reader, which
saw no real label; ``--folds K`` adds K quick fine-tunes of it, each holding one
plate-disjoint fold out, and reads each crop with the one that held it out; ``--model`` reads
with your own models instead of the shipped one. Writes to a new folder ``--out``:
``suspects.csv`` (``file,label,reading,score,reason``, most suspect first), ``suspects.png``
(the first ``--top`` crops with label and reading, to look through), ``label_fixes.csv`` (a
template: fill in a corrected label or ``drop`` where the crop shows the label is wrong),
``duplicates.csv`` (one image filed twice) and ``cannot_show.csv`` (crops too dark, flat or
small to show a plate).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from plate_ocr.atomic import replacing, write_text
from plate_ocr.data.folder import SPLITS, scan_folder
from plate_ocr.data.images import read_rgb
from plate_ocr.errors import UserError
from plate_ocr.pretrained import PRETRAINED
from plate_ocr.run_folder import output_folder

SHEET_COLUMNS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("real_dir", type=Path, help="a folder of labelled crops")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model to read with instead of the shipped reader (repeat for more); it should "
        "not have trained on these crops",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        metavar="K",
        help="also fine-tune K readers, each holding one plate-disjoint fold out (minutes each)",
    )
    parser.add_argument("--epochs", type=int, default=3, help="--folds: epochs per fine-tune")
    parser.add_argument(
        "--epoch-size", type=int, default=5000, help="--folds: samples per fine-tune epoch"
    )
    parser.add_argument(
        "--out", type=Path, help="a new folder for the results (default: ./audit-FOLDERNAME)"
    )
    parser.add_argument("--top", type=int, default=60, help="suspects on the contact sheet")
    parser.add_argument("--config-dir", type=Path, default=Path("conf"), help="--folds: conf/")


def run(args: argparse.Namespace) -> int:

    out = args.out or Path(f"audit-{args.real_dir.resolve().name}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} already holds something: name a new folder")
    if args.top < 1:
        raise UserError(f"--top {args.top}: show at least 1 suspect")
    if args.folds == 1 or args.folds < 0:
        raise UserError(f"--folds {args.folds}: use 2 or more folds (or 0, the default)")
    if args.folds and (args.epochs < 1 or args.epoch_size < 1):
        raise UserError(
            f"--epochs {args.epochs} --epoch-size {args.epoch_size}: each fine-tune needs 1 or "
            "more of each"
        )
    made = not out.exists()
    output_folder(out, "--out ")  # now: a read-only working folder failed after minutes
    try:
        return _audit(args, out)
    except BaseException:  # a failed or stopped audit leaves no half folder to refuse a rerun
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _audit(args: argparse.Namespace, out: Path) -> int:
    from plate_ocr.audit import gather, rank
    from plate_ocr.reader import PlateReader

    scanned = scan_folder(args.real_dir)
    samples = [sample for name in SPLITS for sample in scanned.splits[name]]
    if not samples:
        raise UserError(f"{args.real_dir}: no labelled crops to audit")
    files, labels, images, unreadable = [], [], [], list(scanned.problems)
    for path, label in tqdm(samples, desc="reading crops", unit="crop", leave=False):
        try:
            images.append(read_rgb(path))
        except UserError as error:
            unreadable.append(error)
            continue
        files.append(path)
        labels.append(label)
    # each reader column gives every crop its views: the shipped (or --model) readers read
    # every crop, the fold readers each crop they held out
    columns = [
        [PlateReader(model, device="cpu")] * len(files) for model in args.model or [PRETRAINED]
    ]
    if args.folds:
        columns.append(_fold_readers(args, out, files, labels))
    evidence = gather(columns[0], images, labels)
    for column in columns[1:]:
        for crop, more in zip(evidence, gather(column, images, labels), strict=True):
            crop.readings += more.readings
            crop.doubts += more.doubts
    suspects, duplicates, blind = rank(files, labels, images, evidence)
    root = args.real_dir
    _write_outputs(out, suspects, duplicates, blind, files, labels, images, args.top, root)
    print(f"{len(files):,} crops read, {len(suspects):,} suspects; first {min(10, len(suspects))}:")
    for suspect in suspects[:10]:
        print(f"  {suspect.score:7.2f}  {suspect.file}  {suspect.label} > {suspect.reading}")
    same = sum(labels[i] == labels[j] for i, j, _ in duplicates)
    print(
        f"{len(duplicates)} near-duplicate pair(s) ({same} under one label), {len(blind)} "
        f"crop(s) that cannot show a plate, {len(unreadable)} file(s) not read; all in {out}/"
    )
    return 0


def _fold_readers(args, out: Path, files: list[Path], labels: list[str]) -> list:
    """For each crop, a reader fine-tuned from the shipped one on the other folds' crops."""
    from hydra import compose, initialize_config_dir

    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.reader import PlateReader
    from plate_ocr.training import train

    if not (args.config_dir / "train.yaml").is_file():
        raise UserError(
            f"--folds trains with {args.config_dir}/train.yaml, which is not there: run from "
            "the plate-ocr folder or pass --config-dir"
        )
    for fold in range(args.folds):  # before minutes of training: each fold trains and holds out
        split = RealSplit(str(args.real_dir), fold, args.folds).splits()
        if not split["train"] or not split["validation"]:
            empty = "train" if not split["train"] else "hold out"
            raise UserError(
                f"--folds {args.folds}: fold {fold} would have no crops to {empty} in "
                f"{args.real_dir} (too few plates for {args.folds} folds); use fewer folds"
            )
    seconds = args.folds * args.epochs * args.epoch_size / _training_rate()
    print(
        f"--folds {args.folds}: {args.folds} fine-tunes of {args.epochs} x {args.epoch_size:,} "
        f"samples, about {seconds / 60:.0f} minutes on this machine"
    )
    position = {path.resolve(): i for i, path in enumerate(files)}
    reader_of: list = [None] * len(files)
    for fold in range(args.folds):
        folder = out / "folds" / str(fold)
        overrides = [  # the defaults fine-tune the shipped reader
            f"data.real_dir={args.real_dir}",
            f"data.real_fold={fold}",
            f"data.real_folds={args.folds}",
            f"trainer.max_epochs={args.epochs}",
            f"data.epoch_size={args.epoch_size}",
            "test=false",
            "logger={}",
            f"paths.output_dir={folder}",
        ]
        with initialize_config_dir(str(args.config_dir.resolve()), version_base="1.3"):
            train(compose("train", overrides=overrides))
        reader = PlateReader(folder / "checkpoints" / "last.ckpt", device="cpu")
        held_out = RealSplit(str(args.real_dir), fold, args.folds).splits()["validation"]
        for path, _ in held_out:
            if path.resolve() in position:
                reader_of[position[path.resolve()]] = reader
    # crops in no fold (a test split): no fold's reader trained on them, the last one reads
    return [held or reader for held in reader_of]


def _training_rate() -> float:
    """Plates a second a fine-tune step runs here, timed on a few steps of the shipped
    reader's network: a time estimate before minutes of training, not a benchmark."""
    import torch

    from plate_ocr.model.checkpoint import load_network
    from plate_ocr.model.codec import encode

    net = load_network(PRETRAINED).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    batch = torch.rand(64, net.in_channels, *net.image_size)
    targets, lengths = encode(["12345611616"] * 64)
    start = None
    for step in range(4):
        if step == 1:
            start = time.perf_counter()  # the first step pays for allocation
        log_probs = net.log_probs(batch).transpose(0, 1)
        columns = torch.full((64,), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, targets, columns, lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # loading, rendering and validation cost about as much again
    return 3 * 64 / (time.perf_counter() - start) / 2


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, text.getvalue())


def _write_outputs(
    out, suspects, duplicates, blind, files, labels, images, top: int, root: Path
) -> None:
    from plate_ocr.data.model_input import resize
    from plate_ocr.gallery import annotated_grid, titled

    _write_csv(
        out / "suspects.csv",
        ["file", "label", "reading", "score", "reason"],
        [[s.file, s.label, s.reading, f"{s.score:.3f}", s.reason] for s in suspects],
    )
    # the corrections template: a person fills in text (a label, or drop) after looking
    # rows relative to the folder, as data.label_fixes reads them: the template works as is
    rows = [[Path(s.file).relative_to(root).as_posix(), ""] for s in suspects[:top]]
    _write_csv(out / "label_fixes.csv", ["file", "text"], rows)
    _write_csv(
        out / "duplicates.csv",
        ["file", "label", "same_image_as", "its_label", "bits_apart"],
        [[files[i], labels[i], files[j], labels[j], bits] for i, j, bits in duplicates],
    )
    _write_csv(
        out / "cannot_show.csv",
        ["file", "label", "reason"],
        [[files[i], labels[i], why] for i, why in blind],
    )
    shown = suspects[:top]
    if shown:
        index = {path: i for i, path in enumerate(files)}
        crops = np.stack([resize(images[index[s.file]], (48, 160)) for s in shown])
        ranks = [f"#{rank} {s.score:.1f}" for rank, s in enumerate(shown, start=1)]
        grid = annotated_grid(crops, [s.label for s in shown], [s.reading for s in shown],
                              columns=SHEET_COLUMNS, prefixes=ranks)  # fmt: skip
        grid = titled(grid, "rank, suspicion score, label>reading; red: the reading differs")
        ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        if ok:
            with replacing(out / "suspects.png") as temporary:
                data.tofile(temporary)
