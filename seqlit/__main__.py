"""`python -m seqlit …` is the command line; see `seqlit.cli.main` (the entry) and `seqlit.cli.trainer` (the trainer commands).

Help, a missing and a misspelt command are answered by `seqlit.cli.commands` before torch or Lightning is
imported, so they take a fraction of a second.
"""

from seqlit.cli.main import main

if __name__ == "__main__":
    main()
