"""A resumed run is composed as it was: ``python train.py ckpt_path=RUN/checkpoints/last.ckpt``
takes the run's own command-line settings (real folder, fold, shares, budget, seed) from
``RUN/.hydra/overrides.yaml``, and the settings given now win key by key."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

# a new run folder, and the resumed checkpoint as given now
_NOT_CARRIED = ("ckpt_path", "hydra.")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def with_saved_overrides(arguments: list[str]) -> list[str]:
    """``arguments`` (train.py's, less the program) with the resumed run's saved overrides
    first; unchanged for a fresh run, a multirun or a checkpoint with no run folder."""
    if "-m" in arguments or "--multirun" in arguments:
        return arguments
    given = [a.split("=", 1)[1] for a in arguments if a.startswith("ckpt_path=")]
    if not given or not given[-1] or given[-1] == "null":
        return arguments
    saved_file = Path(given[-1]).parent.parent / ".hydra" / "overrides.yaml"
    try:
        saved = yaml.safe_load(saved_file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return arguments  # no run folder beside it (a copied checkpoint): today's settings
    if not isinstance(saved, list):
        return arguments
    now = {_key(a) for a in arguments if "=" in a and not a.startswith("-")}
    carried = [
        o
        for o in saved
        if isinstance(o, str)
        and "=" in o
        and _key(o) not in now
        and not _key(o).startswith(_NOT_CARRIED)
    ]
    if carried:
        print(f"resuming with the run's own settings: {' '.join(carried)}", file=sys.stderr)
    return carried + arguments
