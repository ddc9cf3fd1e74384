"""``python -m sosdesk.agent`` (and the PyInstaller entry point): the customer agent."""

import sys

from sosdesk.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
