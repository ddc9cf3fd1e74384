"""The QuickSupport window as the customer uses it, on a virtual screen with a real server:
what is happening in plain words with the company's own waiting text, the code copied
(not in error red), "What do you need help with?" reaching the expert, closing the
window or the request asking first, and errors that say what can be done and stay."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from sosdesk.common.branding import Branding
from sosdesk.agent.keystore import Secrets
from sosdesk.agent.storage import State
from agent_helpers import MemoryStore
from conftest import LiveServer, require_module, require_tool
from test_agent_window import display, xvfb  # noqa: F401 (fixtures)
from window_driver import Customer, run_window

BRAND = "#8a2be2"  # blue violet: nothing else on the screen has this colour
WAITING = "An ACME expert will be with you in a few minutes."
WAITING_DE = "Ein Experte von ACME ist in wenigen Minuten für Sie da."
pytestmark = pytest.mark.slow
KEPT: list[Any] = []


@pytest.fixture
def window_factory(display: str, tmp_path: Path) -> Iterator[Any]:
    """QuickSupportWindow(agent) for ACME on the live server, in English or German."""
    require_module("tkinter")
    require_tool("xdotool")
    from sosdesk.agent.app import Agent
    from sosdesk.agent.window import QuickSupportWindow

    made: list[Any] = []

    def make(server: LiveServer, language: str = "en", **branding: Any) -> Any:
        fields = {"company_name": "ACME GmbH", "server_url": server.url, "language": language,
                  "primary_color": BRAND, "waiting_text": WAITING, "logo_png": logo(), **branding}
        agent = Agent(Branding(**fields),
                      Secrets(MemoryStore(), tmp_path / "secrets.lock"), State("acme", tmp_path),
                      {"hostname": "KIM-PC", "os": "Linux", "user": "kim"})
        made.append(QuickSupportWindow(agent))
        return made[-1]

    yield make
    # Kept until the process ends: the window's workers (a long-poll still waiting on the
    # server) hold it a moment longer, and Tcl aborts when a Tk variable dies on their thread.
    KEPT.extend(made)
    gc.collect()


def logo() -> bytes:
    """ACME's logo: a violet badge with a white wordmark, as a company would hand it in."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 239, 79), radius=18, fill=BRAND)
    draw.text((120, 40), "ACME", fill="white", anchor="mm", font_size=44)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sos(flow: Any) -> Any:
    return flow.request_support()


def code_shown(customer: Customer) -> str:
    return next(w["text"] for w in customer.seen if w["style"] == "Code.TLabel" and w["text"] != "…")


def colours(box: dict[str, Any], display: str) -> set[tuple[int, int, int]]:
    from PIL import ImageGrab

    image = ImageGrab.grab(bbox=(box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]),
                           xdisplay=display).convert("RGB")
    return set(getattr(image, "get_flattened_data", image.getdata)())


def test_status_in_plain_words_copy_and_describe_the_problem(live_server: LiveServer, window_factory: Any,
                                                             display: str) -> None:
    window = window_factory(live_server)

    def customer(c: Customer) -> None:
        c.wait_for("Waiting for an expert")
        c.wait_for(WAITING)  # the company's own waiting text, not the generic one
        assert not [t for t in c.texts() if "Status" in t or "Pending" in t], c.texts()
        code = code_shown(c)
        c.click("Copy")
        copied = c.wait_for("Session code copied")
        assert copied["style"] == "Ok.TLabel"
        inks = colours(copied, display)
        assert not any(r > 150 and g < 90 and b < 90 for r, g, b in inks), "the note is drawn in red"
        assert any(g > r + 40 and g > b + 20 for r, g, b in inks), "the note is not green"

        field = next(w for w in c.seen if w["class"] == "Text")  # "What do you need help with?" comes first
        c.wait_for("What do you need help with? (optional)")
        c.type_into(field, "Outlook crashes when I open the calendar")
        c.click("Send to support")
        c.wait_for("Sent to support.")
        case = live_server.api("GET", f"/api/v1/sessions/{code}").json()
        assert case["description"] == "Outlook crashes when I open the calendar"
        c.shot("agent-window-en.png")

        assert live_server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
        c.wait_for("anna is connecting")
        c.wait_for("anna will ask you for permission to see your screen.")
        c.close_window()  # the X: keep the request open, close it, or go back
        c.wait_for("Close the window?", kind="window")
        c.click("Cancel", window="Close the window?")
        c.wait_gone("Close the window?")
        assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["state"] == "open"
        c.close_window()
        c.click("Close my request", window="Close the window?")
        c.wait_closed()
        assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "closed"

    assert run_window(window, sos, display, customer) == 0


def test_close_my_request_asks_while_an_expert_is_connected(live_server: LiveServer, window_factory: Any,
                                                            display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sosdesk.agent import window as window_module

    monkeypatch.setattr(window_module, "LINGER_MS", 300)
    window = window_factory(live_server, language="de", waiting_text=WAITING_DE)

    def customer(c: Customer) -> None:
        c.wait_for("Warten auf einen Experten")
        c.wait_for(WAITING_DE)
        c.settled("Wobei brauchen Sie Hilfe? (freiwillig)")
        c.type_into(next(w for w in c.seen if w["class"] == "Text"), "Der Drucker druckt nur leere Seiten")
        c.shot("agent-window-de.png")
        code = code_shown(c)
        assert live_server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
        c.wait_for("anna verbindet sich")
        c.click("Meine Anfrage schließen")
        question = c.wait_for("anna hilft Ihnen gerade", exact=False)
        assert question["window"] == "Anfrage schließen?"
        c.click("Abbrechen", window="Anfrage schließen?")  # the safe answer is the suggested one
        c.wait_gone("anna hilft Ihnen gerade")
        assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["state"] == "open"
        c.click("Meine Anfrage schließen", window="ACME GmbH QuickSupport")
        c.click("Meine Anfrage schließen", window="Anfrage schließen?")
        c.wait_for("Ihre Anfrage ist geschlossen")
        assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "closed"
        c.wait_closed()  # a request closed as asked: the window goes by itself

    assert run_window(window, sos, display, customer) == 0


def test_a_wrong_code_in_german_stays_with_a_field_to_type_it_again(
        live_server: LiveServer, window_factory: Any, display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sosdesk.agent import window as window_module

    monkeypatch.setattr(window_module, "LINGER_MS", 300)  # a normal end closes quickly: an error must not
    made = live_server.api("POST", "/api/v1/sessions", json={"end_customer": {"name": "Kim"},
                                                           "description": "Drucker"}).json()
    window = window_factory(live_server, language="de")

    def customer(c: Customer) -> None:
        c.wait_for("Dieser Code hat nicht funktioniert")
        c.wait_for("Zu diesem Code gibt es keine offene Support-Anfrage. Bitte prüfen Sie den Code und geben "
                   "Sie ihn erneut ein.")
        assert c.find("Verbindung zum Support wird hergestellt…") is None  # replaced, not beside it
        c.shot("agent-window-wrong-code-de.png")
        time.sleep(1.5)  # well past the 300 ms a normal end lingers
        field = c.wait_for("s11-111-111", kind="TEntry")
        c.type_into(field, made["code"], replace=True)
        c.click("Beitreten")
        c.wait_for("Warten auf Ihren Experten")
        assert not [t for t in c.texts() if "Ihre Anfrage wartet" in t or "Anfrage schließen" in t], c.texts()
        assert c.find("Wobei brauchen Sie Hilfe? (freiwillig)") is None  # the expert wrote the description
        case = live_server.api("GET", f"/api/v1/sessions/{made['code']}").json()
        assert case["device"]["hostname"] == "KIM-PC" and case["customer_started"]
        c.close_window()
        c.click("Abbrechen", window="Fenster schließen?")
        assert c.find("Meine Anfrage schließen", window="Fenster schließen?") is None  # not theirs to close
        window.events.put(("quit", None))

    assert run_window(window, lambda flow: flow.join("s11-111-111"), display, customer,
                      join_code="s11-111-111") == 0


def test_an_error_offers_to_try_again_and_stays_until_closed(live_server: LiveServer, window_factory: Any,
                                                             display: str) -> None:
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME GmbH", "groupid": "acme"}).json()
    assert live_server.api("DELETE", f"/api/v1/modules/{module['module_id']}").status_code == 200
    window = window_factory(live_server, module_id=module["module_id"])
    revoked = "This support agent has been revoked by ACME GmbH. Please ask them for a new one."
    asked: list[int] = []
    store_sos = live_server.store.sos
    live_server.store.sos = lambda *args: (asked.append(1), store_sos(*args))[1]  # type: ignore[method-assign]

    def customer(c: Customer) -> None:
        c.wait_for("Could not connect to support")
        c.wait_for(revoked)
        assert c.find("Connecting to support…") is None and c.find("Your session code") is None
        assert len(asked) == 1
        c.click("Try again")
        deadline = time.monotonic() + 20
        while len(asked) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(asked) == 2, "Try again did not ask the server again"
        c.wait_for(revoked)  # still revoked, still said
        time.sleep(1)
        assert c.find(revoked)  # it stays until the customer closes it
        c.click("Close")
        c.wait_closed()

    assert run_window(window, sos, display, customer) == 3


def test_asked_before_the_screen_is_seen_and_the_headline_says_who_looks(
        live_server: LiveServer, window_factory: Any, display: str) -> None:
    from PIL import Image, ImageGrab

    window = window_factory(live_server)

    def customer(c: Customer) -> None:
        c.wait_for("Waiting for an expert")
        code = code_shown(c)
        assert live_server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
        asked = c.wait_for("anna from ACME GmbH wants to see your screen.", window="ACME GmbH: remote session")
        c.settled("Close my request")  # the window grew by the question's line: let it settle
        main = next(w for w in c.seen if w["class"] == "window" and w["text"] == "ACME GmbH QuickSupport")
        question = next(w for w in c.seen if w["class"] == "window" and w["text"] == asked["window"])
        right = max(main["x"] + main["w"], question["x"] + question["w"])
        bottom = max(main["y"] + main["h"], question["y"] + question["h"])
        before = ImageGrab.grab(bbox=(0, 0, right + 8, bottom), xdisplay=display).convert("RGB")
        c.click("Allow", kind="Button")
        c.wait_for("anna is viewing your screen", window="ACME GmbH QuickSupport")  # the headline too
        bar = next(w for w in c.seen if w["text"] == "ACME GmbH: remote session" and w["class"] == "window")
        shown = ImageGrab.grab(bbox=(bar["x"], bar["y"], bar["x"] + bar["w"], bar["y"] + bar["h"]),
                               xdisplay=display).convert("RGB")
        # For the README: the window with the question beside it, the bar under them.
        picture = Image.new("RGB", (max(before.width, shown.width), before.height + shown.height + 24), "black")
        picture.paste(before, (0, 0))
        picture.paste(shown, (0, before.height + 24))
        picture.save(c.shot("agent-window-consent.png"))
        c.click("Stop", kind="Button")
        c.wait_gone("anna is viewing your screen")
        window.events.put(("quit", None))

    assert run_window(window, sos, display, customer) == 0
