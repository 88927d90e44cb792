"""Score a trained model on every source it is given and write the report.

``evaluate.py`` is the Hydra entry; this is the work. The data come from the training
config's PlateDataModule, built for the checkpoint's input size, so the synthetic test set
is the one training tested on and a flat real folder splits the way it did in training.
Images go through ``PlateReader``, the same path ``plate-ocr predict`` uses.

``report.json`` holds, per source: ``n``, ``seq_acc``, ``char_acc``, ``cer``,
``edit_distance``, accuracy by plate length and by digit position, the digit confusion
counts, the worst errors, and how far its confidence can be trusted (``trust``: the share of
plates accepted at 0.5 % and 1 % error, the risk-coverage curve and the calibration);
``report.md`` shows the same as tables, with a gallery of the worst errors and a plot of
the risk-coverage curve and reliability per source.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import Dataset
from tqdm import tqdm

from plate_ocr.atomic import replacing, write_text
from plate_ocr.confidence import trust_summary
from plate_ocr.config_check import EVALUATE_SCHEMA, check_config
from plate_ocr.data.datamodule import REAL_DIR_KEY, TRAINED_PLATES_KEY
from plate_ocr.data.folder import SPLITS, PlateFolder
from plate_ocr.data.model_input import resize
from plate_ocr.data.real_split import plate_key
from plate_ocr.errors import UserError, require_bool
from plate_ocr.gallery import annotated_grid
from plate_ocr.markdown import table
from plate_ocr.model.checkpoint import REAL_SPLIT_KEY, load_checkpoint
from plate_ocr.model.metrics import GAP, PlateMetrics, align
from plate_ocr.plates import ALPHABET, MAX_LENGTH
from plate_ocr.reader import PlateReader
from plate_ocr.run_folder import REPORT_JSON, output_folder

log = logging.getLogger(__name__)

REPORT_MD = "report.md"
REAL_SPLITS = (*SPLITS, "all")
WORST_ERRORS = 20
CONFUSION_LABELS = [*ALPHABET, GAP]


@dataclass
class SourceScore:
    """One source's readings, accumulated into every number the report shows."""

    metrics: PlateMetrics = field(default_factory=PlateMetrics)
    by_length: dict[int, PlateMetrics] = field(default_factory=dict)
    # length -> [plates, digit i correct] per position from the left
    positions: dict[int, np.ndarray] = field(default_factory=dict)
    confusion: np.ndarray = field(
        default_factory=lambda: np.zeros((len(CONFUSION_LABELS),) * 2, np.int64)
    )
    errors: list[dict] = field(default_factory=list)
    # each reading's trust (its calibrated probability, else its confidence) and rightness
    trust: list[float] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)

    def add(
        self, index: int, truth: str, reading: str, confidence: float, trust: float | None = None
    ) -> None:
        self.trust.append(confidence if trust is None else trust)
        self.right.append(reading == truth)
        self.metrics.update([reading], [truth])
        self.by_length.setdefault(len(truth), PlateMetrics()).update([reading], [truth])
        position = self.positions.setdefault(len(truth), np.zeros(len(truth) + 1, np.int64))
        position[0] += 1
        pairs = align(truth, reading)
        # each truth digit's pair, in order: the reading's extra digits belong to no position
        matched = [t == r for t, r in pairs if t != GAP]
        position[1:] += matched
        for t, r in pairs:
            self.confusion[CONFUSION_LABELS.index(t), CONFUSION_LABELS.index(r)] += 1
        if reading != truth:
            edits = sum(t != r for t, r in pairs)
            self.errors.append(
                {
                    "index": index,
                    "truth": truth,
                    "reading": reading,
                    "edits": edits,
                    "confidence": round(confidence, 4),
                }
            )

    def worst(self, k: int = WORST_ERRORS) -> list[dict]:
        """Most edits first; among equals the most confident, the most misleading."""
        return sorted(self.errors, key=lambda e: (-e["edits"], -e["confidence"]))[:k]

    def summary(self, calibrated: bool = False) -> dict:
        row = {"n": int(self.metrics.plates)}
        row |= {name: round(float(v), 6) for name, v in self.metrics.compute().items()}
        row["by_length"] = {
            str(length): {"n": int(m.plates)}
            | {name: round(float(m.compute()[name]), 6) for name in ("seq_acc", "char_acc", "cer")}
            for length, m in sorted(self.by_length.items())
        }
        row["by_position"] = {
            str(length): [round(float(c / counts[0]), 6) for c in counts[1:]]
            for length, counts in sorted(self.positions.items())
        }
        row["confusion"] = {"labels": CONFUSION_LABELS, "counts": self.confusion.tolist()}
        if self.trust:
            row["trust"] = trust_summary(self.trust, self.right, calibrated)
        return row


@dataclass
class Source:
    name: str
    split: str
    dataset: Dataset
    files: list[str] | None = None  # the file of each sample, for real crops


def build_sources(
    data: DictConfig, image_size, channels: int, trained_split: dict | None = None
) -> list[Source]:
    """The real crops of ``data.real_split`` and the synthetic test set, for this input size.

    Both come from the training data module built from ``data``, so a real folder splits as
    it did in training. ``trained_split`` (the checkpoint's record of its ``RealSplit``)
    overrides the config's fold and seed, so validation is the plates that run never
    trained on; a folder without test crops is scored on that held-out fold instead.
    """
    settings = OmegaConf.to_container(data, resolve=True)
    real_split = settings.pop("real_split", "test")
    if real_split not in REAL_SPLITS:
        raise UserError(f"data.real_split={real_split}: use one of {', '.join(REAL_SPLITS)}")
    # evaluation trains nothing: no share, no validation set, the checkpoint's input
    settings |= {
        "real_ratio": 0.0,
        "recombined_ratio": 0.0,
        "image_size": list(image_size),
        "channels": channels,
        "synthetic_val_size": 0,
        "num_workers": 0,
    }
    sources = []
    split = hydra.utils.instantiate(settings).real_split
    if split is not None:
        if trained_split:
            changed = split.differences(trained_split)
            if changed:
                log.warning(
                    "using the checkpoint's real split (%s), not the config's", " ".join(changed)
                )
            split = split.with_record(trained_split)
        splits = split.splits()
        held_out = trained_split is not None and split.fold is not None
        if real_split == "test" and not splits["test"] and held_out:
            log.warning(
                "%s has no test crops: scoring the plates this checkpoint held out (fold %d "
                "of %d), which it never trained on",
                split.folder,
                split.fold,
                split.folds,
            )
            real_split = "validation"
        chosen = SPLITS if real_split == "all" else (real_split,)
        samples = [sample for name in chosen for sample in splits[name]]
        if not samples:
            present = [name for name in SPLITS if splits[name]]
            raise UserError(
                f"data.real_dir={split.folder} has no {real_split} crops: pass "
                f"data.real_split={'|'.join(present)} or all (every crop)"
            )
        real = PlateFolder(samples, split.skip_bad)
        shown = real_split
        if real_split == "validation" and split.fold is not None:
            shown = f"validation (fold {split.fold} of {split.folds})"
        sources.append(Source("real", shown, real, [str(path) for path in real.paths]))
    if settings.get("synthetic_dir") or settings["synthetic_test_size"] > 0:
        # the data module renders (or reads) the same synthetic test set training used
        datamodule = hydra.utils.instantiate(settings, real_dir=None)
        datamodule.setup("test")
        synthetic = datamodule.eval_sources["test"]["synthetic"]
        if len(synthetic):
            sources.append(Source("synthetic", "test", synthetic))
    if not sources:
        raise UserError("nothing to score: set data.real_dir or data.synthetic_test_size > 0")
    return sources


def score(reader: PlateReader, source: Source, batch_size: int) -> SourceScore:
    result = SourceScore()
    for start in tqdm(
        range(0, len(source.dataset), batch_size),
        desc=f"scoring {source.name}",
        unit="batch",
        leave=False,
    ):
        items = [
            source.dataset[i] for i in range(start, min(start + batch_size, len(source.dataset)))
        ]
        readings = reader.read([image for image, _ in items])
        for offset, ((_, truth), reading) in enumerate(zip(items, readings, strict=True)):
            result.add(start + offset, truth, reading.text, reading.confidence, reading.probability)
    return result


def evaluate(cfg: DictConfig) -> dict:
    """Score ``cfg.ckpt_path`` (one model, or a list read as an ensemble) on each source,
    write the reports in ``cfg.paths.output_dir``."""
    check_config(cfg, EVALUATE_SCHEMA)
    output_dir = output_folder(cfg.paths.output_dir)
    listed = OmegaConf.is_list(cfg.ckpt_path)
    paths = [str(path) for path in cfg.ckpt_path] if listed else [str(cfg.ckpt_path)]
    constrained = require_bool("constrained_decoding", cfg.constrained_decoding)
    vote = require_bool("framing_vote", cfg.framing_vote)
    reader = PlateReader(PlateReader.distinct(paths), constrained=constrained, vote=vote)
    report = {
        "checkpoint": paths[0] if len(paths) == 1 else paths,
        "engine": reader.engine,
        "decoding": "constrained" if constrained else "greedy",
        "framing_vote": vote,
        "image_size": list(reader.image_size),
        "channels": reader.in_channels,
        "sources": {},
    }
    galleries = {}
    trained_split, trained_plates = _trained_split(paths)
    sources = build_sources(cfg.data, reader.image_size, reader.in_channels, trained_split)
    for source in sources:
        log.info("scoring %s (%s split): %d crops", source.name, source.split, len(source.dataset))
        result = score(reader, source, int(cfg.data.batch_size))
        row = {"split": source.split} | result.summary(reader.calibrator is not None)
        if trained_plates and source.name == "real":
            row["crops_of_trained_plates"] = _seen(source, trained_plates)
        row["worst_errors"] = result.worst()
        for error in row["worst_errors"]:
            if source.files:
                error["file"] = source.files[error["index"]]
        report["sources"][source.name] = row
        if row["worst_errors"]:
            galleries[source.name] = _gallery(reader, source, row["worst_errors"], output_dir)
        if "trust" in row:
            _trust_plot(source.name, row["trust"], output_dir)
    write_text(output_dir / REPORT_JSON, json.dumps(report, indent=2))
    write_text(output_dir / REPORT_MD, markdown(report, galleries))
    print(f"\n{summary_table(report)}\nreport: {output_dir / REPORT_MD}")
    return report


def _trained_split(paths: list[str]) -> tuple[dict | None, set[str]]:
    """The real split the checkpoints trained on (None when none recorded one) and every
    plate any of them trained on. An ensemble's checkpoints must share one split, or its
    validation crops would include plates some of them trained on. Folds are drawn by plate
    number, so the seed splits nothing there: seeds of one fold make an ensemble."""
    splits, plates = {}, set()
    for path in paths:
        if Path(path).suffix.lower() != ".onnx":  # .ckpt, .CKPT, .pth, .pt: torch's files
            split = dict(load_checkpoint(path).get(REAL_SPLIT_KEY) or {})
            plates |= set(split.pop(TRAINED_PLATES_KEY, ()))
            split.pop(REAL_DIR_KEY, None)  # the same crops may lie elsewhere now
            if split:  # none: trained on no real crop
                splits[path] = split
    deciding = {
        json.dumps(
            {k: v for k, v in split.items() if k != "seed" or split.get("real_fold") is None},
            sort_keys=True,
        )
        for split in splits.values()
    }
    if len(deciding) > 1:
        shown = "; ".join(f"{path}: {split}" for path, split in splits.items())
        raise UserError(
            f"ckpt_path: the checkpoints trained on different real splits ({shown}); "
            "ensemble runs of one data.real_fold"
        )
    return next(iter(splits.values()), None), plates


def _seen(source: Source, trained_plates: set[str]) -> int:
    """How many scored crops show a plate the model trained on; said loudly outside train."""
    labels = [source.dataset[i][1] for i in range(len(source.dataset))]
    seen = sum(plate_key(label) in trained_plates for label in labels)
    if seen and "train" not in source.split and source.split != "all":
        log.warning(
            "%d of %d real %s crops are of plates the model trained on: this number flatters it",
            seen,
            len(labels),
            source.split,
        )
    return seen


def _gallery(reader: PlateReader, source: Source, errors: list[dict], output_dir: Path) -> str:
    images = np.stack([resize(source.dataset[e["index"]][0], reader.image_size) for e in errors])
    grid = annotated_grid(images, [e["truth"] for e in errors], [e["reading"] for e in errors])
    name = f"errors_{source.name}.png"
    ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    if ok:
        with replacing(output_dir / name) as temporary:
            data.tofile(temporary)
    return name


def _trust_plot(name: str, trust: dict, output_dir: Path) -> str:
    """Risk against coverage (readings accepted surest first) and the reliability diagram."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "plate-ocr"})
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
    coverage, error = zip(*trust["risk_coverage"], strict=True)
    left.plot(coverage, error, marker=".")
    for level, style in ((0.005, ":"), (0.01, "--")):
        left.axhline(level, color="grey", linestyle=style, label=f"{level:.1%} error")
    left.set_xlabel("share of plates accepted, surest first")
    left.set_ylabel("error among the accepted")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    probability, share, counts = zip(*trust["reliability"], strict=True)
    right.plot([0, 1], [0, 1], color="grey", linestyle=":", label="right as often as said")
    right.scatter(
        probability,
        share,
        s=[8 + 60 * n / max(counts) for n in counts],
        label="readings, by confidence (size: how many)",
    )
    right.set_xlabel(f"{trust['confidence']} confidence")
    right.set_ylabel("share read right")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    figure.suptitle(f"{name}: which readings to trust", fontsize=10)
    figure.tight_layout()
    file = f"trust_{name}.svg"
    with replacing(output_dir / file) as temporary:
        figure.savefig(temporary, format="svg", metadata={"Date": None})
    plt.close(figure)
    return file


def _models(checkpoint: str | list[str]) -> str:
    if isinstance(checkpoint, str):
        return f"`{checkpoint}`"
    return f"an ensemble of {len(checkpoint)}: " + ", ".join(f"`{path}`" for path in checkpoint)


def summary_table(report: dict) -> str:
    keys = ("seq_acc", "char_acc", "cer")
    rows = [
        [name, row["split"], row["n"], *(f"{row[k]:.4f}" for k in keys)]
        for name, row in report["sources"].items()
    ]
    return "\n".join(table(["source", "split", "n", *keys], rows))


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [*table(header, rows), ""]


def markdown(report: dict, galleries: dict[str, str]) -> str:
    lines = [
        f"# Evaluation of {_models(report['checkpoint'])}",
        "",
        f"{report['engine']}, {report['decoding']} decoding"
        f"{', a vote of three framings' if report.get('framing_vote') else ''}, input "
        f"{report['image_size'][0]}x{report['image_size'][1]}, {report['channels']} channel(s).",
        "",
        summary_table(report),
        "",
    ]
    for name, row in report["sources"].items():
        lines += [f"## {name} ({row['split']} split)", "", "### By plate length", ""]
        lines += _table(
            ["digits", "n", "seq_acc", "char_acc", "cer"],
            [
                [length, v["n"], f"{v['seq_acc']:.3f}", f"{v['char_acc']:.3f}", f"{v['cer']:.3f}"]
                for length, v in row["by_length"].items()
            ],
        )
        lines += ["### By position (digit correct, counted from the left)", ""]
        lines += _table(
            ["digits", *(str(i) for i in range(1, MAX_LENGTH + 1))],
            [
                [length, *(f"{a:.2f}" for a in accs), *[""] * (MAX_LENGTH - len(accs))]
                for length, accs in row["by_position"].items()
            ],
        )
        labels, counts = row["confusion"]["labels"], row["confusion"]["counts"]
        lines += [f"### Digit confusion (rows: truth, columns: reading, {GAP}: none)", ""]
        lines += _table(["", *labels], [[t, *c] for t, c in zip(labels, counts, strict=True)])
        if "trust" in row:
            trust = row["trust"]
            lines += ["### Which readings to trust", ""]
            lines += [
                f"By the {trust['confidence']} confidence"
                + ("" if trust["confidence"] == "calibrated" else " (the model has no "
                   "calibrator: `plate-ocr calibrate`)")
                + ", the share of plates a threshold accepts with at most 0.5 % or 1 % of them "
                "wrong (chosen on these crops), the mean error over every share (AURC, lower is "
                "better) and the expected calibration error (ECE)."
                + (" These are the run's own validation crops, which its calibrator was "
                   "fitted on: they flatter it." if trust["confidence"] == "calibrated"
                   and row["split"].startswith("validation") else ""),
                "",
            ]  # fmt: skip
            lines += _table(
                ["accepted at ≤ 0.5 % error", "at ≤ 1 % error", "AURC", "ECE"],
                [[f"{trust['coverage_at_0.5%_error']:.3f}", f"{trust['coverage_at_1%_error']:.3f}",
                  f"{trust['aurc']:.4f}", f"{trust['ece']:.3f}"]],
            )  # fmt: skip
            lines += [f"![risk-coverage and reliability](trust_{name}.svg)", ""]
        errors = row["worst_errors"]
        lines += [f"### Worst errors ({len(errors)} shown)", ""]
        if not errors:
            lines += ["No errors.", ""]
            continue
        lines += [f"![worst errors]({galleries[name]})", ""]
        lines += _table(
            ["#", "truth", "reading", "edits", "confidence", "file"],
            [
                [
                    e["index"],
                    e["truth"],
                    e["reading"] or GAP,
                    e["edits"],
                    f"{e['confidence']:.3f}",
                    e.get("file", ""),
                ]
                for e in errors
            ],
        )
    return "\n".join(lines)
