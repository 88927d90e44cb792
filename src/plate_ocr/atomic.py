"""Files written whole or not at all: written beside the target, then renamed over it.

A reader (a resumed run, TensorBoard, a sweep summary, a deployment) never sees half a file,
and a crash or a full disk mid-write leaves the previous version in place. Every file the
project writes for users goes through here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plate_ocr.errors import UserError


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers pick the same format) that
    replaces ``path`` when the block ends without error; it is removed otherwise, and a
    failed write (full disk, read-only folder) is a UserError naming ``path``."""
    path = Path(path)
    # this process's own: two writers of one file never write into each other's temporary
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(
            f"{path}: could not write it ({error.strerror or error}); free some space or "
            "choose a writable folder"
        ) from error
    finally:
        with contextlib.suppress(OSError):  # a read-only folder: the error above is the one
            temporary.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


_held: dict[Path, int] = {}  # folder: its open descriptor, locked until the process ends


def claim_folder(folder: Path) -> bool:
    """Hold ``folder`` (made already) for this process's life, under a lock on the folder
    itself that the system drops when the process ends, however it ends (nothing is written
    into it): False when another process holds it. Checking a folder and then writing let
    two runs started together both pass."""
    folder = Path(folder).absolute()
    if folder in _held:
        return True
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return False
    _held[folder] = descriptor
    return True


def release_folder(folder: Path) -> None:
    """Let go of a folder this process claimed (its run in this process has ended)."""
    descriptor = _held.pop(Path(folder).absolute(), None)
    if descriptor is not None:
        os.close(descriptor)
