"""The tray menu on pystray's dummy backend (its run() is never called)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

os.environ["PYSTRAY_BACKEND"] = "dummy"  # before pystray is imported anywhere

from sosdesk.agent import tray as tray_module  # noqa: E402
from sosdesk.common.branding import Branding  # noqa: E402
from sosdesk.agent.app import Agent  # noqa: E402
from sosdesk.agent.client import Ticket  # noqa: E402
from sosdesk.agent.errors import ServerUnreachable  # noqa: E402
from sosdesk.agent.flow import CaseFlow  # noqa: E402
from sosdesk.agent.icon import tray_image  # noqa: E402
from sosdesk.agent.keystore import Secrets  # noqa: E402
from sosdesk.agent.storage import State  # noqa: E402
from agent_helpers import FakeClient, MemoryStore, customer_case  # noqa: E402


class FakeAgent(Agent):
    """An Agent whose flows talk to one scripted client."""

    client_fake: FakeClient

    def flow(self, listener: Any, stop: Any = None) -> CaseFlow:
        return CaseFlow(lambda: self.client_fake, self.secrets, self.device, listener, stop=stop,
                        backoff=lambda attempt: 0)


@pytest.fixture
def tray(tmp_path: Path) -> tray_module.Tray:
    branding = Branding(company_name="Müller IT", language="de")
    agent = FakeAgent(branding, Secrets(MemoryStore(), tmp_path / "lock"), State("x", tmp_path),
                      {"hostname": "pc"}, argv=None)
    agent.client_fake = FakeClient(
        sos=[Ticket(customer_case(), "tok", True)],
        start=[customer_case(status="pending", version=2)],
        case=[customer_case(status="in_progress", version=3, expert_name="anna"),
              customer_case(status="closed", version=4)],
        close=[customer_case(status="closed", version=4)])
    tray = tray_module.Tray(agent)
    tray.notifications = []  # type: ignore[attr-defined]
    tray.icon.notify = lambda message, title=None: tray.notifications.append(message)  # type: ignore
    return tray


def items(tray: tray_module.Tray) -> list:
    return [i for i in tray.icon.menu.items if i.text and i is not tray_module.import_pystray().Menu.SEPARATOR]


def texts(tray: tray_module.Tray) -> list[str]:
    return [i.text for i in items(tray) if i.visible]


def test_menu_before_any_request(tray: tray_module.Tray) -> None:
    assert texts(tray) == ["Support anfordern", "Noch kein Sitzungscode",
                           "Status: Keine offene Anfrage", "Über Müller IT", "Beenden"]
    assert items(tray)[0].default
    assert not items(tray)[1].enabled and not items(tray)[2].enabled
    assert tray.icon.title == "Müller IT: Keine offene Anfrage"


def test_request_support_follows_the_case_and_notifies(tray: tray_module.Tray) -> None:
    items(tray)[0](tray.icon)  # "Support anfordern"
    tray._worker.join(10)
    assert texts(tray) == ["Support anfordern", "Sitzungscode: s12-345-678 (klicken zum Kopieren)",
                           "Status: Ihre Anfrage ist geschlossen", "Über Müller IT", "Beenden"]
    # What is happening in plain words, once each (new and pending both wait for an expert).
    assert tray.notifications[:3] == [
        "Warten auf einen Experten", "anna hilft Ihnen", "Ihre Anfrage ist geschlossen"]
    assert tray.icon.title == "Müller IT: Ihre Anfrage ist geschlossen"


def test_close_my_request_is_shown_while_the_case_can_be_closed(tray: tray_module.Tray) -> None:
    tray.flow.token = "tok"
    tray.on_case(customer_case(status="pending"))
    close = next(i for i in items(tray) if i.text == "Meine Anfrage schließen")
    assert close.visible
    close(tray.icon)
    tray._closer.join(10)
    assert tray.agent.client_fake.calls[-1] == ("close", "tok")
    assert not close.visible and tray.status == "closed"
    tray.on_case(customer_case(status="pending", can_close=False))
    assert not close.visible


class BlockingFlow:
    """A flow whose close_request() waits until released (a slow or hanging server)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.release = threading.Event()
        self.closing = threading.Event()
        self.error = error

    def close_request(self) -> dict:
        self.closing.set()
        self.release.wait(30)
        if self.error:
            raise self.error
        return customer_case(status="closed")


def close_item(tray: tray_module.Tray) -> Any:
    tray.on_case(customer_case(status="pending"))
    return next(i for i in items(tray) if i.text == "Meine Anfrage schließen")


def test_close_my_request_does_not_block_the_menu(tray: tray_module.Tray) -> None:
    close = close_item(tray)
    tray.flow = BlockingFlow()  # type: ignore[assignment]
    began = time.monotonic()
    close(tray.icon)
    assert time.monotonic() - began < 1
    assert tray.flow.closing.wait(10)  # it runs, in another thread
    close(tray.icon)  # a second click while the first is on its way starts no second close
    tray.flow.release.set()
    tray._closer.join(10)
    assert not tray._closer.is_alive()


@pytest.mark.parametrize("error", [ServerUnreachable("the support server is not reachable"),
                                   RuntimeError("the support server is not reachable")],
                         ids=["agent error", "unexpected error"])
def test_a_failed_close_is_a_notice(tray: tray_module.Tray, error: Exception) -> None:
    close = close_item(tray)
    tray.flow = BlockingFlow(error)  # type: ignore[assignment]
    tray.flow.release.set()
    close(tray.icon)
    tray._closer.join(10)
    message = "Ihre Anfrage konnte nicht geschlossen werden: the support server is not reachable"
    assert tray.notifications[-1] == message
    assert tray.icon.title == f"Müller IT: {message}"
    assert close.visible  # the customer can try again


def test_copy_code_uses_the_clipboard(tray: tray_module.Tray, monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []
    monkeypatch.setattr(tray_module.clipboard, "copy", lambda text: copied.append(text) or True)
    tray.on_case(customer_case(code="s98-765-432"))
    items(tray)[1](tray.icon)
    assert copied == ["s98-765-432"] and tray.notifications[-1] == "Sitzungscode kopiert"


def test_unreachable_notice_in_tooltip_and_badge(tray: tray_module.Tray) -> None:
    tray.on_case(customer_case(status="pending"))
    tray.on_notice("unreachable")
    assert tray.icon.title == "Müller IT: Support nicht erreichbar, neuer Versuch läuft…"
    tray.on_notice("reconnected")
    assert tray.icon.title == "Müller IT: Warten auf einen Experten"


def test_about_and_quit(tray: tray_module.Tray) -> None:
    items(tray)[-2](tray.icon)
    assert "Müller IT" in tray.notifications[-1]
    items(tray)[-1](tray.icon)
    assert tray.stop.is_set()


def test_icon_has_a_status_badge() -> None:
    branding = Branding(company_name="Test IT", primary_color="#112233")
    plain, pending = tray_image(branding, None), tray_image(branding, "pending")
    assert isinstance(plain, Image.Image) and plain.size == (64, 64)
    corner = (52, 52)
    assert plain.getpixel(corner) != pending.getpixel(corner)
    assert pending.getpixel(corner)[:3] == (0xd2, 0x99, 0x22)


def test_open_window_starts_this_agent_again_in_sos_mode(tray: tray_module.Tray,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(tray_module.subprocess, "Popen", lambda argv, **kwargs: started.append(argv))
    tray.agent.argv = ["/venv/bin/python", "-P", "-m", "sosdesk.agent", "--config", "/home/bob/acme.json"]
    tray.open_window()
    assert started == [["/venv/bin/python", "-P", "-m", "sosdesk.agent", "--config", "/home/bob/acme.json",
                        "--no-install", "sos"]]


def test_an_expert_asking_to_see_the_screen_notifies_and_opens_the_window(tray: tray_module.Tray,
                                                                          monkeypatch) -> None:
    opened: list[bool] = []
    monkeypatch.setattr(tray, "open_window", lambda: opened.append(True))
    tray.view_requested("anna", window_open=False)
    tray.view_requested("anna", window_open=True)  # a window answers already: only the notification
    assert tray.notifications == ["anna von Müller IT möchte Ihren Bildschirm sehen."] * 2
    assert opened == [True]


def test_an_icon_without_a_menu_opens_the_window_for_an_open_request(tray: tray_module.Tray,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # pystray's xorg backend (no GTK, no AppIndicator) shows the icon but has no menu and
    # takes no clicks: the window stands in for the menu, once, when there is a request.
    opened: list[bool] = []
    monkeypatch.setattr(tray, "open_window", lambda: opened.append(True))
    tray.menu_less = True
    tray.on_case(customer_case(status="pending"))
    tray.on_case(customer_case(status="pending", expert_name="anna", version=2))
    assert opened == [True]


def test_only_one_tray_runs_per_company(tray: tray_module.Tray) -> None:
    from sosdesk.agent.filelock import try_lock

    held = try_lock(tray.agent.tray_lock)  # another tray of this company runs
    assert held is not None
    try:
        ran: list[bool] = []
        tray.icon.run = lambda setup=None: ran.append(True)  # type: ignore[method-assign]
        assert tray.run() == 0 and ran == []
    finally:
        held.release()
    assert tray.run() == 0 and ran == [True]
