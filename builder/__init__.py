"""The builder: a company's personalized QuickSupport agent as one executable.

The agent is frozen once per version and platform by PyInstaller (the *base*,
cached); personalizing stamps a company's branding into a copy of the base,
which takes about as long as copying the file::

    from builder import ensure_base, parse_options, personalize
    options = parse_options({"company": "ACME", "server": "https://support.acme.example",
                             "module_id": "m1a2b3"}, token_given=False)
    result = personalize(ensure_base(), options, options.module_id)
"""

from __future__ import annotations

import logging

from .base import ensure_base
from .errors import BaseBuildError, BuilderError, InputError, ServerError
from .options import BuildOptions, parse_options
from .personalize import Result, personalize
from .server import ModuleClient

__all__ = [
    "ensure_base",
    "parse_options",
    "personalize",
    "BuildOptions",
    "Result",
    "ModuleClient",
    "BuilderError",
    "InputError",
    "ServerError",
    "BaseBuildError",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
