"""How each training epoch is composed: how many real crops, how many synthetic plates.

The sampler, not the dataset, decides an epoch's composition: it runs in the main process,
so Lightning's ``set_epoch`` reaches it even with persistent workers and after a resume,
and the ratio schedule is followed exactly. Each key it yields also carries the epoch and
position, from which the dataset seeds that sample's augmentation: every sample's stream is
fixed by (seed, epoch, position) whatever worker draws it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
from torch.utils.data import Sampler

from plate_ocr.errors import UserError


class SampleKey(NamedTuple):
    source: str  # "real", "recombined" or "synthetic"
    index: int  # index into that source
    epoch: int
    position: int  # place in the epoch


def _check_ratio(ratio: float, key: str) -> float:
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise UserError(f"{key}={ratio} is not a fraction: set it between 0 and 1")
    return value


class RatioSchedule:
    """``real_ratio`` by epoch: ``synthetic_epochs`` of synthetic plates only, then ``ratio``
    (the reader learns plates first, then your crops); or steps ``[[epoch, ratio], ...]``.

    Each step holds from its epoch until the next; epochs before the first step use
    ``ratio``. Steps set every epoch's ratio, so they come with ``synthetic_epochs=0``.
    """

    def __init__(
        self,
        ratio: float,
        steps: Sequence[Sequence[float]] | None = None,
        synthetic_epochs: int = 0,
        key: str = "data.real_ratio",
    ):
        self.ratio = _check_ratio(ratio, key)
        if not isinstance(synthetic_epochs, int) or synthetic_epochs < 0:
            raise UserError(
                f"data.synthetic_epochs={synthetic_epochs}: use a whole number of epochs, 0 or more"
            )
        if steps and synthetic_epochs:
            raise UserError(
                f"{key}_schedule sets the ratio of every epoch: pass "
                "data.synthetic_epochs=0 with it (or drop the schedule)"
            )
        parsed = []
        for step in steps or ():
            if len(step) != 2 or int(step[0]) < 0:
                raise UserError(
                    f"{key}_schedule entry {list(step)} is not [epoch, ratio]: "
                    "write e.g. [[0, 0.05], [10, 0.2], [50, 0.5]]"
                )
            parsed.append((int(step[0]), _check_ratio(step[1], f"{key}_schedule")))
        if synthetic_epochs:
            parsed = [(0, 0.0), (synthetic_epochs, self.ratio)]
        self.steps = sorted(parsed)

    def at(self, epoch: int) -> float:
        ratio = self.ratio
        for start, step_ratio in self.steps:
            if epoch >= start:
                ratio = step_ratio
        return ratio

    @property
    def uses_real(self) -> bool:
        return self.ratio > 0 or any(r > 0 for _, r in self.steps)


def _cycled(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """``count`` indices into ``size`` items: whole shuffled passes, then part of one more."""
    passes = -(-count // size) if count else 0
    return np.concatenate([rng.permutation(size) for _ in range(passes)] or [[]])[:count]


class MixedEpochSampler(Sampler[SampleKey]):
    """Yields one epoch of ``epoch_size`` keys, ``round(ratio * epoch_size)`` of them real,
    as many recombined (by ``recombined``'s ratio; only where there are real crops) and the
    rest synthetic.

    A finite source (the real crops, a rendered synthetic folder) is drawn without
    replacement until used up, then again, so a small set repeats evenly. On-the-fly
    synthetic plates (``synthetic_size=None``) and recombined ones are fresh every epoch.

    Under DDP each process takes every ``world_size``-th key of the same epoch, so the ranks
    share one composition (Lightning's own sampler wrapper would not forward ``set_epoch``).
    """

    def __init__(
        self,
        epoch_size: int,
        schedule: RatioSchedule,
        real_size: int,
        seed: int = 0,
        synthetic_size: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        recombined: RatioSchedule | None = None,
    ):
        if epoch_size < 1:
            raise UserError(f"data.epoch_size={epoch_size}: an epoch needs at least one sample")
        self.epoch_size = epoch_size
        self.schedule = schedule
        self.real_size = real_size
        self.synthetic_size = synthetic_size
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.recombined = recombined
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(range(self.rank, self.epoch_size, self.world_size))

    def real_count(self, epoch: int) -> int:
        return round(self.schedule.at(epoch) * self.epoch_size) if self.real_size else 0

    def recombined_count(self, epoch: int) -> int:
        if self.recombined is None or not self.real_size:
            return 0
        return round(self.recombined.at(epoch) * self.epoch_size)

    def __iter__(self) -> Iterator[SampleKey]:
        epoch, size = self.epoch, self.epoch_size
        rng = np.random.default_rng([self.seed, epoch])
        n_real, n_recombined = self.real_count(epoch), self.recombined_count(epoch)
        if n_real + n_recombined > size:
            raise UserError(
                f"epoch {epoch}: data.real_ratio and data.recombined_ratio add up to more than "
                "the whole epoch; lower one of them"
            )
        # a source per position, shuffled: 1 real, 2 recombined, 0 synthetic
        source_of = np.zeros(size, dtype=np.int8)
        source_of[:n_real] = 1
        source_of[n_real : n_real + n_recombined] = 2
        rng.shuffle(source_of)
        real = iter(_cycled(rng, self.real_size, n_real).tolist())
        n_synthetic = size - n_real - n_recombined
        if self.synthetic_size is None:
            synthetic = iter(range(epoch * size, (epoch + 1) * size))
        else:
            synthetic = iter(_cycled(rng, self.synthetic_size, n_synthetic).tolist())
        names = ("synthetic", "real", "recombined")
        for position, kind in enumerate(source_of.tolist()):
            if kind == 1:
                index = next(real)
            elif kind == 2:
                index = epoch * size + position  # endless: fresh every epoch
            else:
                index = next(synthetic)
            if position % self.world_size == self.rank:
                yield SampleKey(names[kind], index, epoch, position)
