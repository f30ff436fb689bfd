"""`grade` subcommands other than `run`, one module each, imported only when named (cli.SUBCOMMANDS).

Each parses its arguments into an options object (grader/options.py), calls the stage that does the
work, and prints; none holds logic of its own.
"""
