"""How well a reader says which readings to trust, on the held-out plates of runs that
``benchmarks/accuracy.py`` trained (or of a model trained on no real crop, ``--model``, on
every fold): the network's own confidence against a calibrated one.

    python benchmarks/confidence.py --tag default-now
    python benchmarks/confidence.py --tag pretrained --model pretrained

For each run and reading option, on the fold's held-out crops:

- the **raw** confidence (the reading's own probability): the share of plates a threshold
  accepts at <= 0.5 % and <= 1 % error among them (chosen in hindsight on these readings, so
  what the confidence's order allows), the area under the risk-coverage curve, and the
  expected calibration error;
- the **calibrated** probability (``plate_ocr.confidence.Calibrator``), never fitted on the
  crops it scores: the fold's plates are split in two halves by plate number, a calibrator
  fitted on one half scores the other, then the halves swap. Beside the same measures, what a
  user gets from ``max_error``: the share accepted and the error among them when each
  reading is accepted on its own calibrated probability.

One record per run goes to ``confidence_runs.jsonl``; a run already measured is not read
again. The table gives means over the runs.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from accuracy import RUNS_FILE, _commit  # noqa: E402  (a sibling script)
from reading import OPTIONS, _jsonl, fixes_trained_with, held_out, parse_arguments  # noqa: E402

CONFIDENCE_FILE = "confidence_runs.jsonl"
ERRORS = (0.005, 0.01)  # error rates among accepted readings a user might ask for


def _half(label: str) -> int:
    """A plate's half of its fold, by its number: every crop of a plate on one side."""
    return zlib.crc32(label.encode()) % 2


def measures(confidence, right) -> dict:
    from plate_ocr.confidence import area_under_risk_coverage, calibration_error, coverage_at

    return {f"coverage@{e:g}": round(coverage_at(confidence, right, e), 4) for e in ERRORS} | {
        "aurc": round(area_under_risk_coverage(confidence, right), 5),
        "ece": round(calibration_error(confidence, right), 4),
    }


def split_half(readings, labels) -> tuple[list[float], dict[float, list[bool]]]:
    """Each reading's calibrated probability from a calibrator fitted on the other half, and
    whether that calibrator's threshold for each of ERRORS accepts it."""
    from plate_ocr.confidence import Calibrator

    right = [r.text == label for r, label in zip(readings, labels, strict=True)]
    halves = [_half(label) for label in labels]
    probability = [0.0] * len(readings)
    taken = {e: [False] * len(readings) for e in ERRORS}
    for side in (0, 1):
        fit = [i for i, h in enumerate(halves) if h != side]
        calibrator = Calibrator.fit([readings[i] for i in fit], [right[i] for i in fit])
        scored = [i for i, h in enumerate(halves) if h == side]
        for i, p in zip(scored, calibrator([readings[i] for i in scored]), strict=True):
            probability[i] = float(p)
            for e in ERRORS:
                taken[e][i] = p >= calibrator.threshold(e)
    return probability, taken


def measure_run(model, crops) -> dict:
    """Per option: accuracy, and the raw and calibrated measures."""
    from plate_ocr.reader import PlateReader

    out = {}
    for name, options in OPTIONS.items():
        readings = PlateReader(model, device="cpu", **options)(crops.images)
        right = [r.text == label for r, label in zip(readings, crops.labels, strict=True)]
        probability, taken = split_half(readings, crops.labels)
        rule = {}
        for e in ERRORS:
            kept = [ok for ok, take in zip(right, taken[e], strict=True) if take]
            rule[f"accepted@{e:g}"] = round(len(kept) / len(right), 4)
            rule[f"error@{e:g}"] = round(1 - sum(kept) / len(kept), 4) if kept else 0.0
        out[name] = {
            "seq_acc": round(sum(right) / len(right), 4),
            "raw": measures([r.confidence for r in readings], right),
            "calibrated": measures(probability, right) | rule,
        }
    return out


def table(records: list[dict]) -> str:
    from plate_ocr.markdown import table as markdown_table
    from plate_ocr.sweep import mean_std

    rows = []
    for tag in dict.fromkeys(r["tag"] for r in records):
        runs = [r for r in records if r["tag"] == tag]
        for name in OPTIONS:
            for kind in ("raw", "calibrated"):
                values = [r["options"][name][kind] for r in runs]
                cells = [mean_std([v[k] for v in values]) for k in values[0]]
                rows.append([tag, name, kind, len(runs), *cells])
    keys = list(records[0]["options"]["greedy"]["calibrated"]) if records else []
    header = ["tag", "reading", "confidence", "runs", *keys]
    return "\n".join(markdown_table(header, [r + [""] * (len(header) - len(r)) for r in rows]))


def main() -> None:
    import torch

    from plate_ocr.pretrained import resolve_model

    torch.set_num_threads(1)
    args = parse_arguments(__doc__.splitlines()[0])
    done = _jsonl(args.results / CONFIDENCE_FILE)
    measured = {(r["run_dir"], r["fold"]) for r in done}
    if args.model:
        runs = [
            {"tag": args.tag[0], "fold": fold, "extra": [], "run_dir": str(args.model)}
            for fold in range(args.folds)
        ]
    else:
        runs = [r for r in _jsonl(args.results / RUNS_FILE) if r["tag"] in args.tag]
    new = []
    for run in runs:
        model = resolve_model(args.model) if args.model else None
        model = model or Path(run["run_dir"]) / "checkpoints" / "last.ckpt"
        if (run["run_dir"], run["fold"]) in measured or not Path(model).is_file():
            continue
        crops = held_out(args.real_dir, run["fold"], None, fixes_trained_with(run))
        record = {key: run[key] for key in ("tag", "fold", "extra", "run_dir")} | {
            "plates": len(crops.labels),
            "commit": _commit(),
            "options": measure_run(model, crops),
        }
        new.append(record)
        with (args.results / CONFIDENCE_FILE).open("a") as out:
            out.write(json.dumps(record) + "\n")
        print(f"{run['tag']} fold {run['fold']}: done", flush=True)
    wanted = {(r["run_dir"], r["fold"]) for r in runs}
    print(table([r for r in done + new if (r["run_dir"], r["fold"]) in wanted]))


if __name__ == "__main__":
    main()
