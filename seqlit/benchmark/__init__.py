"""`python -m seqlit benchmark`: run a suite of training configs, keep score, catch regressions.

command.py ties the steps together; each module's docstring says what its step does and why.
"""
