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
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from plate_ocr.atomic import claim_folder, release_folder
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
        _remove_claimed_folder()  # a refused run leaves nothing behind
        sys.exit(2)


def checked_arguments(arguments: list[str]) -> list[str]:
    """The command line, before Hydra parses it: an unquoted value with letters beyond
    ASCII (a folder named in Arabic) fails in Hydra's lexer with nothing saying what to do."""
    for argument in arguments:
        key, sep, value = argument.partition("=")
        if sep and not value.isascii() and value[:1] not in ("'", '"'):
            _refuse(
                f"{key}={value}: Hydra reads an unquoted value as ASCII only; quote it, as "
                f"'{key}=\"{value}\"'"
                + (f", or set PLATE_OCR_REAL_DIR={value}" if key == "data.real_dir" else "")
            )
    return arguments


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


# what a finished or started run leaves in its folder: another run there would overwrite it
RUN_MARKERS = (METRICS_FILE, REPORT_JSON, "checkpoints", "tensorboard", "csv")


class OutputFolderCheck(Callback):
    """Hydra creates the run folder before any project code runs, and an unwritable one
    ends in its traceback; this says it in one line (exit 2) before anything starts. The
    folder is claimed under a lock held for the run's life, so two runs started together
    into one folder cannot both pass. A folder that already holds a run is refused (a run
    resumed in place excepted): a second run there would overwrite its checkpoints and
    results and mix its logs."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        if os.environ.get("LOCAL_RANK", "0") != "0":
            return  # a DDP process Lightning started into its parent's folder, which holds it
        # only a training resumes in place; an evaluation there would overwrite its record
        resumed = config.get("ckpt_path") if config.hydra.job.name == "train" else None
        _claim_folder("hydra.run.dir", config.hydra.run.dir, resumed)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _claim_folder("hydra.sweep.dir", config.hydra.sweep.dir, None)


_claimed: dict[str, Any] = {}  # this process's run folder, and the outermost folder it made


def _claim_folder(key: str, folder: str, resumed: str | None) -> None:
    if "folder" in _claimed:  # this process's earlier run (runs in one process) has ended
        release_folder(_claimed["folder"])
    _claimed.clear()
    path = Path(folder).absolute()
    # the outermost folder this run makes (None: the folder was there): removed if refused
    created = next((p for p in [path, *path.parents] if p.parent.exists()), None)
    created = None if created is None or created.exists() else created
    try:
        path.mkdir(parents=True, exist_ok=True)
        claimed = claim_folder(path)
    except OSError as error:
        _refuse(
            f"{key}={folder}: cannot create the output folder ({error.strerror or error}); "
            "choose a writable one"
        )
    if not claimed:
        _refuse(f"{key}={folder} is in use by another run started there: choose a new folder")
    _claimed.update(folder=path, created=created)
    held = [name for name in RUN_MARKERS if (path / name).exists()]
    if not held and any(path.glob("*/" + METRICS_FILE)):
        held = [f"runs with {METRICS_FILE}"]  # a sweep's job folders
    # train's ckpt_path resumes a run (one path); evaluate's may list an ensemble, never resumed
    in_place = isinstance(resumed, str) and Path(resumed).resolve().is_relative_to(path.resolve())
    if held and not in_place:
        _refuse(f"{key}={folder} already holds a run ({', '.join(held)}): choose a new folder")


def _remove_claimed_folder() -> None:
    """The folder this run made, with what Hydra wrote there (its config, a log): a refused
    run's folder would only clutter ``outputs/`` and TensorBoard. Parents it made go while
    empty (another run may have started beside it); a folder that was there is left as is."""
    folder, created = _claimed.get("folder"), _claimed.get("created")
    if created is None or not folder.is_dir():
        return
    shutil.rmtree(folder, ignore_errors=True)
    for parent in folder.parents:
        if not parent.is_relative_to(created):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _refuse(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)
