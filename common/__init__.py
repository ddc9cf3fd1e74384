"""What sosdesk's parts share: the version, and (see the modules here) the code
that the agent, the installer, the builder and the server all rely on.

This package uses the standard library only, so the server (which must stay
standard-library only) may import it too; a module here that needs Pillow says
so and is imported only by the clients.
"""

#: The one place the version is written (pyproject.toml reads it from here).
__version__ = "0.1.0"
