"""`python -m audiences_app …` runs the command line."""

from audiences_app.cli import main

main()
