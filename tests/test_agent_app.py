"""The agent's application (agent.app): one mapping from an error to what the customer sees,
used alike by the headless lines, the tray and the window."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ["PYSTRAY_BACKEND"] = "dummy"  # before pystray is imported anywhere (as test_agent_tray)

from sosdesk.agent import cli, tray as tray_module  # noqa: E402
from sosdesk.agent.app import (EXIT_FAILED, EXIT_REVOKED, EXIT_USAGE, Agent, Failure, drive,  # noqa: E402
                               failure)
from sosdesk.agent.errors import (CaseGone, CertificateRefused, KeyNotPinned, ModuleRevoked,  # noqa: E402
                                  ServerError)
from sosdesk.agent.flow import CaseFlow  # noqa: E402
from sosdesk.agent.keystore import Secrets  # noqa: E402
from sosdesk.agent.storage import State  # noqa: E402
from sosdesk.common.branding import Branding, BrandingError  # noqa: E402
from agent_helpers import FakeClient, MemoryStore  # noqa: E402

REVOKED_DE = "Dieser Support-Agent wurde von Müller IT gesperrt. Bitte fordern Sie einen neuen an."


@pytest.mark.parametrize("error, expected", [
    (ModuleRevoked(403, "module_revoked", "module m1 is revoked"),
     Failure("module_revoked", REVOKED_DE, EXIT_REVOKED)),
    (ServerError(409, "case_taken", "this case belongs to another device"),
     Failure("case_taken", "Dieser Code wird bereits auf einem anderen Computer verwendet. Bitte fragen "
             "Sie Ihren Experten nach einem neuen Code.", EXIT_FAILED)),  # a refusal the agent has words for
    (ServerError(400, "odd_refusal", "the server's own words"),
     Failure("odd_refusal", "the server's own words", EXIT_FAILED)),  # one it has none for: the server's
    (CaseGone(404, "not_found", ""),
     Failure("not_found", "the support server answered 404 (not_found)", EXIT_FAILED)),
    (CertificateRefused("the support server's certificate was refused: certificate has expired",
                        problem="expired", reason="certificate has expired"),
     Failure("certificate_refused", "Der Support-Server von Müller IT konnte nicht überprüft werden: "
             "Sein Zertifikat ist abgelaufen. Es wurde nichts an ihn gesendet. Bitte wenden Sie sich "
             "an Müller IT.", EXIT_FAILED)),
    (KeyNotPinned("the support server's key is not a pinned one", problem="not_pinned"),
     Failure("certificate_not_pinned", "Dies ist nicht der Support-Server von Müller IT: Er hat nicht "
             "den Schlüssel vorgezeigt, für den dieses Programm gemacht ist. Es wurde nichts an ihn "
             "gesendet. Bitte wenden Sie sich an Müller IT.", EXIT_FAILED)),
    (CertificateRefused("the support server's certificate was refused: odd"),
     Failure("certificate_refused", "Der Support-Server von Müller IT konnte nicht überprüft werden: "
             "the support server's certificate was refused: odd. Es wurde nichts an ihn gesendet. "
             "Bitte wenden Sie sich an Müller IT.", EXIT_FAILED)),
    (BrandingError("invalid branding: company_name must be a non-empty text"),
     Failure("invalid_branding", "invalid branding: company_name must be a non-empty text", EXIT_USAGE)),
    (RuntimeError("a bug"), Failure("unexpected_error", "a bug", EXIT_FAILED)),
    (KeyError(), Failure("unexpected_error", "KeyError()", EXIT_FAILED)),
], ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "")
def test_each_error_has_one_code_message_and_exit_status(error: BaseException, expected: Failure) -> None:
    assert failure(error, "de", "Müller IT") == expected


class ScriptedAgent(Agent):
    """An Agent whose flows talk to a scripted client that fails SOS with *error*."""

    error: BaseException

    def flow(self, listener: Any, stop: Any = None) -> CaseFlow:
        client = FakeClient(sos=[self.error])
        return CaseFlow(lambda: client, self.secrets, self.device, listener, stop=stop,
                        backoff=lambda attempt: 0)


def scripted_agent(tmp_path: Path, error: BaseException) -> ScriptedAgent:
    agent = ScriptedAgent(Branding(company_name="Müller IT", language="de"),
                          Secrets(MemoryStore(), tmp_path / "lock"), State("x", tmp_path), {"hostname": "pc"})
    agent.error = error
    return agent


ERRORS = [ModuleRevoked(403, "module_revoked", "module m1 is revoked"),
          CertificateRefused("the support server's certificate was refused: expired"),
          RuntimeError("a bug")]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_headless_and_tray_say_the_same(tmp_path: Path, error: BaseException,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    expected = failure(error, "de", "Müller IT")

    status = cli.run_case(scripted_agent(tmp_path, error), lambda flow: flow.request_support(),
                          headless=True)
    out, err = capsys.readouterr()
    assert (status, out, err) == (expected.exit_status, f"error {expected.code}\n",
                                  f"sos-agent: {expected.message}\n")

    tray = tray_module.Tray(scripted_agent(tmp_path, error))
    notifications: list[str] = []
    tray.icon.notify = lambda message, title=None: notifications.append(message)  # type: ignore
    tray.request_support()
    tray._worker.join(10)
    assert tray.notice == expected.message and tray.icon.title == f"Müller IT: {expected.message}"
    assert notifications == [expected.message]


def test_drive_tells_a_failure_once_and_returns_its_exit_status(tmp_path: Path) -> None:
    agent = scripted_agent(tmp_path, ERRORS[0])
    told: list[Failure] = []
    assert drive(agent, agent.flow(None), lambda flow: flow.request_support(), told.append) == EXIT_REVOKED
    assert told == [Failure("module_revoked", REVOKED_DE, EXIT_REVOKED)]
