"""`python -m seqlit benchmark`: run a suite of training configs, keep score, catch regressions.

    suite.py        read and check a suite YAML (configs/benchmarks/*.yaml)
    runner.py       one entry (one seed): fit + test in a subprocess, then one record from its results.json
    provenance.py   commit, dirty flag and versions, read once before anything is written
    results.py      the JSON-lines results file: runs of an entry, the newest, the baseline
    seeds.py        a run's seed records as one figure per metric (mean, sd, min–max)
    leaderboard.py  leaderboard.md (tasks x backbones) and leaderboard.png
    compare.py      differences against a baseline results file, with tolerances and seed noise
    tracking.py     the same records in W&B (offline unless asked), one group per suite
    command.py      the command line that ties them together
"""
