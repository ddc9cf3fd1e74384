"""The builder: a company's personalized QuickSupport agent as one executable.

The agent is frozen once per version and platform by PyInstaller (the *base*,
cached); personalizing stamps a company's branding into a copy of the base,
which takes about as long as copying the file::

    from sosdesk.builder import ensure_base, parse_options, personalize
    options = parse_options({"company": "ACME", "server": "https://support.acme.example",
                             "module_id": "m1a2b3"}, token_given=False)
    result = personalize(ensure_base(), options, options.module_id)
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from .errors import BaseBuildError, BuilderError, InputError, ServerError

# The rest is imported on first use, so ``sos-builder`` starts without loading
# requests or PyInstaller's helpers until it needs them.
_LAZY = {
    "ensure_base": ".base",
    "parse_options": ".options",
    "BuildOptions": ".options",
    "personalize": ".stamping",
    "Result": ".stamping",
    "ModuleClient": ".server",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
