"""The QuickSupport window on a virtual screen (Xvfb): its parts on their own (no server),
the message box, the session panel, and sharp text on a high-DPI screen."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Iterator

import pytest

from sosdesk.common.branding import Branding
from sosdesk.agent.keystore import Secrets
from sosdesk.agent.storage import State
from agent_helpers import FakeClient, MemoryStore, customer_case, start_xvfb
from conftest import require_module, require_tool


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """One virtual screen for the whole run.

    Tk keeps a destroyed window's X connection open until the process ends, and
    a later Tk() dies ("XIO: fatal IO error") reading it once that X server has
    gone: so the server must outlive every window of this process.
    """
    # -displayfd: Xvfb picks a free display itself. A number made from our process id
    # could be one another test run (a helper's, CI's) already serves, and the checks
    # would then look at that run's screen.
    proc, number = start_xvfb(require_tool("Xvfb"), "1280x1024x24")  # Xvfb's own default
    try:
        if number is None:
            pytest.fail("Xvfb did not start")
        yield number
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def display(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DISPLAY", xvfb)
    return xvfb


def make_window(tmp_path: Path, **branding: Any) -> Any:
    require_module("tkinter")
    from sosdesk.agent.app import Agent
    from sosdesk.agent.window import QuickSupportWindow

    agent = Agent(Branding(**{"company_name": "Test IT", "language": "en", **branding}),
                  Secrets(MemoryStore(), tmp_path / "l"), State("x", tmp_path), {"hostname": "pc"})
    return QuickSupportWindow(agent)


def test_window_shows_code_status_in_words_expert_and_close_button(display: str, tmp_path: Path) -> None:
    window = make_window(tmp_path, waiting_text="Test IT answers within minutes.")
    try:
        window.on_case(customer_case(status="pending"))
        window._drain()
        assert window.code_var.get() == "s12-345-678"
        assert window.status_var.get() == "Waiting for an expert"
        assert window.explain_var.get() == "Test IT answers within minutes."  # the company's own text
        assert window.close_button.winfo_manager() == "grid"
        window.on_case(customer_case(status="pending", waiting_message="Anna calls you at 3 pm."))
        window._drain()
        assert window.explain_var.get() == "Anna calls you at 3 pm."  # the expert's, for this case
        window.on_case(customer_case(status="pending", expert_name="anna", can_close=False))
        window.on_notice("unreachable")
        window._drain()
        assert window.status_var.get() == "anna is connecting"
        assert window.notice_var.get() == "Cannot reach support, retrying…"
        assert window.close_button.winfo_manager() == ""
        window._sharing_changed("control")
        assert window.status_var.get() == "anna is controlling your screen"
        assert window.explain.winfo_manager() == ""  # nothing to explain: no empty line
        window._sharing_changed(None)
        assert window.explain.winfo_manager() == "grid"
        window.on_case(customer_case(status="in_progress", expert_name="anna", can_close=False))
        window._drain()
        assert window.status_var.get() == "anna is helping you"
        window.copy_code()
        assert window.root.clipboard_get() == "s12-345-678"
        assert window.copied_var.get() == "Session code copied"
    finally:
        window.root.destroy()
        # Tk variables must die on this thread; left to a later garbage collection
        # they may be freed on a server thread, where Tk refuses to run.
        del window
        gc.collect()


@pytest.mark.parametrize("start", ["unwritable config folder", "unexpected error", "refused certificate"])
def test_window_reports_a_failing_start_instead_of_connecting_forever(
        display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str) -> None:
    from sosdesk.agent import window as window_module

    monkeypatch.setattr(window_module, "LINGER_MS", 10)  # a normal end would close at once: an error stays
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    window = make_window(blocker / "config")
    if start == "unwritable config folder":
        def begin(flow: Any) -> None:
            flow.request_support()
        expected = f"Cannot use the folder {blocker / 'config'}: Not a directory"
    elif start == "refused certificate":
        from sosdesk.agent.errors import CertificateRefused

        expected = ("Test IT's support server could not be verified: its certificate is not from an "
                    "authority this computer trusts (self-signed certificate). Nothing was sent to "
                    "it. Please contact Test IT.")

        def begin(flow: Any) -> None:
            flow.client = FakeClient(sos=[CertificateRefused(
                "the support server's certificate was refused: self-signed certificate",
                problem="untrusted", reason="self-signed certificate")])
            flow.secrets.device_id = lambda: "d" * 20
            flow.secrets.case_token = lambda: None
            flow.request_support()
    else:
        def begin(flow: Any) -> None:
            raise RuntimeError("a bug")
        expected = "A bug"
    seen: list[tuple[str, str, bool]] = []

    def look() -> None:  # what the customer sees a while after the error, then their Close
        if window.failed and len(seen) < 5:
            seen.append((str(window.problem_message.cget("text")), str(window.retry_button.cget("text")),
                         bool(window.headline.winfo_manager())))
        if len(seen) == 5:
            return window.quit()
        window.root.after(100, look)

    window.root.after(100, look)
    window.root.after(20_000, window.quit)  # a hanging worker: end the test, not the run
    try:
        assert window.run(begin) == 1
        # the error, with Try again, instead of "Connecting to support…", still there 0.5 s later
        assert seen == [(expected, "Try again", False)] * 5
    finally:
        del window
        gc.collect()


def test_a_joined_expert_made_case_does_not_say_your_request_is_waiting(display: str,
                                                                        tmp_path: Path) -> None:
    window = make_window(tmp_path, language="de")
    try:
        window.on_case(customer_case(status="pending", can_close=False))
        window._drain()
        assert window.status_var.get() == "Warten auf Ihren Experten"
        assert "Anfrage" not in window.explain_var.get()
        assert window.describe_box.winfo_manager() == ""  # the expert wrote the description
    finally:
        window.root.destroy()
        del window
        gc.collect()


def test_close_button_comes_back_after_a_failed_close(display: str, tmp_path: Path) -> None:
    from sosdesk.agent.errors import ServerUnreachable

    window = make_window(tmp_path)
    try:
        window.flow.token = "tok"
        window.flow.client_factory = lambda: FakeClient(close=[ServerUnreachable("support is down")])
        window.on_case(customer_case(status="pending"))
        window._drain()
        window.close_button.invoke()
        assert str(window.close_button["state"]) == "disabled"  # no second click while closing
        kind, message = window.events.get(timeout=10)
        getattr(window, f"_show_{kind}")(message)  # what _drain does on the window's thread
        assert window.notice_var.get() == "Could not close your request: support is down"
        assert str(window.close_button["state"]) == "normal"  # the customer can try again
        assert window.close_button.winfo_manager() == "grid"
    finally:
        window.root.destroy()
        del window
        gc.collect()


def test_the_message_box_says_why_in_the_customers_language(display: str) -> None:
    tk = require_module("tkinter")
    from sosdesk.agent.window import MessageBox

    box = MessageBox("de", "invalid branding: company_name must be a non-empty text")
    try:
        box.root.update()
        assert box.root.title() == "Support-Programm kann nicht starten"
        assert box.message.cget("text") == "Invalid branding: company_name must be a non-empty text"
        assert box.button.cget("text") == "OK"
        box.button.invoke()  # OK closes it
        with pytest.raises(tk.TclError):
            box.root.winfo_exists()
    finally:
        del box
        gc.collect()


class Answers:
    """Stands in for the session worker: records the customer's answers."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("allow_", "deny_", "stop_", "send_")):
            return lambda *args: self.calls.append(" ".join([name, *map(str, args)]))
        raise AttributeError(name)


def test_the_session_panel_asks_shows_the_bar_and_chats_in_german(display: str) -> None:
    require_module("tkinter")
    import tkinter as tk

    from sosdesk.agent.session_ui import SessionPanel

    root = tk.Tk()
    try:
        sharing: list[Any] = []
        panel = SessionPanel(root, tk, tk.Frame(root), "de", "ACME GmbH", sharing_changed=sharing.append)
        panel.worker = answers = Answers()
        panel.on_view_request("anna")
        panel._drain()
        assert panel.status_var.get() == "anna von ACME GmbH möchte Ihren Bildschirm sehen."
        assert panel.question.title() == "ACME GmbH: Fernsitzung"
        root.tk.call(panel.question.protocol("WM_DELETE_WINDOW"))  # closing the question is Deny
        assert answers.calls == ["deny_view"] and panel.question is None

        panel.on_view_request("anna")
        panel._drain()
        allow = [w for w in panel.question.winfo_children()[0].winfo_children()[1].winfo_children()
                 if w.cget("text") == "Zulassen"]
        allow[0].invoke()
        panel.on_sharing("anna", False)
        panel._drain()
        assert answers.calls[-1] == "allow_view" and panel.bar_var.get() == "anna sieht Ihren Bildschirm"
        panel.on_control_request("anna")
        panel.on_sharing("anna", True)
        panel._drain()
        assert panel.question_kind == "control"
        assert panel.bar_var.get() == "anna steuert Ihren Bildschirm"
        root.tk.call(panel.bar.protocol("WM_DELETE_WINDOW"))  # closing the bar is Stop
        assert answers.calls[-1] == "stop_sharing" and panel.bar is None
        panel.on_session_end("lost")
        panel._drain()
        assert panel.status_var.get().startswith("Die Verbindung zum Support ist unterbrochen")
        assert panel.question is None
        assert sharing == ["view", "control", None]  # the window's headline follows

        panel.on_chat([{"id": 1, "from": "expert", "name": "anna", "text": "Hallo"}])
        panel.on_chat([{"id": 1, "from": "expert", "name": "anna", "text": "Hallo"},
                       {"id": 2, "from": "customer", "name": "Kim", "text": "Drucker"}])
        panel._drain()
        assert panel.chat_log.get("1.0", "end").strip() == "anna: Hallo\nSie: Drucker"
        panel.chat_entry.insert(0, "  noch da?  ")
        panel.send()
        assert answers.calls[-1] == "send_chat noch da?" and panel.chat_entry.get() == ""
    finally:
        root.destroy()
        del root
        gc.collect()


def set_xft_dpi(display: str, dpi: int | None) -> None:
    """What a desktop's display settings write for a scaled screen: Xft.dpi in the X resources."""
    import Xlib.display
    import Xlib.Xatom

    x = Xlib.display.Display(display)
    try:
        root = x.screen().root
        if dpi is None:
            root.delete_property(Xlib.Xatom.RESOURCE_MANAGER)
        else:
            root.change_property(Xlib.Xatom.RESOURCE_MANAGER, Xlib.Xatom.STRING, 8,
                                 f"Xft.dpi:\t{dpi}\n".encode())
        x.sync()
    finally:
        x.close()


def test_text_is_drawn_at_the_screens_dpi(display: str, tmp_path: Path) -> None:
    # A 4K laptop screen at 200 %: the desktop says Xft.dpi 192. Tk's default fonts are
    # in pixels and would stay as small as at 96 DPI; the window follows the setting.
    require_module("Xlib")
    import tkinter.font as tkfont

    sizes = {}
    for dpi in (None, 192):
        set_xft_dpi(display, dpi)
        try:
            window = make_window(tmp_path)
            try:
                window.on_case(customer_case(status="pending"))
                window._drain()
                window.root.update()
                code = tkfont.Font(root=window.root, font=window.look.fonts["code"])
                text = tkfont.nametofont("TkDefaultFont", window.root)
                sizes[dpi] = (float(window.root.tk.call("tk", "scaling")), code.metrics("linespace"),
                              text.metrics("linespace"), window.root.winfo_reqwidth())
            finally:
                window.root.destroy()
                del window
                gc.collect()
        finally:
            set_xft_dpi(display, None)
    scaling, code, text, width = sizes[192]
    assert abs(scaling - 192 / 72) < 0.01
    grown = scaling / sizes[None][0]  # from the screen's own DPI (Xvfb's) to 192
    assert grown > 1.5, sizes
    for at_192, before in zip((code, text, width), sizes[None][1:]):
        assert 0.85 * grown < at_192 / before < 1.15 * grown, sizes
