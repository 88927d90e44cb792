"""Every setting a training reads, checked for type and range in one place before any work:
a wrong type once surfaced as a traceback deep in the run, or ran truncated (a fold of 1.5),
or failed after a whole epoch (a typo in ``optimized_metric``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from omegaconf import DictConfig, OmegaConf

from plate_ocr.errors import UserError

Rule = tuple[Callable[[object], bool], str]  # (accepts the value, what to give instead)


def _whole(low: int, high: int | None = None) -> Rule:
    def accepts(v) -> bool:
        whole = isinstance(v, int) and not isinstance(v, bool)
        return whole and low <= v and (high is None or v <= high)

    limit = f"{low} or more" if high is None else f"from {low} to {high:,}"
    return accepts, f"use a whole number, {limit}"


def _share(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1


def _optional(rule: Rule) -> Rule:
    accepts, fix = rule
    return (lambda v: v is None or accepts(v)), f"{fix}, or null"


def _steps(v) -> bool:
    """A schedule: [[epoch, share], ...]."""
    return v is None or (
        isinstance(v, list)
        and all(
            isinstance(s, list) and len(s) == 2 and _whole(0)[0](s[0]) and _share(s[1]) for s in v
        )
    )


def _rate(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < math.inf


PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64")
METRIC = re.compile(r"(val|test)/((real|synthetic)/)?(seq_acc|char_acc|cer)|val/sim_to_real_gap")

# key: rule; a key a config does not hold (a model without an optimizer's lr) is not checked
TRAIN_SCHEMA: dict[str, Rule] = {
    "seed": _whole(0, 2**32 - 1),
    "trainer.max_epochs": (
        _whole(1)[0],
        "give a number of epochs, 1 or more (the learning-rate schedule is sized to the run, "
        "so it needs an end)",
    ),
    "trainer.precision": (
        lambda v: str(v) in PRECISIONS,
        f"use one of {', '.join(PRECISIONS)}",
    ),
    "data.real_ratio": _optional((_share, "set it between 0 and 1 (a share of each epoch)")),
    "data.recombined_ratio": _optional((_share, "set it between 0 and 1 (a share of each epoch)")),
    "data.real_ratio_schedule": (_steps, "write [[epoch, share], ...], e.g. [[0,0.1],[4,0.5]]"),
    "data.recombined_ratio_schedule": (_steps, "write [[epoch, share], ...], or null"),
    "data.synthetic_epochs": _whole(0),
    "data.real_fold": _optional(_whole(0)),
    "data.real_folds": _whole(2),
    "data.image_size": (
        lambda v: isinstance(v, list) and len(v) == 2 and all(_whole(1)[0](s) for s in v),
        "use [height, width] in whole pixels, e.g. [32,160]",
    ),
    "data.channels": (lambda v: v in (1, 3) and not isinstance(v, bool), "use 1 (grey) or 3"),
    "data.batch_size": _whole(1),
    "data.epoch_size": _whole(1),
    "data.num_workers": _whole(0),
    "data.synthetic_val_size": _whole(0),
    "data.synthetic_test_size": _whole(0),
    "model.optimizer.lr": (_rate, "give a learning rate above 0, e.g. 0.002"),
    "optimized_metric": (
        lambda v: isinstance(v, str) and METRIC.fullmatch(v) is not None,
        "name a logged metric, e.g. val/seq_acc or val/real/seq_acc",
    ),
}


# what evaluate.py reads of the same keys
EVALUATE_SCHEMA = {
    key: TRAIN_SCHEMA[key]
    for key in (
        "seed",
        "data.real_fold",
        "data.real_folds",
        "data.batch_size",
        "data.synthetic_test_size",
    )
}


def check_config(cfg: DictConfig, schema: dict[str, Rule] = TRAIN_SCHEMA) -> None:
    """Refuse the first setting the schema does not accept, naming the key and the fix."""
    for key, (accepts, fix) in schema.items():
        if OmegaConf.select(cfg, key, default="<absent>") == "<absent>":
            continue
        value = OmegaConf.select(cfg, key)
        plain = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        if not accepts(plain):
            raise UserError(f"{key}={_shown(plain)}: {fix}")


def _shown(value) -> str:
    """A value as it was typed on the command line: [a,b], not ['a', 'b']."""
    if isinstance(value, list):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return str(value)
