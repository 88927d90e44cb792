"""Errors a user can fix themselves: shown as one line naming the file or key and the fix."""


class UserError(Exception):
    """Bad input (a folder, an image, a label, a config value). Printed without a traceback."""
