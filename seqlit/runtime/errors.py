"""The runtime's one error: a folder or an input it cannot use, said in one line naming the file or item.

Its own class, not seqlit.errors.SeqlitError, because the runtime imports no other seqlit module.
"""


class ModelFolderError(ValueError):
    """A model folder (or an input to `predict_text`) the runtime cannot use; the message says how to fix it."""
