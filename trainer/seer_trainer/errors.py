"""The one error type the CLI turns into a clean message (no traceback)."""


class SeerInputError(Exception):
    """Bad user input: the message names the file, the row and the fix."""
