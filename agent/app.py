"""The agent's application: what one run works with, following a case to its end,
and what the customer sees when that fails.

Every view (the headless lines, the QuickSupport window, the tray icon) follows
a case with :func:`drive` and turns an error into words with :func:`failure`
(also when closing the request fails), so the same error reads the same
everywhere, with the same exit status. The
command line (agent.cli) only parses arguments and picks the view.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any, Callable

from sosdesk.common.branding import Branding, BrandingError

from .client import Client
from .errors import AgentError, CertificateRefused, ModuleRevoked, ServerError
from .flow import CaseFlow, Listener, Stopped
from .i18n import server_error_words, text
from .keystore import Secrets
from .storage import State

__all__ = ["Agent", "Failure", "failure", "drive", "resume", "Start", "EXIT_OK", "EXIT_FAILED",
           "EXIT_USAGE", "EXIT_REVOKED", "EXIT_INTERRUPTED"]

log = logging.getLogger(__name__)

#: The case was closed or expired, or there was nothing to do.
EXIT_OK = 0
#: A failure: wrong code, case taken or removed, a refused certificate, installer error.
EXIT_FAILED = 1
#: Invalid or damaged branding, or a wrong command line.
EXIT_USAGE = 2
#: The support company revoked this agent's module.
EXIT_REVOKED = 3
EXIT_INTERRUPTED = 130

#: Gets the case a flow follows: SOS, join, or resume the stored one.
Start = Callable[[CaseFlow], Any]


@dataclasses.dataclass
class Agent:
    """Everything one run of the agent works with, built once from the branding."""

    branding: Branding
    secrets: Secrets
    state: State
    device: dict[str, str]
    #: How to start this agent again with the same branding and language
    #: (``sosdesk.common.launch.agent_command``): the tray opens the window so.
    argv: list[str] | None = None

    @property
    def lang(self) -> str:
        """The language the customer reads."""
        return self.branding.lang

    @property
    def session_lock(self) -> Path:
        """The lock file of the process that answers this company's remote session (one at a time)."""
        return self.state.path.with_name(f"session-{self.branding.app_id}.lock")

    @property
    def tray_lock(self) -> Path:
        """The lock file the tray holds while it runs (one tray per company)."""
        return self.state.path.with_name(f"tray-{self.branding.app_id}.lock")

    def client(self) -> Client:
        """A new client for the branding's server."""
        return Client(self.branding.server_url, ca_bundle=self.branding.ca_bundle,
                      pins=self.branding.pins)

    def flow(self, listener: Listener, stop: threading.Event | None = None) -> CaseFlow:
        """A case flow reporting to *listener*."""
        return CaseFlow(self.client, self.secrets, self.device, listener,
                        module_id=self.branding.module_id, stop=stop)


@dataclasses.dataclass(frozen=True)
class Failure:
    """What the customer is told when the agent cannot go on."""

    #: Stable, for scripts: the headless ``error`` line (the server's code, or the agent's own).
    code: str
    #: For the customer, in their language where the agent has the words.
    message: str
    exit_status: int


def failure(error: BaseException, lang: str, company: str = "") -> Failure:
    """The one mapping from an error that stops the agent (or its flow) to what the customer sees.

    An error that is not the agent's own (a bug) still reads as one sentence; its
    traceback is logged at INFO, so it shows with ``-v`` and never to the customer.
    """
    if isinstance(error, ModuleRevoked):
        return Failure("module_revoked", text(lang, "error.revoked", company=company), EXIT_REVOKED)
    if isinstance(error, ServerError):
        # The server's message is English; what the agent has words for reads in the customer's language.
        words = server_error_words(lang, error.code, company or "sosdesk")
        return Failure(error.code, words or error.message or str(error), EXIT_FAILED)
    if isinstance(error, CertificateRefused):
        # "This is not ACME's support server", or why its certificate was refused.
        words = text(lang, f"error.certificate.{error.problem}", company=company or "sosdesk",
                     reason=error.reason or str(error))
        return Failure(error.code, words, EXIT_FAILED)
    if isinstance(error, AgentError):  # e.g. certificate_refused: retrying would not help
        return Failure(error.code, str(error), EXIT_FAILED)
    if isinstance(error, BrandingError):
        return Failure("invalid_branding", str(error), EXIT_USAGE)
    log.info("unexpected error", exc_info=error)  # the traceback, for whoever runs with -v
    return Failure("unexpected_error", str(error) or repr(error), EXIT_FAILED)


def drive(agent: Agent, flow: CaseFlow, start: Start, on_error: Callable[[Failure], None]) -> int:
    """Get the case with *start* and follow it to its end: the exit status.

    What stops it early is told to *on_error* once, as :func:`failure` words it.
    """
    try:
        start(flow)
        outcome = flow.follow()
    except Stopped:
        return EXIT_OK
    except Exception as exc:
        failed = failure(exc, agent.lang, agent.branding.company_name)
        on_error(failed)
        return failed.exit_status
    return EXIT_OK if outcome in ("closed", "expired") else EXIT_FAILED


def resume(flow: CaseFlow) -> None:
    """A :data:`Start` for the tray: the stored open case, or stop (nothing to follow)."""
    if flow.resume() is None:
        raise Stopped()
