"""`python -m seqlit benchmark`: run a suite of training configs, keep score, catch regressions.

command.py ties the steps together; docs/benchmark.md gives the rules and why.
"""
