"""`python -m seqlit …` is the command line; see `seqlit.cli`.

Help, a missing and a misspelt command are answered by `seqlit.commands` before `seqlit.cli` (torch, Lightning)
is imported, so they take a fraction of a second.
"""

import sys

from seqlit.commands import top_level

if __name__ == "__main__":
    status = top_level(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from seqlit.cli import main

    main()
