"""User-facing errors.

A `SeqlitError` is a mistake in the user's input (config, data, checkpoint): printed as one line, exit code 2,
no traceback unless `SEQLIT_DEBUG=1`. Anything else is a bug and keeps its traceback.
"""


class SeqlitError(Exception):
    """Bad input, with a message that names the culprit and the fix."""
