"""The README's headline: each recipe's real accuracy on unseen plates, from the records.

    python benchmarks/headline.py [--plot docs/headline.svg] [--write]

Every row is a set of tags (``tag@ratio``: one ratio of a sweep's tag) in
``benchmarks/results/reading_runs.jsonl`` (each run's held-out
fold read greedy, constrained, and both with the vote of three framings; see ``reading.py``),
or ``ensemble:TAG``, the folds of ``ensemble_runs.jsonl`` whose members are TAG's runs (one
value per fold; see ``ensemble.py``), and its minutes in ``accuracy_runs.jsonl``. ``--labels
lpa_label_fixes.csv`` scores the same crops against the corrected labels. Prints the markdown
table (mean ± sample std over every fold and seed) and draws the plot; trains nothing.
``--write`` puts the table into README.md and docs/results.md between their
``<!-- headline -->`` and ``<!-- /headline -->`` lines, so that neither can drift from the
records.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from accuracy import RESULTS, RUNS_FILE  # noqa: E402  (a sibling script)
from reading import PUBLISHED, READINGS_FILE, _setting  # noqa: E402

# (recipe, how to run it, budget, tags): the defaults first, then the baselines at their budget
ROWS = [
    ("**default**: the shipped reader fine-tuned, recombined plates", "`python train.py`",
     "6 × 10,000", ["default-rec"]),
    ("**accurate**: the default's two seeds read together", "`experiment=accurate`",
     "2 × 6 × 10,000", ["ensemble:default-rec"]),
    ("the same without recombined plates", "`data.real_ratio=0.8`", "6 × 10,000",
     ["finetune-b"]),
    ("from scratch, synthetic plates first", "`experiment=from_scratch`", "12 × 10,000",
     ["default", "sf-ft160"]),
    ("real crops only, from scratch", "`experiment=real_only`", "12 × 10,000", ["real160"]),
    ("real crops only, the default's samples", "`experiment=real_only trainer.max_epochs=6`",
     "6 × 10,000", ["real6b"]),
    ("real crops and their recombined plates", "`experiment=real_only data.real_ratio=0.5 "
     "data.recombined_ratio=0.5`", "12 × 10,000", ["realrec"]),
    ("zero-shot: the default with no real folder", "`python train.py` (no `data.real_dir`)",
     "6 × 10,000",
     ["zs-default"]),
    ("zero-shot from scratch", "`experiment=from_scratch data.real_ratio=0`", "12 × 10,000",
     ["zs160"]),
    ("**the shipped reader** (no real crop)", "`PlateReader.load()`", "25 × 24,000",
     ["pretrained"]),
]  # fmt: skip
# the design card's own commands, as it writes them (each fine-tunes the shipped reader, as
# the default does, with recombining off since a share is given), in a block of their own
CARD_ROWS = [
    ("the design card's **80/20**: 80 % synthetic, 20 % real", "`data.real_ratio=0.2`",
     "6 × 10,000", ["card-sweep@0.2"]),
    ("the card's ratio sweep: 10 % real", "`data.real_ratio=0.1`", "6 × 10,000",
     ["card-sweep@0.1"]),
    ("the card's ratio sweep: 30 % real", "`data.real_ratio=0.3`", "6 × 10,000",
     ["card-sweep@0.3"]),
    ("the card's large network, from scratch", "`data.real_ratio=0.3 model=crnn_large`",
     "12 × 10,000", ["card-large"]),
]  # fmt: skip
# which readings to trust: the runs of each tag in confidence_runs.jsonl (see confidence.py)
TRUST_ROWS = [
    ("**default**", "default-now"),
    ("**the shipped reader** (no real crop)", "pretrained"),
]
TRUST_READINGS = ("constrained", "constrained, vote")
READINGS = {"greedy": "greedy", "constrained": "constrained", "+ vote": "constrained, vote"}
MARKERS = ("<!-- headline -->", "<!-- /headline -->")
CARD_MARKERS = ("<!-- card -->", "<!-- /card -->")
TRUST_MARKERS = ("<!-- trust -->", "<!-- /trust -->")
PEERS_MARKERS = ("<!-- peers -->", "<!-- /peers -->")
DOCUMENTS = (REPO / "README.md", REPO / "docs" / "results.md")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def rows(results: Path, labels: str = PUBLISHED, spec: list | None = None) -> list[dict]:
    readings = [
        r
        for r in _jsonl(results / READINGS_FILE)
        if r.get("labels", PUBLISHED) == labels and "engine" not in r  # PyTorch's own readings
    ]
    minutes = {}
    for run in _jsonl(results / RUNS_FILE):
        if "minutes" in run and "scored_from" not in run:
            minutes.setdefault(run["tag"], []).append(run["minutes"])
            if "ratio" in run:  # a sweep's tag: its rows may name one ratio, tag@ratio
                minutes.setdefault(_setting(run), []).append(run["minutes"])
    ensembles = _jsonl(results / "ensemble_runs.jsonl") if labels == PUBLISHED else []
    table = []
    for recipe, command, budget, tags in ROWS if spec is None else spec:
        runs = [r for r in readings if r["tag"] in tags or _setting(r) in tags]
        together = [e for e in ensembles if [f"ensemble:{t}" for t in e["tags"]] == tags]
        runs += [{"fold": e["fold"], "seq_acc": e["ensemble"]} for e in together]
        members = len(together[0]["members"]) if together else 1  # runs a reading costs
        tags = [tag.removeprefix("ensemble:") for tag in tags]
        if not runs:
            continue
        folds = sorted({r["fold"] for r in runs})
        per_fold = len(runs) // len(folds)
        shape = f"{len(folds)} × {per_fold}" if per_fold * len(folds) == len(runs) else None
        if together:
            shape = f"{len(folds)} × {members} together"
        spent = [members * m for tag in tags for m in minutes.get(tag, [])]
        table.append(
            {
                "recipe": recipe,
                "command": command,
                "budget": budget,
                "runs": shape or f"{len(runs)} runs on {len(folds)}",
                "minutes": f"{statistics.median(spent):.0f}" if spent else "-",
                "values": {k: [r["seq_acc"][v] for r in runs] for k, v in READINGS.items()},
            }
        )
    return table


def markdown(table: list[dict]) -> str:
    header = ["recipe", "run it with", "samples", "folds × seeds", *READINGS, "minutes ¹"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table:
        cells = [row["recipe"], row["command"], row["budget"], row["runs"]]
        cells += [_spread(row["values"][k]) for k in READINGS] + [row["minutes"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def trust_markdown(results: Path) -> str:
    """Per recipe and reading: the share of held-out plates accepted at ``max_error`` 0.005
    and 0.01, and the error among them, calibrated on the other half of each fold's plates."""
    path = results / "confidence_runs.jsonl"
    records = _jsonl(path) if path.is_file() else []
    header = ["recipe", "reading", "folds × seeds", "accepted at 0.5 %", "wrong among them",
              "accepted at 1 %", "wrong among them"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for recipe, tag in TRUST_ROWS:
        runs = [r for r in records if r["tag"] == tag]
        if not runs:
            continue
        folds = len({r["fold"] for r in runs})
        for reading in TRUST_READINGS:
            cells = [recipe, reading, f"{folds} × {len(runs) // folds}"]
            for level in ("0.005", "0.01"):
                calibrated = [r["options"][reading]["calibrated"] for r in runs]
                cells.append(_spread([c[f"accepted@{level}"] for c in calibrated]))
                cells.append(_spread([c[f"error@{level}"] for c in calibrated]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


PEER_NAMES = {
    "plate-ocr": "**plate-ocr's shipped reader** (no real crop)",
    "rapidocr": "RapidOCR 3.10 (PP-OCRv6 small, recognition only)",
    "tesseract": "Tesseract 5 (`--psm 7`, digits only)",
}


def peers_markdown(results: Path) -> str:
    """The shipped reader beside general OCR engines, on the same held-out folds."""
    header = ["reader", "plates read exactly", "ms a crop ²"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    path = results / "peers_runs.jsonl"
    peers = _jsonl(path) if path.is_file() else []
    for engine, name in PEER_NAMES.items():
        runs = [r for r in peers if r["engine"] == engine]
        if runs:
            ms = statistics.median(r["ms_per_crop"] for r in runs)
            lines.append(f"| {name} | {_spread([r['seq_acc'] for r in runs])} | {ms:.0f} |")
    return "\n".join(lines) + "\n"


def write_between_markers(path: Path, text: str, markers: tuple[str, str] = MARKERS) -> None:
    """Replace what lies between ``markers`` in ``path`` with ``text`` (atomically)."""
    from plate_ocr.atomic import write_text

    document = path.read_text()
    start, end = (document.find(marker) for marker in markers)
    if start < 0 or end < start:
        sys.exit(f"{path}: no {markers[0]} ... {markers[1]} lines to write the table between")
    write_text(path, f"{document[: start + len(markers[0])]}\n{text}{document[end:]}")


def plot(table: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "plate-ocr"})
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axis = plt.subplots(figsize=(7.5, 0.5 * len(table) + 1.2))
    positions = np.arange(len(table))[::-1]  # the first row on top, as in the table
    height = 0.27
    for i, reading in enumerate(READINGS):
        values = [row["values"][reading] for row in table]
        means = [statistics.mean(v) for v in values]
        spreads = [statistics.stdev(v) if len(v) > 1 else 0 for v in values]
        axis.barh(
            positions - (i - 1) * height, means, height, xerr=spreads, capsize=2, label=reading
        )
    # horizontal bars: each recipe's name reads level, beside its bars
    axis.set_yticks(positions, [row["recipe"].replace("**", "") for row in table], fontsize=8)
    axis.set_xlim(0.7, 1.0)
    axis.set_xlabel("unseen real plates read exactly")
    axis.grid(axis="x", alpha=0.3)
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
    axis.set_title("LPA crops, 5 plate-disjoint folds; mean ± std over folds and seeds", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None}, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "headline.svg")
    parser.add_argument(
        "--write", action="store_true", help="write the table into README.md and docs/results.md"
    )
    parser.add_argument(
        "--labels",
        default=PUBLISHED,
        help="the readings scored against these labels: published, or a corrections file's name",
    )
    args = parser.parse_args()
    table = rows(args.results, args.labels)
    card = rows(args.results, args.labels, CARD_ROWS)
    trust, peers = trust_markdown(args.results), peers_markdown(args.results)
    print(markdown(table) + "\nThe design card's commands:\n\n" + markdown(card))
    print("Which readings to trust:\n\n" + trust + "\nHow it compares:\n\n" + peers)
    if args.write:
        for document in DOCUMENTS:
            write_between_markers(document, markdown(table))
            write_between_markers(document, markdown(card), CARD_MARKERS)
            write_between_markers(document, trust, TRUST_MARKERS)
            write_between_markers(document, peers, PEERS_MARKERS)
    plot(table, args.plot)
    print(f"(plot: {args.plot})")


if __name__ == "__main__":
    main()
