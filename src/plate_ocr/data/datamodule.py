"""PlateDataModule: synthetic and real plates, mixed at ``real_ratio`` for training.

Training draws each epoch from both sources (see ``mixing``), each through its own
augmentation; validation and test keep one loader per source, resize only, so every metric
is reported per source: real accuracy is the number that matters.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
from collections.abc import Mapping, Sequence

import albumentations as A
import numpy as np
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset

from plate_ocr.data.augment import build_augmentation
from plate_ocr.data.digit_places import placed_digits
from plate_ocr.data.folder import PlateFolder, find_splits
from plate_ocr.data.mixing import MixedEpochSampler, RatioSchedule, SampleKey
from plate_ocr.data.model_input import model_pixels, to_batch, to_channels
from plate_ocr.data.real_split import RealSplit, plate_key
from plate_ocr.data.recombine import RecombinedPlates
from plate_ocr.errors import UserError, require_bool
from plate_ocr.synth import DEFAULT_FACTORS, Factors, SyntheticPlates

log = logging.getLogger(__name__)

Item = tuple[np.ndarray, str, str]  # image (H, W, C) uint8, label, source
# Synthetic validation and test plates come from their own seeds, apart from training's.
_VALIDATION_SEED_OFFSET, _TEST_SEED_OFFSET = 1_000_003, 2_000_003
_RECOMBINED_SEED_OFFSET = 3_000_003
TRAINED_PLATES_KEY = "trained_plates"  # in the checkpoint's data state: plates trained on
REAL_DIR_KEY = "real_dir"  # there too: the folder, named in a refusal (folders move, so unchecked)
_ENDLESS = 2**62  # on-the-fly synthetic plates: index by epoch and position, never run out
# once real crops join, most of each epoch is theirs (as they are, or recombined): synthetic
# plates taught the digits
DEFAULT_REAL_SHARE = 0.8
DEFAULT_RECOMBINED_RATIO = 0.4


def model_input(image: np.ndarray, pipeline: A.Compose, channels: int) -> np.ndarray:
    """A crop as the network receives it: through ``pipeline`` (which ends at the input
    size), then to ``channels``; ``collate_plates`` scales the batch."""
    return to_channels(pipeline(image=image)["image"], channels)


class MixedPlates(Dataset):
    """Training samples addressed by ``SampleKey``; augmentation seeded per key."""

    def __init__(
        self,
        sources: Mapping[str, Dataset],
        pipelines: Mapping[str, A.Compose],
        channels: int,
        seed: int,
    ):
        self.sources, self.pipelines = dict(sources), dict(pipelines)
        self.channels, self.seed = channels, seed

    def __len__(self) -> int:
        return sum(len(source) for source in self.sources.values())

    def __getitem__(self, key: SampleKey) -> Item:
        image, label = self.sources[key.source][key.index]
        pipeline = self.pipelines[key.source]
        rng = np.random.default_rng([self.seed, key.epoch, key.position])
        pipeline.set_random_state(rng, random.Random(int(rng.integers(2**63))))
        return model_input(image, pipeline, self.channels), label, key.source


class SourcePlates(Dataset):
    """One source's validation or test samples, as a reader sees them (``model_pixels``)."""

    def __init__(self, source: str, dataset: Dataset, image_size: Sequence[int], channels: int):
        self.source, self.dataset = source, dataset
        self.image_size, self.channels = tuple(image_size), channels

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Item:
        image, label = self.dataset[index]
        return model_pixels(image, self.image_size, self.channels), label, self.source


def collate_plates(items: list[Item]) -> dict:
    return {
        "images": torch.from_numpy(to_batch([item[0] for item in items])),
        "labels": [item[1] for item in items],
        "sources": [item[2] for item in items],
    }


class _Rendered(Dataset):
    """A fixed synthetic set rendered once, so each validation costs no rendering."""

    def __init__(self, plates: SyntheticPlates):
        self.items = [plates[i] for i in range(len(plates))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        return self.items[index]


# Loader workers are forked on Linux, named so: inside a joblib (loky) sweep job the default
# start method is loky's own, whose processes the DataLoader cannot start.
_WORKER_START = "fork" if sys.platform.startswith("linux") else None


def _recombined(real: PlateFolder, seed: int) -> RecombinedPlates:
    """The real training crops recombined, their digits placed by the shipped reader (which
    trained on no real crop, so no other fold's plates reach these ones)."""
    cells = placed_digits(real.images, real.labels)
    plates = RecombinedPlates(real.images, real.labels, cells, seed + _RECOMBINED_SEED_OFFSET)
    log.info(
        "recombined plates: %d of %d training crops have digits placed well enough to feed it",
        len(plates.bases),
        len(real),
    )
    return plates


def _schedules(
    real_ratio: float,
    real_steps,
    recombined_ratio: float,
    recombined_steps,
    synthetic_epochs: int,
    has_real: bool,
) -> tuple[RatioSchedule, RatioSchedule]:
    """The real and recombined shares by epoch, checked: real crops asked for exist, and the
    two never add up to more than an epoch."""
    real = RatioSchedule(real_ratio, real_steps, synthetic_epochs)
    recombined = RatioSchedule(
        recombined_ratio, recombined_steps, synthetic_epochs, "data.recombined_ratio"
    )
    if real.uses_real and not has_real:
        asking = (
            f"data.real_ratio={real_ratio}"
            if real_ratio > 0
            else f"data.real_ratio_schedule={[list(step) for step in real.steps]}"
        )
        raise UserError(
            f"{asking} asks for real crops but no real folder is set: pass "
            "data.real_dir=PATH (a folder of labelled crops), or train on synthetic plates "
            "alone with data.real_ratio=0 data.real_ratio_schedule=null"
        )
    if recombined.uses_real and not has_real:
        raise UserError(
            "data.recombined_ratio recombines real crops but no real folder is set: pass "
            "data.real_dir=PATH, or data.recombined_ratio=0"
        )
    starts = sorted({0, *(start for each in (real, recombined) for start, _ in each.steps)})
    over = [epoch for epoch in starts if real.at(epoch) + recombined.at(epoch) > 1 + 1e-9]
    if over:
        raise UserError(
            f"data.real_ratio + data.recombined_ratio is over 1 from epoch {over[0]}: "
            "together they are a share of one epoch; lower one of them"
        )
    return real, recombined


def _leave(signum, frame) -> None:
    os._exit(0)  # a worker holds nothing to save: the main process keeps last.ckpt


def _quiet_worker(worker_id: int) -> None:
    """A loader worker leaves Ctrl-C to the main process, which stops the run in one line
    (each worker would print a traceback of its own), and leaves quietly on SIGTERM (sent to
    the whole group, or by the main process's shutdown, which waits for it: ignoring it
    hung the exit); then Lightning's worker seeding."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _leave)
    pl_worker_init_function(worker_id)


class PlateDataModule(pl.LightningDataModule):
    def __init__(
        self,
        real_dir: str | None = None,
        synthetic_dir: str | None = None,
        real_ratio: float | None = None,
        synthetic_epochs: int = 0,
        real_ratio_schedule: Sequence[Sequence[float]] | None = None,
        recombined_ratio: float | None = None,
        recombined_ratio_schedule: Sequence[Sequence[float]] | None = None,
        epoch_size: int = 10_000,
        image_size: Sequence[int] = (32, 160),
        channels: int = 1,
        augmentation: Mapping[str, str] | None = None,
        batch_size: int = 64,
        num_workers: int = 2,
        pin_memory: bool = True,
        persistent_workers: bool = True,
        synthetic_val_size: int = 1000,
        synthetic_test_size: int = 1000,
        real_fold: int | None = 0,
        real_folds: int = 5,
        real_val_split: str = "validation",
        real_test_split: str = "test",
        skip_bad: bool = False,
        label_fixes: str | None = None,
        seed: int = 0,
        synthetic_factors: Factors = DEFAULT_FACTORS,
    ):
        """``real_ratio``: the share of each epoch drawn from the real crops once they join,
        after ``synthetic_epochs`` of synthetic plates only; ``recombined_ratio``: the share
        of recombined real plates (``data.recombine``: the training crops' own digits in new
        plate numbers). None means the default: 0.4 recombined with a real folder, and real
        crops as they are to make 0.8 of the epoch with them; 0 without a folder. A
        ``real_ratio`` given (or its schedule) leaves recombining off unless it is asked for
        too. Each has a ``*_schedule`` to set it by epoch instead.

        The ``real_*`` keys, ``seed``, ``skip_bad`` and ``label_fixes`` (a corrections file)
        make the ``RealSplit``: ``real_fold`` validates on one fold of a plate-disjoint split
        of the real train and validation crops; ``None`` keeps the folder's
        ``real_val_split``, less the plates train holds.

        ``synthetic_factors`` skews the on-the-fly renderer (see ``plate_ocr.synth.Factors``).
        """
        super().__init__()
        if channels not in (1, 3):
            raise UserError(f"data.channels={channels}: use 1 (grayscale) or 3 (RGB)")
        for key, value in (
            ("skip_bad", skip_bad),
            ("pin_memory", pin_memory),
            ("persistent_workers", persistent_workers),
        ):
            require_bool(f"data.{key}", value)
        counts = (
            ("num_workers", num_workers),
            ("synthetic_val_size", synthetic_val_size),
            ("synthetic_test_size", synthetic_test_size),
        )
        for key, value in counts:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UserError(f"data.{key}={value}: use a whole number, 0 or more")
        for key, value in (("batch_size", batch_size), ("epoch_size", epoch_size)):
            if not isinstance(value, int) or value < 1:
                raise UserError(f"data.{key}={value}: use a whole number of at least 1")
        if len(image_size) != 2 or min(int(side) for side in image_size) < 1:
            raise UserError(
                f"data.image_size={list(image_size)}: use [height, width], e.g. [32, 160]"
            )
        if real_dir is not None and not str(real_dir).strip():
            raise UserError(
                "data.real_dir is empty (PLATE_OCR_REAL_DIR set to nothing?): name a folder of "
                "crops, or unset PLATE_OCR_REAL_DIR to train on synthetic plates alone"
            )
        # recombined by default, unless the shares are the user's
        self.recombined_by_default = bool(
            recombined_ratio is None and real_dir and real_ratio is None and not real_ratio_schedule
        )
        if recombined_ratio is None:
            recombined_ratio = DEFAULT_RECOMBINED_RATIO if self.recombined_by_default else 0.0
        self.synthetic_epochs = synthetic_epochs
        if real_ratio is None:  # the real crops' share, as they are, is what recombining leaves
            real_ratio = max(0.0, DEFAULT_REAL_SHARE - recombined_ratio) if real_dir else 0.0
        self.schedule, self.recombined_schedule = _schedules(
            real_ratio,
            real_ratio_schedule,
            recombined_ratio,
            recombined_ratio_schedule,
            synthetic_epochs,
            bool(real_dir),
        )
        self.real_split = (
            RealSplit(
                str(real_dir),
                real_fold,
                int(real_folds),
                real_val_split,
                real_test_split,
                seed,
                skip_bad,
                None if label_fixes is None else str(label_fixes),
            )
            if real_dir
            else None
        )
        self.synthetic_dir = synthetic_dir
        self.epoch_size = int(epoch_size)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.channels = channels
        self.augmentation = {"synthetic": "medium", "real": "medium", "recombined": "medium"}
        self.augmentation |= dict(augmentation or {})
        self.batch_size, self.num_workers = batch_size, num_workers
        self.pin_memory = pin_memory and torch.cuda.is_available()
        self.persistent_workers = persistent_workers and num_workers > 0
        self.synthetic_sizes = {"validation": synthetic_val_size, "test": synthetic_test_size}
        self.skip_bad, self.seed = skip_bad, seed
        self.synthetic_factors = synthetic_factors
        self.train_sources: dict[str, Dataset] = {}
        self.eval_sources: dict[str, dict[str, Dataset]] = {"validation": {}, "test": {}}

    def setup(self, stage: str | None = None) -> None:
        if self.train_sources:
            return  # sources are read once, whatever the stage
        self._setup_synthetic()
        if self.real_split is not None:
            self._setup_real()
        if stage == "test":  # an evaluation trains on nothing
            return
        for name, source in self.train_sources.items():
            if name == "synthetic" and not self._trains_synthetic():
                continue
            size = "rendered on the fly" if len(source) == _ENDLESS else f"{len(source)} crops"
            log.info("training source %s: %s", name, size)

    def _trains_synthetic(self) -> bool:
        """Whether any epoch leaves a share to synthetic plates. The schedules are steps, so
        the epochs where a step starts are every share there is."""
        schedules = [self.schedule, self.recombined_schedule]
        starts = {0, *(start for schedule in schedules for start, _ in schedule.steps)}
        return any(sum(schedule.at(epoch) for schedule in schedules) < 1 for epoch in starts)

    def _setup_synthetic(self) -> None:
        if self.synthetic_dir:
            splits = find_splits(
                self.synthetic_dir,
                self.seed,
                skip_bad=self.skip_bad,
                config_key="data.synthetic_dir",
            )
            self.train_sources["synthetic"] = PlateFolder(splits["train"], self.skip_bad)
            for split in ("validation", "test"):
                self.eval_sources[split]["synthetic"] = PlateFolder(splits[split], self.skip_bad)
            return
        factors = self.synthetic_factors
        self.train_sources["synthetic"] = SyntheticPlates(
            _ENDLESS, self.seed, self.image_size, factors=factors
        )
        offsets = {"validation": _VALIDATION_SEED_OFFSET, "test": _TEST_SEED_OFFSET}
        for split, offset in offsets.items():
            size = self.synthetic_sizes[split]
            plates = SyntheticPlates(size, self.seed + offset, self.image_size, factors=factors)
            self.eval_sources[split]["synthetic"] = _Rendered(plates)

    def _setup_real(self) -> None:
        split = self.real_split
        splits = split.splits()
        if self.schedule.uses_real and not splits["train"]:
            raise UserError(f"data.real_dir={split.folder} has no train/ crops to mix in")
        if split.test_split not in splits:
            raise UserError(
                f"data.real_test_split={split.test_split}: use one of {', '.join(splits)}"
            )
        chosen = {
            "train": splits["train"],
            "validation": splits["validation"],
            "test": splits[split.test_split],
        }
        log.info(
            "real crops (%s): train %d, validation %d, test %d",
            split.describe(),
            *(len(chosen[name]) for name in ("train", "validation", "test")),
        )
        real = self.train_sources["real"] = PlateFolder(chosen["train"], self.skip_bad)
        if self.recombined_schedule.uses_real:
            recombined = _recombined(real, self.seed)
            if recombined.bases:
                self.train_sources["recombined"] = recombined
            elif not self.recombined_by_default:
                raise UserError(
                    "data.recombined_ratio: no real training crop could be recombined (no "
                    "digit places fit their labels); set data.recombined_ratio=0"
                )
            else:  # the default share goes to the crops as they are
                log.warning("no real training crop could be recombined: training without")
                self.schedule = RatioSchedule(DEFAULT_REAL_SHARE, None, self.synthetic_epochs)
        for name in ("validation", "test"):
            if chosen[name]:
                self.eval_sources[name]["real"] = PlateFolder(chosen[name], self.skip_bad)
            elif name == "validation":
                log.warning(
                    "%s has no real validation crops: no real validation metrics", split.folder
                )
            else:  # most folders hold no test split: nothing to act on
                log.info("%s has no real test crops: no real test metrics", split.folder)

    def state_dict(self) -> dict:
        """The real split's record, and the plates trained on: a resumed run or an evaluation
        never validates on plates the model trained on, whatever the folder holds by then."""
        if self.real_split is None:
            return {}
        state = self.real_split.record() | {REAL_DIR_KEY: self.real_split.folder}
        real = self.train_sources.get("real")
        if real is not None and self.schedule.uses_real:
            state[TRAINED_PLATES_KEY] = sorted({plate_key(label) for label in real.labels})
        return state

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        if self.real_split is None:
            folder = state.get(REAL_DIR_KEY, "the folder it trained on")
            raise UserError(
                f"ckpt_path: the checkpoint trained on real crops; resume with "
                f"data.real_dir={folder}, or early stopping would follow synthetic plates alone"
            )
        changed = self.real_split.differences(state)
        if changed:
            raise UserError(
                f"the checkpoint trained on another real split: resume with {' '.join(changed)}, "
                "or its validation plates would include plates it trained on"
            )
        validation = self.eval_sources["validation"].get("real")
        seen = set(state.get(TRAINED_PLATES_KEY, ())) & {
            plate_key(label) for label in (validation.labels if validation else ())
        }
        if seen:
            raise UserError(
                f"data.real_dir={self.real_split.folder}: {len(seen)} of its validation plates "
                f"(e.g. {min(seen)}) are plates the checkpoint trained on; resume on the folder "
                "and fold it trained with, or start a new run (init_from=CHECKPOINT)"
            )

    def sampler(self) -> MixedEpochSampler:
        real_size = len(self.train_sources.get("real", ()))
        synthetic = self.train_sources["synthetic"]
        synthetic_size = None if isinstance(synthetic, SyntheticPlates) else len(synthetic)
        trainer = self.trainer
        rank, world_size = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        return MixedEpochSampler(
            self.epoch_size,
            self.schedule,
            real_size,
            self.seed,
            synthetic_size,
            rank,
            world_size,
            self.recombined_schedule if "recombined" in self.train_sources else None,
        )

    def _loader(self, dataset: Dataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
            collate_fn=collate_plates,
            worker_init_fn=_quiet_worker,
            multiprocessing_context=_WORKER_START if self.num_workers else None,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        pipelines = {
            source: build_augmentation(self.augmentation[source], self.image_size)
            for source in self.train_sources
        }
        mixed = MixedPlates(self.train_sources, pipelines, self.channels, self.seed)
        return self._loader(mixed, sampler=self.sampler())

    def _eval_loaders(self, split: str) -> list[DataLoader]:
        return [
            self._loader(SourcePlates(source, dataset, self.image_size, self.channels))
            for source, dataset in sorted(self.eval_sources[split].items())
        ]

    def val_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders("validation")

    def test_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders("test")
