"""``python -m harness`` is the ``harness`` command."""

from harness.cli import main

if __name__ == "__main__":  # worker processes import this module and must not run the CLI
    main()
