"""Real accuracy by reading option: greedy or constrained decoding, with or without the vote of
three framings, on the held-out plates of runs that ``benchmarks/accuracy.py`` trained, or of
a model that trained on no real crop (``--model``: every fold is unseen, so it reads them all).

    python benchmarks/reading.py --tag sf-ft160 [--tag real160 ...] [--engine int8]
    python benchmarks/reading.py --tag pretrained --model src/plate_ocr/pretrained/plate_reader.pt

Each run recorded under a tag in ``accuracy_runs.jsonl`` has a run folder with
``checkpoints/last.ckpt`` and a fold: its last checkpoint reads that fold's validation plates
(which it never trained on) through ``PlateReader`` in the four ways, and one record per run
and fold goes to ``reading_runs.jsonl`` (a zero-shot run is read on every fold it was scored
on). A run and fold already read is not read again; one whose checkpoint is gone is
skipped. The table gives each option's mean ± std over the runs and its gain over greedy,
paired by run: the options need no training, so every run measures all four on the same
plates. Each option's time per plate (reading the whole fold in one call, resizing
included, on one thread) is recorded beside it: a figure for comparing options on one
machine, not a latency. ``--engine onnx`` or ``int8`` reads each run's checkpoint exported as
``plate-ocr export`` (``--int8``) writes it, recorded with its ``engine``: what a deployed
reader reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from accuracy import RESULTS, RUNS_FILE, _commit  # noqa: E402  (a sibling script)

READINGS_FILE = "reading_runs.jsonl"
from plate_ocr.confidence import READING_OPTIONS as OPTIONS  # noqa: E402  (name: options)


def _jsonl(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line]
        if path.is_file()
        else []
    )


PUBLISHED = "published"  # the labels as the folder has them
ENGINES = {"pytorch": "pytorch", "onnx": "onnxruntime", "int8": "onnxruntime-int8"}


def _labels(record: dict) -> str:
    return record.get("labels", PUBLISHED)


def _engine(record: dict) -> str:
    return record.get("engine", "pytorch")


def exported(checkpoint: Path, engine: str, folder: Path) -> Path:
    """``checkpoint`` as ``plate-ocr export`` writes it for ``engine`` (onnx or int8: the
    same export and the same synthetic calibration plates), in ``folder``."""
    from plate_ocr.cli.export import CALIBRATION_PLATES, CALIBRATION_SEED
    from plate_ocr.export import export_onnx, quantize_int8, synthetic_crops
    from plate_ocr.model.checkpoint import load_network
    from plate_ocr.reader import PlateReader

    net = load_network(checkpoint)
    onnx = export_onnx(net, folder / "float.onnx")
    if engine == "onnx":
        return onnx
    plates = synthetic_crops(CALIBRATION_PLATES, net.image_size, CALIBRATION_SEED)
    calibration = PlateReader(net, device="cpu").preprocess(plates)
    return quantize_int8(onnx, folder / "int8.onnx", calibration)


def held_out(real_dir: Path, fold: int, label_fixes: Path | None, trained_fixes: str | None = None):
    """A fold's held-out crops as the run split them (by the labels as published, or by the
    corrections it trained with, ``trained_fixes``), scored against ``label_fixes``'
    corrections when given, else the labels as published: the same crops either way, and none
    a correction drops."""
    from plate_ocr.data.folder import PlateFolder, find_splits
    from plate_ocr.data.real_split import RealSplit

    samples = RealSplit(str(real_dir), fold, label_fixes=trained_fixes).splits()["validation"]
    splits = find_splits(real_dir, label_fixes=label_fixes).values()
    scored = {path.resolve(): label for split in splits for path, label in split}
    return PlateFolder([(p, scored[p.resolve()]) for p, _ in samples if p.resolve() in scored])


def fixes_trained_with(run: dict) -> str | None:
    """The corrections file a recorded run trained with (its ``data.label_fixes=``), if any."""
    prefix = "data.label_fixes="
    return next((e.removeprefix(prefix) for e in run["extra"] if e.startswith(prefix)), None)


def _read_every_way(model, crops, threads: int | None) -> tuple[dict, dict, dict]:
    """The share of ``crops`` that ``model`` reads right in each of OPTIONS' ways, the
    milliseconds a plate each took, and the misreads: each option's count by error class,
    and every crop some option misread, with its readings and properties."""
    from plate_ocr.error_classes import crop_properties, error_class
    from plate_ocr.reader import PlateReader

    scores, ms, texts = {}, {}, {}
    for name, options in OPTIONS.items():
        reader = PlateReader(model, device="cpu", threads=threads, **options)
        reader(crops.images[:8])  # warm up: the first call pays for lazy initialisation
        start = time.perf_counter()
        readings = reader(crops.images)
        ms[name] = round(1000 * (time.perf_counter() - start) / len(crops.labels), 3)
        texts[name] = [r.text for r in readings]
        right = sum(t == label for t, label in zip(texts[name], crops.labels, strict=True))
        scores[name] = right / len(crops.labels)
    errors = {name: {} for name in OPTIONS}
    misreads = []
    for i, label in enumerate(crops.labels):
        classes = {name: error_class(label, texts[name][i]) for name in OPTIONS}
        for name, kind in classes.items():
            if kind:
                errors[name][kind] = errors[name].get(kind, 0) + 1
        if any(classes.values()):
            misreads.append(
                {"file": crops.paths[i].name, "label": label}
                | {"read": {name: texts[name][i] for name in OPTIONS}}
                | {"class": {name: kind for name, kind in classes.items() if kind}}
                | crop_properties(crops.images[i])
            )
    return scores, ms, {"errors": errors, "misreads": misreads}


def read_runs(
    runs: list[dict], real_dir: Path, label_fixes: Path | None = None, engine: str = "pytorch"
) -> list[dict]:
    """One record per run: the share of its fold's validation plates read in each way."""
    import tempfile

    import torch

    torch.set_num_threads(1)  # steadier times beside other work

    threads = None if engine == "pytorch" else 1  # ONNX Runtime: one core, as torch
    records = []
    for run in runs:
        crops = held_out(real_dir, run["fold"], label_fixes, fixes_trained_with(run))
        checkpoint = run.get("model") or Path(run["run_dir"]) / "checkpoints" / "last.ckpt"
        with tempfile.TemporaryDirectory() as folder:
            model = (
                checkpoint if engine == "pytorch" else exported(checkpoint, engine, Path(folder))
            )
            scores, ms, misread = _read_every_way(model, crops, threads)
        records.append(
            {key: run[key] for key in ("tag", "fold", "extra", "run_dir")}
            | ({"ratio": run["ratio"]} if "ratio" in run else {})
            | {"plates": len(crops.labels), "commit": _commit(), "seq_acc": scores}
            | {"ms_per_plate": ms}
            | misread
            | ({"labels": label_fixes.name} if label_fixes else {})
            | ({"engine": ENGINES[engine]} if engine != "pytorch" else {})
        )
        print(f"{run['tag']} fold {run['fold']} {run['extra']}: {scores}", flush=True)
    return records


def table(records: list[dict]) -> str:
    """Per tag and option: mean ± std over runs, the mean gain over greedy by run, and the
    mean time per plate over the runs that recorded one."""
    from plate_ocr.markdown import table as markdown_table
    from plate_ocr.sweep import mean_std

    rows = []
    for tag in dict.fromkeys(r["tag"] for r in records):
        runs = [r for r in records if r["tag"] == tag]
        for name in OPTIONS:
            values = [r["seq_acc"][name] for r in runs]
            gains = [r["seq_acc"][name] - r["seq_acc"]["greedy"] for r in runs]
            better = sum(g > 0 for g in gains)
            times = [r["ms_per_plate"][name] for r in runs if "ms_per_plate" in r]
            rows.append(
                [tag, name, len(runs), mean_std(values), f"{sum(gains) / len(gains):+.4f}",
                 f"{better}/{len(runs)}", f"{sum(times) / len(times):.2f}" if times else "-"]
            )  # fmt: skip
    header = ["tag", "reading", "runs", "real seq_acc", "vs greedy", "runs better", "ms/plate"]
    return "\n".join(markdown_table(header, rows)) + "\n"


def classes_table(records: list[dict]) -> str:
    """Misreads by error class, summed over runs, per tag (and ratio, where runs differ in
    it) for greedy and for both options: what a change aimed at one class is judged on.
    Classed again from each recorded misread's strings, so older records use today's classes."""
    from plate_ocr.error_classes import CLASSES, error_class
    from plate_ocr.markdown import table as markdown_table

    rows = []
    for name in dict.fromkeys(_setting(r) for r in records if "misreads" in r):
        runs = [r for r in records if _setting(r) == name and "misreads" in r]
        plates = sum(r["plates"] for r in runs)
        for option in ("greedy", "constrained, vote"):
            kinds = [
                error_class(m["label"], m["read"][option]) for r in runs for m in r["misreads"]
            ]
            counts = [kinds.count(c) for c in CLASSES]
            rows.append([name, option, len(runs), plates, sum(counts), *counts])
    header = ["runs of", "reading", "runs", "plates", "misreads", *CLASSES]
    return "\n".join(markdown_table(header, rows)) + "\n" if rows else ""


def _setting(record: dict) -> str:
    """A tag, or ``tag@ratio`` for a record that names its ratio (a ratio sweep's tag)."""
    return f"{record['tag']}@{record['ratio']:g}" if "ratio" in record else record["tag"]


def parse_arguments(description: str) -> argparse.Namespace:
    """What the scripts that read recorded runs take: the tags, the real crops, the records."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tag", action="append", required=True, help="accuracy runs to read")
    parser.add_argument(
        "--real-dir", type=Path, default=REPO.parent / "shared" / "data" / "lpa_recognition"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where records are")
    parser.add_argument(
        "--model", type=Path, help="read this model, trained on no real crop, on every fold"
    )
    parser.add_argument("--folds", type=int, default=5, help="--model: folds to read it on")
    parser.add_argument(
        "--engine", choices=list(ENGINES), default="pytorch", help="read the checkpoints as"
    )
    parser.add_argument(
        "--label-fixes",
        type=Path,
        help="score against these corrections (file,text) instead of the labels as published",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0])
    labels = args.label_fixes.name if args.label_fixes else PUBLISHED
    engine = ENGINES[args.engine]
    done = [
        r
        for r in _jsonl(args.results / READINGS_FILE)
        if _labels(r) == labels and _engine(r) == engine
    ]
    read = {(r["run_dir"], r["fold"]) for r in done}
    if args.model:
        if len(args.tag) != 1:
            sys.exit("--model: give one --tag to record its readings under")
        runs = [
            {"tag": args.tag[0], "fold": fold, "extra": [], "run_dir": str(args.model)}
            | {"model": str(args.model)}
            for fold in range(args.folds)
        ]
    else:
        runs = [
            r
            for r in _jsonl(args.results / RUNS_FILE)
            if r["tag"] in args.tag and "invalid" not in r
        ]
    todo, gone = [], []  # unread runs, with and without a checkpoint on disk
    for run in runs:
        if (run["run_dir"], run["fold"]) not in read:
            on_disk = Path(run.get("model") or Path(run["run_dir"]) / "checkpoints" / "last.ckpt")
            on_disk = on_disk.is_file()
            (todo if on_disk else gone).append(run)
    print(
        f"{len(todo)} runs to read, {len(runs) - len(todo) - len(gone)} read"
        + (f", {len(gone)} skipped: checkpoint gone" if gone else "")
    )
    new = []
    for run in todo:  # each recorded as read: a stop loses at most the run being read
        new += read_runs([run], args.real_dir, args.label_fixes, args.engine)
        with (args.results / READINGS_FILE).open("a") as out:
            out.write(json.dumps(new[-1]) + "\n")
    wanted = {(r["run_dir"], r["fold"]) for r in runs}
    chosen = [r for r in done + new if (r["run_dir"], r["fold"]) in wanted]
    print(table(chosen))
    print(classes_table(chosen))


if __name__ == "__main__":
    main()
