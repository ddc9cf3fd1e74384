"""sosdesk server: service cases over HTTP + SQLite, standard library only."""

from sosdesk.common import __version__

__all__ = ["__version__"]
