"""Lightning callbacks: things a run shows or guards, kept out of the task modules."""

from seqlit.callbacks.samples import SampleText

__all__ = ["SampleText"]
