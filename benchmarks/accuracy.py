"""Real accuracy on unseen plates against the real ratio: the project's headline.

    python benchmarks/accuracy.py [--ratios 0 0.05 0.2 0.5 1] [--folds 0 1 2] [--jobs 2]
                                  [--tag NAME] [-- KEY=VALUE ...]

Trains the default recipe once per (ratio, fold) on the shared real crops, ``data.real_ratio``
set to the ratio (ratio 1 is real-only, as ``experiment=real_only``: from random weights, no
synthetic epochs; ratio 0 is zero-shot: synthetic only; extras after ``--`` may name an
experiment, the ratio still holds) and scores each run on the fold's validation plates,
which no run trained on. The number is the last epoch's, not the
best one's, so no checkpoint is picked on the plates it is scored on.

Ratio 0 trains on no real crop, so every fold would train the same model (training is
deterministic on a CPU): it is trained once, on the first fold, and its last checkpoint is
scored on the other folds' validation plates (``scored_from`` in their records). Folds added
later are scored from the recorded zero-shot run's checkpoint while it is on disk: a second
training would be another draw of the random stream, not the same model.

Every finished run is appended to ``benchmarks/results/accuracy_runs.jsonl`` (settings,
commit, metrics, minutes) and never run again for the same tag and settings: change
``--tag`` when the code changes what is measured. The table (mean ± std over folds) is
printed from that file, and ``--plot FILE.svg`` draws accuracy against the ratio.
``--jobs 2`` runs two trainings at once, one thread each: on two cores that is about twice
the throughput of one two-thread run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plate_ocr.atomic import replacing
from plate_ocr.markdown import table as markdown_table
from plate_ocr.sweep import mean_std

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
RUNS_FILE = "accuracy_runs.jsonl"
COLUMNS = ("val/real/seq_acc", "val/real/char_acc", "val/real/cer", "val/synthetic/seq_acc")


def _overrides(ratio: float, fold: int, args: argparse.Namespace) -> list[str]:
    """train.py's overrides for one run. The ratio is always a key override: Hydra applies
    those after every config group, so an extra ``experiment=...`` (accurate_gpu, say) cannot
    undo it. Ratio 1 once came from ``experiment=real_only``, and an extra experiment
    replaced it: the "real-only" run trained 80/20."""
    return [
        f"data.real_ratio={ratio}",
        *(["data.synthetic_epochs=0", "init_from=null"] if ratio == 1 else []),
        f"data.real_dir={args.real_dir}",
        f"data.real_fold={fold}",
        *([f"data.num_workers={args.workers}"] if args.workers is not None else []),
        *args.extra,
    ]


def _trained_ratio(run_dir: Path) -> float | None:
    """The real ratio a finished run was composed with, from its saved Hydra config."""
    from omegaconf import OmegaConf

    return OmegaConf.load(run_dir / ".hydra" / "config.yaml").data.real_ratio


def _records(results: Path, tag: str, extra: list[str] | None) -> list[dict]:
    """The valid records of ``tag`` with these extras (None: whatever their extras)."""
    path = results / RUNS_FILE
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    # a record marked invalid (what it says it measured is not what ran) is kept, not used
    wanted = [r for r in records if r["tag"] == tag and extra in (None, r["extra"])]
    return [r for r in wanted if "invalid" not in r]


def _commit() -> str:
    """The checked-out commit. PLATE_OCR_COMMIT, when set, names it and wins: a copied tree
    (a GPU machine's) may carry a stale .git whose HEAD is not the code that runs."""
    if os.environ.get("PLATE_OCR_COMMIT"):
        return os.environ["PLATE_OCR_COMMIT"]
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def _machine() -> str:
    """Where the runs train, recorded with each run: GPU and CPU timings are not comparable."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name()}"
    return f"cpu:{os.cpu_count()}"


def _batch_folder(runs_dir: Path, tag: str) -> Path:
    """A new folder for this invocation's runs. Named by the second it starts, plus a unique
    suffix: two invocations started in the same second (one per seed, say) once shared a
    folder, so both recorded whichever run finished last."""
    parent = runs_dir / tag
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y-%m-%d_%H-%M-%S") + "_", dir=parent))


def _launch(overrides: list[str], run_dir: Path, jobs: int) -> subprocess.Popen:
    run_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | ({"OMP_NUM_THREADS": "1"} if jobs > 1 else {})
    command = [sys.executable, "train.py", *overrides, f"hydra.run.dir={run_dir}"]
    log = (run_dir / "train.log").open("w")
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def run_missing(args: argparse.Namespace) -> None:
    recorded = _records(args.results, args.tag, args.extra)
    done = {(r["ratio"], r["fold"]) for r in recorded}
    todo = [(r, f) for r in args.ratios for f in args.folds if (r, f) not in done]
    measured = len(args.ratios) * len(args.folds) - len(todo)
    # Ratio 0 trains on no real crop, so every fold trains the same model: train it once,
    # then score its last checkpoint on the other folds' validation plates.
    zero_shot = [f for r, f in todo if r == 0]
    trained = _zero_shot_run(recorded) if zero_shot else None
    if trained is not None:
        record, run_dir = trained
        print(f"{len(zero_shot)} zero-shot folds scored from {run_dir}")
        _append(args.results, _score_other_folds(record, run_dir, zero_shot, args))
        measured += len(zero_shot)
        todo, zero_shot = [(r, f) for r, f in todo if r != 0], []
    todo = [(r, f) for r, f in todo if r != 0 or f == zero_shot[0]]
    scored = f" (+{len(zero_shot) - 1} scored from the zero-shot run)" if zero_shot[1:] else ""
    print(f"{len(todo)} runs to do{scored}, {measured} measured")
    batch = _batch_folder(args.runs_dir, args.tag) if todo else None
    machine = _machine()
    running: list[tuple[subprocess.Popen, dict, Path, float]] = []
    while todo or running:
        while todo and len(running) < args.jobs:
            ratio, fold = todo.pop(0)
            overrides = _overrides(ratio, fold, args)
            run_dir = batch / f"r{ratio}_fold{fold}"
            record = {"tag": args.tag, "ratio": ratio, "fold": fold, "extra": args.extra}
            record["commit"] = _commit()  # the code the run starts with
            record["machine"] = machine
            record["overrides"] = overrides
            running.append((_launch(overrides, run_dir, args.jobs), record, run_dir, time.time()))
        time.sleep(2)
        for item in list(running):
            process, record, run_dir, started = item
            if process.poll() is None:
                continue
            running.remove(item)
            if process.returncode != 0 or not (run_dir / "metrics.json").is_file():
                print(f"FAILED ratio={record['ratio']} fold={record['fold']}: see {run_dir}")
                continue
            trained = _trained_ratio(run_dir)
            if trained != record["ratio"]:
                print(
                    f"NOT RECORDED ratio={record['ratio']} fold={record['fold']}: the run "
                    f"trained at data.real_ratio={trained} ({run_dir})"
                )
                continue
            metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
            record |= {
                "minutes": round((time.time() - started) / 60, 2),
                "metrics": {k: metrics[k] for k in COLUMNS if k in metrics},
                "run_dir": str(run_dir),
            }
            records = [record]
            if record["ratio"] == 0:
                records += _score_other_folds(record, run_dir, zero_shot[1:], args)
            _append(args.results, records)
            real = record["metrics"].get("val/real/seq_acc", float("nan"))
            print(f"ratio={record['ratio']} fold={record['fold']}: real seq_acc {real:.4f}")


def _append(results: Path, records: list[dict]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    with (results / RUNS_FILE).open("a") as runs:
        runs.writelines(json.dumps(r) + "\n" for r in records)


def _zero_shot_run(records: list[dict]) -> tuple[dict, Path] | None:
    """The record and folder of the trained zero-shot run among ``records``, if its checkpoint
    is still on disk: the model any further fold is to be scored with."""
    for record in records:
        run_dir = Path(record.get("run_dir", ""))
        trained = record["ratio"] == 0 and "scored_from" not in record
        if trained and (run_dir / "checkpoints" / "last.ckpt").is_file():
            return record, run_dir
    return None


def _score_other_folds(record: dict, run_dir: Path, folds: list[int], args) -> list[dict]:
    """Records for ``folds`` from the zero-shot run's last checkpoint: the model every fold
    would train, read through PlateReader (the validation path) on each fold's plates."""
    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.model.metrics import PlateMetrics
    from plate_ocr.reader import PlateReader

    # greedy, as training's validation reads the folds the other records score
    reader = PlateReader(run_dir / "checkpoints" / "last.ckpt", constrained=False, device="cpu")
    scored = []
    for fold in folds:
        crops = PlateFolder(RealSplit(str(args.real_dir), fold).splits()["validation"])
        metric = PlateMetrics()
        metric.update([r.text for r in reader(crops.images)], crops.labels)
        values = {f"val/real/{k}": float(v) for k, v in metric.compute().items()}
        metrics = record["metrics"] | {k: values[k] for k in COLUMNS if k in values}
        scored.append(record | {"fold": fold, "metrics": metrics, "scored_from": str(run_dir)})
    return scored


def table(records: list[dict]) -> str:
    """Mean ± std over folds, one row per ratio."""
    by_ratio: dict[float, list[dict]] = {}
    for record in records:
        by_ratio.setdefault(record["ratio"], []).append(record)
    rows = []
    for ratio, runs in sorted(by_ratio.items()):
        cells = [mean_std([r["metrics"].get(c, float("nan")) for r in runs]) for c in COLUMNS]
        minutes = sum(r["minutes"] for r in runs) / len(runs)
        folds = ",".join(str(r["fold"]) for r in sorted(runs, key=lambda r: r["fold"]))
        rows.append([f"{ratio:g}", folds, *cells, f"{minutes:.1f}"])
    return "\n".join(markdown_table(["real ratio", "folds", *COLUMNS, "minutes"], rows)) + "\n"


def plot(records: list[dict], path: Path, references: dict[str, list[dict]] | None = None) -> None:
    """Real accuracy on unseen plates against the ratio, each run a dot and each ratio's
    mean ± std over its folds and seeds; synthetic accuracy beside it; ``references`` (a
    label: another tag's runs, as real-only or the default) as dashed lines with their
    spread. The y axis fits the values: on 0-1 the differences that matter flatten."""
    import matplotlib

    matplotlib.use("Agg")
    # text as text and stable ids: a small file whose diff shows what changed
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "plate-ocr"})
    import matplotlib.pyplot as plt
    import numpy as np

    ratios = sorted({r["ratio"] for r in records})
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    shown = []
    for metric, label in (
        ("val/real/seq_acc", "real, unseen plates"),
        ("val/synthetic/seq_acc", "synthetic"),
    ):
        values = [
            [r["metrics"][metric] for r in records if r["ratio"] == x and metric in r["metrics"]]
            for x in ratios
        ]
        means = [np.mean(v) if v else np.nan for v in values]
        stds = [np.std(v, ddof=1) if len(v) > 1 else 0 for v in values]
        line = axis.errorbar(ratios, means, yerr=stds, marker="o", capsize=4, label=label)
        dots = [(x, y) for x, v in zip(ratios, values, strict=True) for y in v]
        axis.scatter(*zip(*dots, strict=True), s=10, alpha=0.4, color=line[0].get_color())
        shown += [y for _, y in dots]
    for (label, runs), colour in zip(
        (references or {}).items(), ("grey", "tab:purple", "tab:brown"), strict=False
    ):
        real = [r["metrics"]["val/real/seq_acc"] for r in runs]
        mean, spread = np.mean(real), np.std(real, ddof=1) if len(real) > 1 else 0
        axis.axhline(mean, color=colour, linestyle="--", label=f"{label} ({len(real)} runs)")
        axis.axhspan(mean - spread, mean + spread, color=colour, alpha=0.12)
        shown += [mean - spread, mean + spread]
    low, high = min(shown), max(shown)
    margin = max(0.01, 0.08 * (high - low))
    axis.set_ylim(max(0.0, low - margin), min(1.0, high + margin))
    axis.set_xlabel("data.real_ratio (share of each training epoch)")
    axis.set_ylabel("plates read exactly (greedy)")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, fontsize=8)
    folds = len({r["fold"] for r in records})
    axis.set_title(
        f"{len(records)} runs on {folds} plate-disjoint folds; mean ± std per ratio", fontsize=10
    )
    figure.tight_layout()
    with replacing(path) as temporary:
        figure.savefig(temporary, metadata={"Date": None}, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratios", type=float, nargs="+", default=[0, 0.05, 0.2, 0.5, 1])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, help="data.num_workers per run (default: 1 with --jobs > 1)"
    )
    parser.add_argument("--tag", default="quickstart", help="names a version of what is measured")
    parser.add_argument(
        "--real-dir", type=Path, default=REPO.parent / "shared" / "data" / "lpa_recognition"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where records go")
    parser.add_argument(
        "--runs-dir", type=Path, default=REPO / "outputs" / "benchmarks", help="run folders"
    )
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="TAG=LABEL",
        help="draw another tag's runs (every seed) as a dashed line, e.g. real6b='real only'",
    )
    parser.add_argument(
        "--all-extras",
        action="store_true",
        help="table and plot every run of the tag, whatever its extras (the seeds of a setting)",
    )
    parser.add_argument("--report-only", action="store_true", help="print the table, train nothing")
    parser.add_argument("--plot", type=Path, help="draw accuracy against the ratio to this .svg")
    parser.add_argument("extra", nargs="*", help="more train.py overrides, after --")
    args = parser.parse_args()
    if args.workers is None and args.jobs > 1:
        args.workers = 1
    if not args.report_only:
        run_missing(args)
    records = _records(args.results, args.tag, None if args.all_extras else args.extra)
    if not records:
        sys.exit(f"no runs recorded for tag {args.tag!r} in {args.results / RUNS_FILE}")
    print(table(records))
    if args.plot:
        references = {}
        for reference in args.reference:
            tag, _, label = reference.partition("=")
            references[label or tag] = _records(args.results, tag, None)
        plot(records, args.plot, references)
        print(f"(plot: {args.plot})")


if __name__ == "__main__":
    main()
