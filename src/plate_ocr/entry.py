"""What ``train.py`` and ``evaluate.py`` do around their work, so both behave alike.

A user error (bad folder, file or setting) is one line on stderr and exit status 2; a bug
keeps its traceback. Inside a Hydra multirun a failed job does not stop the sweep: it is
logged, marked with a ``FAILED`` file in its folder, and the sweep goes on, so the summary
at the end shows the runs that finished and names the ones that failed.
"""

from __future__ import annotations

import logging
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from plate_ocr.errors import user_error

FAILED_FILE = "FAILED"  # in a multirun job's folder: why the job failed


def run_entry(work: Callable[[DictConfig], float | None], cfg: DictConfig, name: str):
    log = logging.getLogger(name)
    try:
        return work(cfg)
    except Exception as error:
        cause = user_error(error)
        if _in_multirun():
            reason = str(cause) if cause is not None else traceback.format_exc()
            log.error("job failed: %s", reason)
            folder = Path(HydraConfig.get().runtime.output_dir)
            (folder / FAILED_FILE).write_text(reason.rstrip() + "\n")
            return math.nan
        if cause is None:
            raise  # a bug: the traceback is wanted
        log.error("%s", cause)
        sys.exit(2)


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
