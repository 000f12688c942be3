"""Run an exported model folder (`python -m seqlit export --format onnx`) with numpy and onnxruntime alone.

No torch, no Lightning and no other seqlit module is imported here, so this folder can be copied into a
service whose only dependencies are `pip install seqlit[runtime]` (numpy, onnxruntime):

    from seqlit.runtime import load
    model = load("model/")
    model.predict_text(["John lives in Paris ."])   # the records `python -m seqlit predict` writes

The graph (model.onnx) computes the network; tokenisation and CRF Viterbi are done here in numpy.
"""

from .errors import ModelFolderError
from .folder import load

__all__ = ["ModelFolderError", "load"]
