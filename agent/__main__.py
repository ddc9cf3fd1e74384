"""``python -m agent`` (and the PyInstaller entry point): the customer agent."""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
