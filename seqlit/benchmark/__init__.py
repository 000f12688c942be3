"""`python -m seqlit benchmark`: run a suite of training configs, keep score, catch regressions.

    suite.py        read and check a suite YAML (configs/benchmarks/*.yaml)
    runner.py       one entry: fit + test in a subprocess, then one result record
    results.py      the JSON-lines results file
    leaderboard.py  leaderboard.md (tasks x backbones) and leaderboard.png
    compare.py      differences against a baseline results file, with tolerances
    tracking.py     the same records in W&B (offline unless asked), one group per suite
    command.py      the command line that ties them together
"""
