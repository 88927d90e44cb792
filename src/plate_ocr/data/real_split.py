"""Which real crops train, validate and test: one ``RealSplit`` that training, the
checkpoint's record of it and evaluation all use, so that they can never disagree.

Validation means plates the model never trained on: the folder's train and validation crops
are pooled and regrouped by plate number into ``folds`` plate-disjoint folds, ``fold``
validates and the others train. The test split is left as the folder has it.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from dataclasses import dataclass

from plate_ocr.data.folder import SPLITS, Sample, find_splits
from plate_ocr.errors import UserError

log = logging.getLogger(__name__)


def plate_key(label: str) -> str:
    """The plate a label names, for grouping: a label that lost its leading zero (as some
    published labels did) is still the same plate, so leading zeros do not count."""
    return label.lstrip("0")


def fold_of(label: str, folds: int) -> int:
    """The cross-validation fold of a plate: a hash of its digits, not a shuffle, so a crop's
    fold does not depend on the listing order, the seed or what else is in the folder."""
    return zlib.crc32(plate_key(label).encode()) % folds


@dataclass(frozen=True)
class RealSplit:
    """A real folder and how it splits. The fields are the user's ``data.real_*`` keys.

    ``fold=None`` keeps the folder's own ``validation_split``, less any plate that train also
    holds. ``seed`` only matters for a flat folder, which is split by plate with it. Labels
    are as ``label_fixes`` corrects them: a corrected label decides its crop's fold.
    """

    folder: str
    fold: int | None = 0
    folds: int = 5
    validation_split: str = "validation"
    test_split: str = "test"
    seed: int = 0
    skip_bad: bool = False
    label_fixes: str | None = None  # a corrections file; None: ROOT/label_fixes.csv if any

    # the fields that decide which plates train, under the config keys a user would pass
    RECORD_KEYS = {
        "fold": "real_fold",
        "folds": "real_folds",
        "validation_split": "real_val_split",
        "seed": "seed",
        "label_fixes": "label_fixes",
    }

    def __post_init__(self):
        if self.fold is not None and (self.folds < 2 or not 0 <= self.fold < self.folds):
            raise UserError(
                f"data.real_fold={self.fold} with data.real_folds={self.folds}: "
                "use 2 or more folds and a fold from 0 to real_folds - 1"
            )

    def record(self) -> dict:
        """What decides the plates trained on, as saved in a checkpoint."""
        return {key: getattr(self, field) for field, key in self.RECORD_KEYS.items()}

    def with_record(self, record: dict) -> RealSplit:
        """This folder split as a checkpoint recorded it (keys it lacks stay as they are)."""
        changes = {f: record[k] for f, k in self.RECORD_KEYS.items() if k in record}
        return dataclasses.replace(self, **changes)

    def differences(self, record: dict) -> list[str]:
        """``data.KEY=VALUE`` for each recorded setting that differs from this split's."""
        here = self.record()
        return [f"data.{k}={record[k]}" for k in here if k in record and record[k] != here[k]]

    def splits(self) -> dict[str, list[Sample]]:
        """``{"train": [(path, label), ...], "validation": [...], "test": [...]}``, validation
        plates never in train."""
        splits = find_splits(
            self.folder,
            self.seed,
            skip_bad=self.skip_bad,
            config_key="data.real_dir",
            label_fixes=self.label_fixes,
        )
        if self.fold is not None:
            pooled = splits["train"] + splits["validation"]
            return {
                "train": sorted(s for s in pooled if fold_of(s[1], self.folds) != self.fold),
                "validation": sorted(s for s in pooled if fold_of(s[1], self.folds) == self.fold),
                "test": splits["test"],
            }
        if self.validation_split not in SPLITS:
            raise UserError(
                f"data.real_val_split={self.validation_split}: use one of {', '.join(SPLITS)}"
            )
        trained = {plate_key(label) for _, label in splits["train"]}
        validation = splits[self.validation_split]
        unseen = [s for s in validation if plate_key(s[1]) not in trained]
        if len(unseen) < len(validation):
            log.warning(
                "%d of %d %s crops show plates that train also holds: validating on the other %d",
                len(validation) - len(unseen),
                len(validation),
                self.validation_split,
                len(unseen),
            )
            validation = unseen
        return splits | {"validation": validation}

    def describe(self) -> str:
        return (
            "the folder's own split"
            if self.fold is None
            else f"fold {self.fold} of {self.folds}, plate-disjoint"
        )
