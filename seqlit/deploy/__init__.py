"""A trained model as a folder that stands alone: weights, config and vocabulary as plain files.

`export` writes one from a checkpoint (`python -m seqlit export`), `load` rebuilds the task from one
without unpickling anything (safetensors weights, JSON config), so the folder can be shared, uploaded to
the Hugging Face hub as is, and opened by code that does not trust pickles.
"""

from seqlit.deploy.folder import export, load

__all__ = ["export", "load"]
