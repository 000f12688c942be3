"""`python -m seqlit …` is the command line; see `seqlit.main` (the entry) and `seqlit.cli` (the trainer commands).

Help, a missing and a misspelt command are answered by `seqlit.commands` before torch or Lightning is
imported, so they take a fraction of a second.
"""

from seqlit.main import main

if __name__ == "__main__":
    main()
