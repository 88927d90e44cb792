"""Errors a user can fix themselves: shown as one line naming the file or key and the fix."""

from __future__ import annotations

import contextlib
import signal
import threading


class UserError(Exception):
    """Bad input (a folder, an image, a label, a config value). Printed without a traceback."""


def user_error(error: BaseException) -> UserError | None:
    """The UserError behind ``error``, if any: Hydra wraps errors raised while it builds
    objects ("Error in call to target ..."), and a user should read the sentence inside."""
    from omegaconf.errors import MissingMandatoryValue

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UserError):
            return error
        if isinstance(error, MissingMandatoryValue):  # a ??? key left unset
            key = getattr(error, "full_key", None) or "a required key"
            return UserError(f"{key} is required: pass {key}=VALUE on the command line")
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def require_bool(key: str, value) -> bool:
    """A switch from the command line: ``true`` or ``false``. Any other word (``off``, ``no``)
    reaches Python as a non-empty string, which would switch it on."""
    if not isinstance(value, bool):
        raise UserError(f"{key}={value}: use true or false")
    return value


@contextlib.contextmanager
def sigterm_as_ctrl_c():
    """SIGTERM (``kill``, ``timeout``, a scheduler, ``docker stop``) stops the work inside as
    Ctrl-C does, so that what handles Ctrl-C (a training's last.ckpt and resume line, a
    verb's removal of its temporary files) handles it too: Python's default ends the process
    on the spot, and Lightning's would end a fit quietly, looking finished."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
