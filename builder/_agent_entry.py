"""The script PyInstaller freezes into the base agent: run the agent's command line."""

import sys

from sosdesk.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
