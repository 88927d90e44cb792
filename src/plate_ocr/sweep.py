"""Summarise a Hydra multirun: swept values against final metrics, best run first.

Runs at the end of every ``python train.py -m ...`` (a Hydra callback) and on demand as
``plate-ocr sweep-report outputs/multirun/<run>``; both write ``sweep_report.md`` there.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from plate_ocr.atomic import replacing, write_text
from plate_ocr.errors import UserError
from plate_ocr.markdown import table
from plate_ocr.run_folder import FAILED_FILE, METRICS_FILE

REPORT_FILE = "sweep_report.md"
PLOT_FILE = "sweep_report.svg"
# runs that differ only in these are repeats of one setting: folds or seeds
REPEAT_KEYS = ("data.real_fold", "seed")
COLUMNS = (
    "val/real/seq_acc",
    "val/synthetic/seq_acc",
    "test/real/seq_acc",
    "test/synthetic/seq_acc",
    "val/real/cer",
)


def _overrides(run: Path) -> dict[str, str]:
    path = run / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    lines = [line.strip()[2:] for line in path.read_text().splitlines() if line.startswith("- ")]
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _finished_record(run: Path) -> dict | None:
    """A run's metrics.json, or None when it is damaged (cut short by a full disk, say)."""
    try:
        record = json.loads((run / METRICS_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    fields = ("metrics", "config")
    whole = isinstance(record, dict) and all(isinstance(record.get(f), dict) for f in fields)
    return record if whole else None


def collect(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """(finished runs: overrides, metrics, optimized metric; runs that left no metrics:
    failed, killed or still running)."""
    finished, unfinished = [], []
    for run in sorted((p for p in sweep_dir.iterdir() if p.is_dir()), key=lambda p: p.name):
        if not (run / ".hydra").is_dir():
            continue
        if not (run / METRICS_FILE).is_file() or (run / FAILED_FILE).is_file():
            unfinished.append(run)
            continue
        record = _finished_record(run)
        if record is None:  # damaged: the run is named, the others still summed up
            unfinished.append(run)
            continue
        target = record["config"].get("optimized_metric", "val/seq_acc")
        finished.append(
            {
                "run": run.name,
                "overrides": _overrides(run),
                "metrics": record["metrics"],
                "score": record["metrics"].get(target, math.nan),
                "target": target,
            }
        )
    return finished, unfinished


def render(sweep_dir: Path) -> str:
    finished, unfinished = collect(sweep_dir)
    if not finished and not unfinished:
        raise UserError(
            f"{sweep_dir}: no Hydra runs here; pass an outputs/multirun/<date>/<time> folder"
        )
    finished.sort(key=lambda r: -r["score"] if not math.isnan(r["score"]) else math.inf)
    every = sorted({k for r in finished for k in r["overrides"]})
    # a column per swept key; what every run shares is said once above the table
    keys = [k for k in every if len({r["overrides"].get(k) for r in finished}) > 1]
    shared = [f"{k}={finished[0]['overrides'][k]}" for k in every if k not in keys]
    metrics = [c for c in COLUMNS if any(c in r["metrics"] for r in finished)]
    target = finished[0]["target"] if finished else "val/seq_acc"
    header = ["run", *keys, target, *[m for m in metrics if m != target]]
    lines = [
        f"# Sweep {sweep_dir}",
        "",
        f"Best first, by `{target}`.",
        "",
        *([f"Every run: `{' '.join(shared)}`", ""] if shared else []),
    ]
    rows = [
        [r["run"], *(_short(r["overrides"].get(k, "")) for k in keys)]
        + [f"{r['metrics'].get(m, math.nan):.4f}" for m in header[1 + len(keys) :]]
        for r in finished
    ]
    lines += table(header, rows)
    repeated = [k for k in REPEAT_KEYS if k in keys]
    if repeated:
        lines += [
            "",
            f"Mean ± std over {' and '.join(repeated)} (sample std):",
            "",
            *repeats_table(finished, [target, *[m for m in metrics if m != target]]),
        ]
    lines += _read_together(sweep_dir, finished)
    for run in unfinished:
        lines.append(f"\nRun {run.name} ({_failure(run)}): " + _override_text(run))
    return "\n".join(lines) + "\n"


def _read_together(sweep_dir: Path, runs: list[dict[str, Any]]) -> list[str]:
    """How to read the seeds of one setting together (an ensemble reads more than either:
    docs/results.md), for each setting with two or more finished seeds. Their last
    checkpoints, as measured: no checkpoint is picked on the plates it is scored on."""
    groups: dict[tuple, list[Path]] = {}
    for r in runs:
        if "seed" in r["overrides"]:
            setting = tuple(sorted((k, v) for k, v in r["overrides"].items() if k != "seed"))
            last = sweep_dir / r["run"] / "checkpoints" / "last.ckpt"
            if last.is_file():
                groups.setdefault(setting, []).append(last)
    lines = []
    for setting, checkpoints in groups.items():
        if len(checkpoints) < 2:
            continue
        checkpoints.sort()
        real_dir = dict(setting).get("data.real_dir")
        data = f" data.real_dir={real_dir}" if real_dir else ""
        lines += [
            "",
            f"Read the {len(checkpoints)} seeds of "
            + (" ".join(f"{k}={v}" for k, v in setting) or "this setting")
            + " together, as one reader:",
            "",
            f"    python evaluate.py 'ckpt_path=[{','.join(map(str, checkpoints))}]'{data}",
            f"    plate-ocr predict {checkpoints[0]} IMAGES "
            + " ".join(f"--ensemble {c}" for c in checkpoints[1:]),
        ]
    return lines


def _short(value: str) -> str:
    """A swept value as a person reads it: an optuna draw like 0.15533569770839073 as 0.1553."""
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.4g}" if len(value) > 8 else value


def failed_runs(sweep_dir: Path) -> list[Path]:
    return [run for run in collect(sweep_dir)[1] if (run / FAILED_FILE).is_file()]


def _failure(run: Path) -> str:
    failed = run / FAILED_FILE
    if failed.is_file():
        return "failed: " + failed.read_text().strip().splitlines()[-1]
    if (run / METRICS_FILE).is_file():
        return f"its {METRICS_FILE} is damaged (not the JSON a finished run writes)"
    return f"left no {METRICS_FILE}: killed, or still running"


def _override_text(run: Path) -> str:
    return " ".join(f"{k}={v}" for k, v in _overrides(run).items()) or "no overrides"


def mean_std(values: list[float]) -> str:
    """``0.8612 ± 0.0123`` (sample std; ``± -`` for a single value)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    spread = f"{statistics.stdev(values):.4f}" if len(values) > 1 else "-"
    return f"{statistics.mean(values):.4f} ± {spread}"


def repeats_table(runs: list[dict[str, Any]], metrics: list[str]) -> list[str]:
    """Markdown rows of mean ± std per setting, over the runs that differ only in fold/seed."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        setting = tuple(sorted((k, v) for k, v in r["overrides"].items() if k not in REPEAT_KEYS))
        groups.setdefault(setting, []).append(r)
    varying = sorted({k for setting in groups for k, _ in setting if k not in REPEAT_KEYS})
    varying = [k for k in varying if len({dict(s).get(k) for s in groups}) > 1]
    rows = [
        [dict(setting).get(k, "") for k in varying]
        + [len(members)]
        + [mean_std([m["metrics"].get(c, math.nan) for m in members]) for c in metrics]
        for setting, members in groups.items()
    ]
    return table([*varying, "runs", *metrics], rows)


def write_report(sweep_dir: Path) -> str:
    """The markdown report, and a plot where one numeric setting is swept."""
    text = render(sweep_dir)
    write_text(sweep_dir / REPORT_FILE, text)
    if plot(sweep_dir):
        text += f"(plot: {sweep_dir / PLOT_FILE})\n"
    return text


def plot(sweep_dir: Path) -> bool:
    """Real and synthetic validation accuracy against the one numeric swept setting, mean
    and spread over the folds or seeds each value ran with. False where there is no such
    setting (nothing swept, or several settings, or words)."""
    finished, _ = collect(sweep_dir)
    swept = {k for r in finished for k in r["overrides"] if k not in REPEAT_KEYS}
    swept = [k for k in swept if len({r["overrides"].get(k) for r in finished}) > 1]
    if len(swept) != 1:
        return False
    key = swept[0]
    try:
        xs = sorted({float(r["overrides"][key]) for r in finished})
    except (KeyError, ValueError):
        return False
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "plate-ocr"})
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6))
    for source in ("real", "synthetic"):
        metric = f"val/{source}/seq_acc"
        if not any(metric in r["metrics"] for r in finished):
            continue
        values = [(float(r["overrides"][key]), r["metrics"].get(metric)) for r in finished]
        groups = [[v for at, v in values if at == x and v is not None] for x in xs]
        means = [statistics.mean(g) if g else math.nan for g in groups]
        spread = [statistics.stdev(g) if len(g) > 1 else 0.0 for g in groups]
        axis.errorbar(xs, means, yerr=spread, marker="o", capsize=4, label=source)
    axis.set_xlabel(key)
    axis.set_ylabel("validation plates read exactly")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    repeats = max(len([r for r in finished if float(r["overrides"][key]) == x]) for x in xs)
    axis.set_title(f"mean ± std over up to {repeats} runs per value", fontsize=10)
    figure.tight_layout()
    with replacing(sweep_dir / PLOT_FILE) as temporary:
        figure.savefig(temporary, metadata={"Date": None})
    plt.close(figure)
    return True


class SweepSummary(Callback):
    """Prints the sweep table when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            print("\n" + write_report(sweep_dir) + f"(also in {sweep_dir / REPORT_FILE})")
            failed = failed_runs(sweep_dir)
            if failed:  # the sweep's exit status says so too
                print(f"{len(failed)} run(s) failed: {', '.join(r.name for r in failed)}")
                sys.exit(1)
