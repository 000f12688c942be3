"""Run an exported model folder (`python -m seqlit export --format onnx`) with numpy and onnxruntime alone.

No torch, no Lightning and no other seqlit module is imported here, so it runs in a service with only
`pip install seqlit[runtime]`: `seqlit.runtime.load("model/").predict_text([...])` gives the records
`predict` writes (and `generate` for language models). The graphs compute the network; tokenisation, CRF
Viterbi, greedy and beam search and sampling are done here in numpy.
"""

from .errors import ModelFolderError
from .folder import load

__all__ = ["ModelFolderError", "load"]
