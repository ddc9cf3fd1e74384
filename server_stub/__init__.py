"""sosdesk server: service cases over HTTP + SQLite, standard library only."""

__version__ = "0.1.0"
