"""A folder of real plate crops: found, checked, split by plate, and held in memory.

A folder is either ``ROOT/{train,validation,test}/`` or flat (images directly in ROOT); a flat
folder is split here, by plate number, so that one plate never lands in two splits. Every
label is checked before training starts: a bad file stops the run with its path and the
reason, unless ``skip_bad`` turns that into one counted warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plate_ocr.data.images import read_rgb
from plate_ocr.data.labels import (
    DROP,
    LABEL_FIXES_CSV,
    LABELS_CSV,
    is_image,
    is_unread_image,
    label_from_filename,
    read_label_fixes,
    read_labels_csv,
)
from plate_ocr.errors import UserError
from plate_ocr.plates import plate_problem

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
# skip_bad drops a few bad files; past this share of a folder it stops: the folder is wrong
MAX_BAD_FRACTION = 0.1
Sample = tuple[Path, str]


@dataclass(frozen=True)
class Problem:
    """One bad input: the file (or folder) and why, as a user should read it."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class LabelFix:
    """A label corrected (or a crop dropped) by a person's corrections file."""

    path: Path
    label: str  # as the folder labels it
    text: str  # the corrected label, or DROP
    fixes_file: Path
    line: int


@dataclass(frozen=True)
class ScannedFolder:
    root: Path
    layout: str  # "split folders" or "flat"
    splits: dict[str, list[Sample]]  # the good samples, every split key present
    problems: list[Problem]
    fixes: list[LabelFix] = field(default_factory=list)  # the corrections applied


def _labelled(path: Path, label: str, source: str) -> Sample | Problem:
    problem = plate_problem(label)
    if problem is None:
        return path, label
    return Problem(path, f"{problem} (from {source})")


def _entries(directory: Path) -> tuple[list[Path], list[Problem]]:
    """The entries of ``directory`` that can be looked at, and a problem for each that
    cannot (its status refused: a permission, a dead mount), named rather than a traceback."""
    try:
        listed = sorted(directory.iterdir())
    except OSError as error:
        raise UserError(
            f"{directory}: cannot list the folder ({error.strerror or error}); check its "
            "permissions"
        ) from error
    entries, problems = [], []
    for path in listed:
        try:
            path.stat()
            entries.append(path)
        except OSError as error:
            problems.append(Problem(path, f"cannot be read ({error.strerror or error})"))
    return entries, problems


def _holds_images(directory: Path) -> bool:
    try:
        return any(p.is_file() and is_image(p) for p in directory.rglob("*"))
    except OSError:  # a sub-folder that cannot be looked into holds none we could read
        return False


def _read_directory(directory: Path) -> tuple[list[Sample], list[Problem]]:
    """The labelled images directly inside ``directory``, and what is wrong with the rest:
    images in sub-folders and of types it cannot decode are named, not skipped in silence."""
    entries, unreadable = _entries(directory)
    images = [p for p in entries if p.is_file() and is_image(p)]
    found: list[Sample | Problem] = [*unreadable] + [
        Problem(p, f"not read: {p.suffix} images are not decoded; convert it to .png")
        for p in entries
        if p.is_file() and is_unread_image(p)
    ]
    found += [
        Problem(p, "a folder of images that are not read: put crops directly in the folder")
        for p in entries
        if p.is_dir() and _holds_images(p)
    ]
    csv_path = directory / LABELS_CSV
    if not csv_path.is_file():
        if not images:
            return [], [*found, Problem(directory, "folder has no plate crop images")]
        found += [_labelled(p, label_from_filename(p), "the file name") for p in images]
    else:
        rows = read_labels_csv(csv_path)
        lines_of: dict[Path, tuple[int, str]] = {}  # a file, however spelt: its first row
        twice: set[Path] = set()  # files with two rows: which label is right is a guess
        for filename, (line, label) in rows.items():
            path = directory / filename
            where = f"{LABELS_CSV} line {line}"
            first = lines_of.setdefault(path.resolve(), (line, filename))
            if not path.resolve().is_relative_to(directory.resolve()):  # ../x, /etc/x, a link out
                found.append(
                    Problem(
                        path, f"named in {where} but outside {directory}: list only its own files"
                    )
                )
            elif first[0] != line:
                twice.add(path.resolve())
                found.append(
                    Problem(
                        path,
                        f"listed twice in {LABELS_CSV}, as {first[1]!r} on line {first[0]} and "
                        f"as {filename!r} on line {line}: keep one row",
                    )
                )
            elif not path.is_file():
                found.append(Problem(path, f"named in {where} but the file does not exist"))
            elif not is_image(path):
                found.append(Problem(path, f"named in {where}: not an image this tool reads"))
            else:
                found.append(_labelled(path, label, where))
        found += [
            Problem(p, f"not listed in {csv_path}: add a row or move the file out")
            for p in images
            if p.resolve() not in lines_of
        ]
        if not rows and not images:
            found.append(Problem(csv_path, "no rows and no images beside it"))
    twice = {
        p.path.resolve() for p in found if isinstance(p, Problem) and "listed twice" in p.reason
    }
    samples = sorted(
        item for item in found if not isinstance(item, Problem) and item[0].resolve() not in twice
    )
    problems = [item for item in found if isinstance(item, Problem)]
    return samples, problems


def _check_fractions(fractions) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or min(values) < 0 or abs(sum(values) - 1) > 1e-6:
        raise UserError(
            f"split fractions {list(fractions)} must be 3 non-negative numbers "
            "(train, validation, test) that sum to 1"
        )
    return values


def split_by_plate(
    samples: list[Sample], seed: int = 0, fractions=(0.8, 0.1, 0.1)
) -> dict[str, list[Sample]]:
    """Split crops into train/validation/test so that all crops of a plate share a split.

    Plates are shuffled (seeded, independent of listing order) and dealt out until each split
    holds its fraction of the *crops*, so duplicates do not skew the proportions much.
    """
    train_fraction, validation_fraction, _ = _check_fractions(fractions)
    by_plate: dict[str, list[Sample]] = {}
    for sample in samples:
        by_plate.setdefault(sample[1], []).append(sample)
    plates = sorted(by_plate)
    order = np.random.default_rng(seed).permutation(len(plates))
    bounds = (train_fraction * len(samples), (train_fraction + validation_fraction) * len(samples))
    splits: dict[str, list[Sample]] = {name: [] for name in SPLITS}
    dealt = 0
    for index in order:
        group = by_plate[plates[index]]
        name = "train" if dealt < bounds[0] else "validation" if dealt < bounds[1] else "test"
        splits[name] += group
        dealt += len(group)
    return {name: sorted(split) for name, split in splits.items()}


def _fixes_file(root: Path, label_fixes: str | Path | None) -> Path | None:
    """The corrections file: the one named, else ``ROOT/label_fixes.csv`` when there is one."""
    if label_fixes is not None:
        path = Path(label_fixes)
        if not path.is_file():
            raise UserError(f"data.label_fixes={path}: no such file; write file,text rows")
        return path
    default = root / LABEL_FIXES_CSV
    return default if default.is_file() else None


def _apply_fixes(
    root: Path, splits: dict[str, list[Sample]], fixes_path: Path
) -> tuple[list[LabelFix], list[Problem]]:
    """Correct or drop the samples a corrections file names (paths relative to ``root``, or
    absolute), in place; a row naming no labelled crop, or an invalid label, is a problem."""
    rows = read_label_fixes(fixes_path)
    wanted, problems = {}, []
    for name, (line, text) in rows.items():
        path = (root / name).resolve()
        if path in wanted:  # two spellings of one file (a.jpg, ./a.jpg): neither may win
            earlier = wanted[path][0]
            problems.append(
                Problem(path, f"named on lines {earlier} and {line} of {fixes_path}: keep one")
            )
        wanted[path] = (line, text)
    twice = {problem.path for problem in problems}
    wanted = {path: row for path, row in wanted.items() if path not in twice}
    applied, used = [], set(twice)
    for name, samples in splits.items():
        kept = []
        for path, label in samples:
            line, text = wanted.get(path.resolve(), (None, None))
            if text is None:
                kept.append((path, label))
                continue
            used.add(path.resolve())
            problem = None if text == DROP else plate_problem(text)
            if problem:
                problems.append(Problem(path, f"{problem} (from {fixes_path} line {line})"))
                continue
            applied.append(LabelFix(path, label, text, fixes_path, line))
            if text != DROP:
                kept.append((path, text))
        splits[name] = sorted(kept)
    problems += [
        Problem(path, f"named in {fixes_path} line {line} but not a labelled crop of {root}")
        for path, (line, _) in wanted.items()
        if path not in used
    ]
    return applied, problems


def scan_folder(
    root: str | Path,
    seed: int = 0,
    fractions=(0.8, 0.1, 0.1),
    label_fixes: str | Path | None = None,
) -> ScannedFolder:
    """Every split's good samples and every problem found, without decoding any image.
    A corrections file (``label_fixes``, else ``ROOT/label_fixes.csv``) is applied first, so
    a corrected label decides which split and fold its crop belongs to."""
    root = Path(root)
    if not root.is_dir():
        reason = "is not a folder" if root.exists() else "does not exist"
        raise UserError(f"data folder {root} {reason}")
    fixes_path = _fixes_file(root, label_fixes)
    split_dirs = {name: root / name for name in SPLITS if (root / name).is_dir()}
    fixes: list[LabelFix] = []
    if not split_dirs:
        samples, problems = _read_directory(root)
        if fixes_path:
            found = {"all": samples}
            fixes, more = _apply_fixes(root, found, fixes_path)
            samples, problems = found["all"], problems + more
        splits = split_by_plate(samples, seed, fractions) if samples else {s: [] for s in SPLITS}
        layout = "flat"
    else:
        splits, problems = {name: [] for name in SPLITS}, []
        for name, directory in split_dirs.items():
            splits[name], found = _read_directory(directory)
            problems += found
        entries, unreadable = _entries(root)
        problems += unreadable
        stray = [
            p
            for p in entries
            if (p.is_file() and (is_image(p) or is_unread_image(p) or p.name == LABELS_CSV))
            or (p.is_dir() and p.name not in SPLITS and _holds_images(p))
        ]
        problems += [
            Problem(
                p,
                f"ignored: beside the split folders, not one of them; move it into (or rename "
                f"it to) one of {'/, '.join(SPLITS)}/",
            )
            for p in stray
        ]
        if fixes_path:
            fixes, more = _apply_fixes(root, splits, fixes_path)
            problems += more
        layout = "split folders"
    if fixes and not any(splits.values()):  # inspect said "none", then training refused
        problems.append(
            Problem(fixes[0].fixes_file, "its fixes drop every crop: nothing is left to train on")
        )
    return ScannedFolder(root, layout, splits, problems, fixes)


def find_splits(
    root: str | Path,
    seed: int = 0,
    fractions=(0.8, 0.1, 0.1),
    skip_bad: bool = False,
    config_key: str | None = None,
    label_fixes: str | Path | None = None,
) -> dict[str, list[Sample]]:
    """``{"train": [(path, label), ...], "validation": [...], "test": [...]}`` for a folder.

    A split absent on disk is an empty list. Bad input raises a UserError naming the first bad
    file and how many more there are; with ``skip_bad`` the bad files are dropped with one
    warning. ``config_key`` names the setting to fix when the folder does not exist. The
    corrections applied (see ``scan_folder``) are logged.
    """
    root = Path(root)
    if not root.is_dir():
        reason = "is not a folder" if root.exists() else "does not exist"
        fix = f"set {config_key} to" if config_key else "give the path of"
        raise UserError(f"data folder {root} {reason}: {fix} a folder of plate crops")
    scanned = scan_folder(root, seed, fractions, label_fixes)
    if scanned.fixes:
        dropped = sum(fix.text == DROP for fix in scanned.fixes)
        log.info(
            "label fixes from %s: %d corrected, %d dropped",
            scanned.fixes[0].fixes_file,
            len(scanned.fixes) - dropped,
            dropped,
        )
    advice = f"`plate-ocr inspect {root}` lists every problem"
    if scanned.problems:
        count = len(scanned.problems)
        summary = f"{scanned.problems[0]}" + (f" (and {count - 1} more)" if count > 1 else "")
        if not skip_bad:
            raise UserError(f"{summary}; {advice}, skip_bad drops the bad files")
        total = count + sum(len(samples) for samples in scanned.splits.values())
        if count > MAX_BAD_FRACTION * total:
            raise UserError(
                f"{count} of {total} inputs in {root} are bad, more than skip_bad drops "
                f"({MAX_BAD_FRACTION:.0%}): {summary}; {advice}"
            )
        log.warning("skipping %d bad input(s) in %s: %s; %s", count, root, summary, advice)
    if not any(scanned.splits.values()):
        raise UserError(f"data folder {root} has no usable images; {advice}")
    return scanned.splits


class PlateFolder:
    """A source of plates (a map-style dataset, torch-free so a reader starts fast). Real
    crops decoded once up front: a few thousand small images fit in memory easily,
    and decoding once is far cheaper than decoding every epoch. Items are (H, W, 3) uint8 RGB
    at native size, with the label."""

    def __init__(self, samples: list[Sample], skip_bad: bool = False):
        self.images: list[np.ndarray] = []
        self.labels: list[str] = []
        self.paths: list[Path] = []  # the file of each kept sample
        bad: list[str] = []
        for path, label in samples:
            try:
                self.images.append(read_rgb(path))
            except UserError as error:
                if not skip_bad:
                    raise
                bad.append(str(error))
                continue
            self.labels.append(label)
            self.paths.append(path)
        if bad:
            log.warning("skipping %d unreadable image(s): %s", len(bad), bad[0])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        return self.images[i], self.labels[i]
