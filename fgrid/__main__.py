"""``python -m fgrid``: the fgrid command line."""

from fgrid.cli import main

main()
