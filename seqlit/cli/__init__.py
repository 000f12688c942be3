"""The command line: `python -m seqlit <command>` is parsed, checked and dispatched here.

`main` answers help and typos before torch is imported; `trainer` is the LightningCLI behind fit/validate/test/predict;
the other modules are the checks and messages that surround it.
"""
