"""Real accuracy of an ensemble: trainings that held out the same fold, read together as one
``PlateReader``, against each of them alone.

    python benchmarks/ensemble.py --tag sft160-deepbf --tag gpu-sft160-deep

On each fold, every run recorded under the tags in ``accuracy_runs.jsonl`` that held that
fold out (other seeds, or other settings) is a member: none of them trained on the fold's
plates, so reading them together stays a read of unseen plates. A fold with fewer than two
members on disk is skipped. The fold's validation crops are read in the four ways of
``benchmarks/reading.py``, by each member alone and by all of them at once, and one record
per fold goes to ``ensemble_runs.jsonl``; a fold already read with the same members is not
read again. The table pairs each fold's ensemble with the mean of its members alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from accuracy import RUNS_FILE, _commit  # noqa: E402  (sibling scripts)
from reading import OPTIONS, _jsonl, parse_arguments  # noqa: E402

ENSEMBLES_FILE = "ensemble_runs.jsonl"


def read_fold(fold: int, members: list[dict], real_dir: Path) -> dict:
    """One record: the fold's held-out plates read by each member alone and by all of them."""
    import torch

    from plate_ocr.data.folder import PlateFolder
    from plate_ocr.data.real_split import RealSplit
    from plate_ocr.reader import PlateReader

    torch.set_num_threads(1)
    crops = PlateFolder(RealSplit(str(real_dir), fold).splits()["validation"])
    checkpoints = [Path(m["run_dir"]) / "checkpoints" / "last.ckpt" for m in members]

    def share(reader: PlateReader) -> float:
        readings = reader(crops.images)
        return sum(r.text == t for r, t in zip(readings, crops.labels, strict=True)) / len(
            crops.labels
        )

    alone = {name: [share(PlateReader(c, device="cpu", **o)) for c in checkpoints]
             for name, o in OPTIONS.items()}  # fmt: skip
    together = {name: share(PlateReader(checkpoints, device="cpu", **o))
                for name, o in OPTIONS.items()}  # fmt: skip
    record = {"tags": sorted({m["tag"] for m in members}), "fold": fold}
    return record | {
        "members": [{key: m[key] for key in ("tag", "extra", "run_dir")} for m in members],
        "plates": len(crops.labels),
        "commit": _commit(),
        "alone": alone,
        "ensemble": together,
    }


def table(records: list[dict]) -> str:
    """Per option: the members alone and the ensemble, mean ± std over folds, and the
    ensemble's gain over its members' mean, paired by fold."""
    from plate_ocr.markdown import table as markdown_table
    from plate_ocr.sweep import mean_std

    rows = []
    for name in OPTIONS:
        alone = [sum(r["alone"][name]) / len(r["alone"][name]) for r in records]
        together = [r["ensemble"][name] for r in records]
        gains = [t - a for t, a in zip(together, alone, strict=True)]
        rows.append(
            [name, len(records), mean_std(alone), mean_std(together),
             f"{sum(gains) / len(gains):+.4f}", f"{sum(g > 0 for g in gains)}/{len(gains)}"]
        )  # fmt: skip
    header = ["reading", "folds", "members alone", "ensemble", "gain", "folds better"]
    return "\n".join(markdown_table(header, rows)) + "\n"


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0])
    runs = [
        r
        for r in _jsonl(args.results / RUNS_FILE)
        if r["tag"] in args.tag
        and "invalid" not in r
        and (Path(r["run_dir"]) / "checkpoints" / "last.ckpt").is_file()
    ]
    done = _jsonl(args.results / ENSEMBLES_FILE)
    read = {(r["fold"], tuple(m["run_dir"] for m in r["members"])) for r in done}
    wanted, new = set(), []
    for fold in sorted({r["fold"] for r in runs}):
        members = sorted((r for r in runs if r["fold"] == fold), key=lambda r: r["run_dir"])
        key = (fold, tuple(m["run_dir"] for m in members))
        if len(members) < 2:
            print(f"fold {fold}: {len(members)} run on disk, no ensemble")
            continue
        wanted.add(key)
        if key not in read:
            new.append(read_fold(fold, members, args.real_dir))
            print(f"fold {fold}, {len(members)} members: {new[-1]['ensemble']}", flush=True)
    with (args.results / ENSEMBLES_FILE).open("a") as out:
        out.writelines(json.dumps(r) + "\n" for r in new)
    records = [
        r for r in done + new if (r["fold"], tuple(m["run_dir"] for m in r["members"])) in wanted
    ]
    print(f"{len(new)} folds read, {len(records) - len(new)} read before")
    print(table(records))


if __name__ == "__main__":
    main()
