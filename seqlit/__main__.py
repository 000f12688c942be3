"""`python -m seqlit …` is the command line; see `seqlit.cli`."""

from seqlit.cli import main

if __name__ == "__main__":
    main()
