"""Summarise a Hydra multirun: swept values against final metrics, best run first.

Runs at the end of every ``python train.py -m ...`` (a Hydra callback) and on demand as
``plate-ocr sweep-report outputs/multirun/<run>``; both write ``sweep_report.md`` there.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from collections.abc import Callable
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
    numbers = whole and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in record["metrics"].values()
    )  # a word where a metric belongs: damaged or edited
    return record if numbers else None


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
    # a column per swept key; what every run shares, failed ones too, is said once above
    everyone = [r["overrides"] for r in finished] + [_overrides(run) for run in unfinished]
    every = sorted({k for o in everyone for k in o})
    keys = [k for k in every if len({o.get(k) for o in everyone}) > 1]
    shared = [f"{k}={everyone[0][k]}" for k in every if k not in keys]
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
        lines = failed.read_text(errors="replace").strip().splitlines()
        return "failed: " + (lines[-1] if lines else "no reason recorded")
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
    """Validation accuracy, real and synthetic, against each swept setting (one panel each: a
    ratio sweep, an Optuna search's parameters), every run a dot and each value's mean ± std
    over its folds or seeds; a sweep of folds or seeds alone shows each run and their mean.
    The y axis fits the values: on 0-1 the differences that matter flatten. False where
    nothing finished or nothing varies."""
    finished, _ = collect(sweep_dir)
    if not finished:
        return False
    keys = _varying(finished, lambda k: k not in REPEAT_KEYS)
    repeats = _varying(finished, lambda k: k in REPEAT_KEYS)
    if not keys and not repeats:
        return False
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "plate-ocr"})
    import matplotlib.pyplot as plt

    panels = keys[:3] or [" and ".join(repeats)]
    figure, axes = plt.subplots(
        1, len(panels), figsize=(3 + 3 * len(panels), 3.6), sharey=True, squeeze=False
    )
    shown: list[float] = []
    for axis, key in zip(axes[0], panels, strict=True):
        labels = [_run_label(r, [key] if keys else repeats) for r in finished]
        numeric = keys and _all_numbers(labels)
        order = sorted(set(labels), key=float if numeric else _natural)
        position = {v: float(v) if numeric else i for i, v in enumerate(order)}
        for source in ("real", "synthetic"):
            metric = f"val/{source}/seq_acc"
            points = [
                (position[label], r["metrics"][metric])
                for label, r in zip(labels, finished, strict=True)
                if isinstance(r["metrics"].get(metric), int | float)
                and not math.isnan(r["metrics"][metric])
            ]
            if not points:
                continue
            groups = [[y for x, y in points if x == position[v]] for v in order]
            xs = [position[v] for v, g in zip(order, groups, strict=True) if g]
            means = [statistics.mean(g) for g in groups if g]
            spread = [statistics.stdev(g) if len(g) > 1 else 0.0 for g in groups if g]
            line = axis.errorbar(
                xs,
                means,
                yerr=spread,
                marker="o",
                capsize=4,
                linestyle="-" if len(keys) == 1 else "none",
                label=f"{source}, mean ± std",
            )
            axis.scatter(*zip(*points, strict=True), s=10, alpha=0.4, color=line[0].get_color())
            shown += [y for _, y in points] + [m + s for m, s in zip(means, spread, strict=True)]
            shown += [m - s for m, s in zip(means, spread, strict=True)]
        if not numeric:
            axis.set_xticks(range(len(order)), order, fontsize=8)
        axis.set_xlabel(key)
        axis.grid(alpha=0.3)
    low, high = min(shown), max(shown)
    margin = max(0.01, (high - low) * 0.1)
    axes[0][0].set_ylim(max(0.0, low - margin), min(1.0, high + margin))
    axes[0][0].set_ylabel("validation plates read exactly")
    axes[0][0].legend(loc="best", fontsize=8)
    figure.suptitle(_plot_title(finished, keys, repeats), fontsize=10)
    figure.tight_layout()
    with replacing(sweep_dir / PLOT_FILE) as temporary:
        figure.savefig(temporary, metadata={"Date": None})
    plt.close(figure)
    return True


def _varying(runs: list[dict[str, Any]], wanted: Callable[[str], bool]) -> list[str]:
    keys = sorted({k for r in runs for k in r["overrides"] if wanted(k)})
    return [k for k in keys if len({r["overrides"].get(k) for r in runs}) > 1]


def _run_label(run: dict[str, Any], keys: list[str]) -> str:
    return " ".join(run["overrides"].get(k, "-") for k in keys)


def _all_numbers(values: list[str]) -> bool:
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def _natural(value: str) -> tuple:
    """Folds 0..10 in number order, words in letter order."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))


def _plot_title(runs: list[dict[str, Any]], keys: list[str], repeats: list[str]) -> str:
    if not keys:
        return f"{len(runs)} runs, one per {' and '.join(repeats)}"
    per_value: dict[tuple, int] = {}
    for r in runs:
        setting = tuple(r["overrides"].get(k) for k in keys)
        per_value[setting] = per_value.get(setting, 0) + 1
    counts = sorted(set(per_value.values()))
    if counts == [1]:
        return f"{len(runs)} runs, one per setting"
    over = " and ".join(repeats) or "repeats"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"mean ± std over {n} runs per setting ({over})"


class SweepSummary(Callback):
    """Prints the sweep table when a multirun ends."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Optuna sets its own logger to INFO when its sweeper starts, past Hydra's config:
        # its banner of a new in-memory study is nothing a user acts on
        if "optuna" in str(config.hydra.sweeper.get("_target_", "")):
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            print("\n" + write_report(sweep_dir) + f"(also in {sweep_dir / REPORT_FILE})")
            failed = failed_runs(sweep_dir)
            if failed:  # the sweep's exit status says so too
                print(f"{len(failed)} run(s) failed: {', '.join(r.name for r in failed)}")
                sys.exit(1)
