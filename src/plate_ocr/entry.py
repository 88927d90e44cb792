"""What ``train.py`` and ``evaluate.py`` do around their work, so both behave alike.

A user error (bad folder, file or setting) is one line on stderr and exit status 2; a bug
keeps its traceback. Inside a Hydra multirun a failed job does not stop the sweep: it is
logged, marked with a ``FAILED`` file in its folder, and the sweep goes on, so the summary
at the end shows the runs that finished and names the ones that failed. An output folder
that cannot be made is said in one line too (``OutputFolderCheck``, a Hydra callback).
"""

from __future__ import annotations

import logging
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from plate_ocr.errors import user_error
from plate_ocr.run_folder import FAILED_FILE, METRICS_FILE, REPORT_JSON


def run_entry(work: Callable[[DictConfig], float | None], cfg: DictConfig, name: str):
    log = logging.getLogger(name)
    if _in_multirun():  # a job rerun in a reused sweep folder: an earlier failure is not its own
        (Path(HydraConfig.get().runtime.output_dir) / FAILED_FILE).unlink(missing_ok=True)
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


# what a finished or started run leaves in its folder: another run there would overwrite it
RUN_MARKERS = (METRICS_FILE, REPORT_JSON, "checkpoints", "tensorboard", "csv")


class OutputFolderCheck(Callback):
    """Hydra creates the run folder before any project code runs, and an unwritable one
    ends in its traceback; this says it in one line (exit 2) before anything starts. A
    folder that already holds a run is refused too (a run resumed in place excepted): a
    second run there would overwrite its checkpoints and results and mix its logs."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        _check_folder("hydra.run.dir", config.hydra.run.dir, config.get("ckpt_path"))

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check_folder("hydra.sweep.dir", config.hydra.sweep.dir, None)


def _check_folder(key: str, folder: str, resumed: str | None) -> None:
    path = Path(folder)
    held = [name for name in RUN_MARKERS if (path / name).exists()]
    if not held and path.is_dir() and any(path.glob("*/" + METRICS_FILE)):
        held = [f"runs with {METRICS_FILE}"]  # a sweep's job folders
    # train's ckpt_path resumes a run (one path); evaluate's may list an ensemble, never resumed
    in_place = isinstance(resumed, str) and Path(resumed).resolve().is_relative_to(path.resolve())
    if held and not in_place:
        _refuse(f"{key}={folder} already holds a run ({', '.join(held)}): choose a new folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _refuse(
            f"{key}={folder}: cannot create the output folder ({error.strerror or error}); "
            "choose a writable one"
        )


def _refuse(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)
