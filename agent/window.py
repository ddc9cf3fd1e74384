"""The QuickSupport window (tkinter): logo, welcome, session code, status, close.

Tk must only be touched from the thread that created it, so the case flow
runs in a worker thread and hands every event over a queue; each event wakes
the window's thread (agent.tkwake), which otherwise sleeps: an idle window
does not poll.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import queue
import signal
import sys
import threading
from typing import Any

from .app import EXIT_FAILED, Agent, Start, drive, failure
from .errors import NoDisplay
from .flow import CaseFlow
from .i18n import status_name, text
from .session import SessionWorker
from .session_ui import SessionPanel
from .tkwake import Wakeup, WakingQueue

__all__ = ["QuickSupportWindow", "MessageBox", "explanation", "show_message", "tk_root"]

log = logging.getLogger(__name__)

#: After the case ends, the window stays this long so the customer can read why.
LINGER_MS = 8000


def explanation(lang: str, case: dict[str, Any]) -> str:
    """One sentence about the case's status, naming the expert once connected."""
    status = case.get("status")
    if status == "in_progress":
        expert = case.get("expert_name")
        return (text(lang, "explain.in_progress", expert=expert) if expert
                else text(lang, "explain.in_progress_unknown"))
    if status in ("new", "pending", "closed", "expired"):
        return text(lang, f"explain.{status}")
    return ""


def tk_root() -> Any:
    """A new Tk root window; NoDisplay where none can be shown (ImportError without tkinter)."""
    import tkinter as tk

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplay("no display")
    try:
        return tk.Tk()
    except tk.TclError as exc:
        raise NoDisplay(f"no display: {exc}") from None


class MessageBox:
    """A small window with a message and an OK button, for an error that stops the agent."""

    def __init__(self, lang: str, message: str) -> None:
        import tkinter as tk

        self.root = root = tk_root()
        root.title(text(lang, "error.cannot_start.title"))
        root.resizable(False, False)
        frame = tk.Frame(root, padx=24, pady=18)
        frame.pack(fill="both", expand=True)
        tk.Label(frame, text=text(lang, "error.cannot_start"), font=("TkDefaultFont", 12, "bold"),
                 justify="left").pack(anchor="w")
        self.message = tk.Label(frame, text=message[:1].upper() + message[1:], wraplength=420,
                                justify="left")
        self.message.pack(anchor="w", pady=(8, 16))
        self.button = tk.Button(frame, text=text(lang, "button.ok"), width=10, command=root.destroy)
        self.button.pack()
        root.bind("<Return>", lambda event: root.destroy())
        root.bind("<Escape>", lambda event: root.destroy())
        root.protocol("WM_DELETE_WINDOW", root.destroy)

    def run(self) -> None:
        """Show the box until the customer closes it (OK, Return, Escape or the window's X)."""
        self.root.lift()
        self.root.focus_force()
        self.root.mainloop()


def show_message(lang: str, message: str) -> bool:
    """Show *message* in a MessageBox until it is closed; False when there is no display."""
    try:
        box = MessageBox(lang, message)
    except (ImportError, NoDisplay) as exc:
        log.debug("no message box: %s", exc)
        return False
    box.run()
    return True


class QuickSupportWindow:
    """The window; ``run(start)`` gets the case, follows it, returns the exit status."""

    def __init__(self, agent: Agent) -> None:
        import tkinter as tk  # ImportError: the caller falls back to headless

        self.root = tk_root()
        self.tk = tk
        self.agent = agent
        self.lang = agent.lang
        self.events: WakingQueue = WakingQueue()
        self.stop = threading.Event()
        self.flow: CaseFlow = agent.flow(self, stop=self.stop)
        self.exit_status = 0
        self._closer: threading.Thread | None = None
        self.worker: SessionWorker | None = None
        self._build()
        self.events.wakeup = self._wakeup = Wakeup(self.root, self._drain)

    # -- layout ---------------------------------------------------------------

    def _build(self) -> None:
        tk, branding, lang = self.tk, self.agent.branding, self.lang
        root = self.root
        root.title(text(lang, "title", company=branding.company_name))
        root.protocol("WM_DELETE_WINDOW", self._closed_by_user)
        root.resizable(False, False)
        frame = tk.Frame(root, padx=24, pady=18)
        frame.pack(fill="both", expand=True)
        self._logo = self._logo_image()
        if self._logo is not None:
            tk.Label(frame, image=self._logo).pack()
        tk.Label(frame, text=branding.company_name, font=("TkDefaultFont", 16, "bold"),
                 fg=branding.primary_color).pack(pady=(6, 0))
        tk.Label(frame, text=branding.welcome_text or text(lang, "welcome", company=branding.company_name),
                 wraplength=380, justify="center").pack(pady=(6, 12))
        tk.Label(frame, text=text(lang, "code.label")).pack()
        row = tk.Frame(frame)
        row.pack(pady=4)
        self.code_var = tk.StringVar(value="…")
        tk.Label(row, textvariable=self.code_var, font=("TkFixedFont", 28, "bold")).pack(side="left")
        self.copy_button = tk.Button(row, text=text(lang, "code.copy"), command=self.copy_code,
                                     state="disabled")
        self.copy_button.pack(side="left", padx=(12, 0))
        self.status_var = tk.StringVar(value=text(lang, "status.connecting"))
        tk.Label(frame, textvariable=self.status_var, font=("TkDefaultFont", 12, "bold")).pack(pady=(12, 0))
        self.explain_var = tk.StringVar(value=branding.waiting_text)
        tk.Label(frame, textvariable=self.explain_var, wraplength=380, justify="center").pack(pady=4)
        self.notice_var = tk.StringVar(value="")
        tk.Label(frame, textvariable=self.notice_var, fg="#cf222e", wraplength=380).pack()
        self.session = SessionPanel(root, tk, frame, lang, branding.company_name)
        self.close_button = tk.Button(frame, text=text(lang, "button.close_request"),
                                      command=self.close_request)

    def _logo_image(self) -> Any:
        if not self.agent.branding.logo_png:
            return None
        try:
            from PIL import Image

            logo = Image.open(io.BytesIO(self.agent.branding.logo_png))
            logo.thumbnail((160, 80))
            out = io.BytesIO()
            logo.save(out, format="PNG")
            return self.tk.PhotoImage(data=base64.b64encode(out.getvalue()).decode())
        except Exception:  # a logo Tk cannot show is no reason to fail
            return None

    # -- flow listener (worker thread: only queue) ---------------------------

    def on_case(self, case: dict[str, Any]) -> None:
        """Hand a case change to the window's thread; the first one starts the session worker."""
        if self.worker is None and self.flow.token and case.get("state") == "open":
            self._start_session(self.flow.token)
        self.events.put(("case", case))

    def _start_session(self, token: str) -> None:
        """Answer the expert's session (chat at once; the screen only after Allow)."""
        self.worker = SessionWorker(self.agent.client, token, self.session, stop=self.stop,
                                    lock_path=self.agent.session_lock)
        self.session.worker = self.worker
        threading.Thread(target=self.worker.run, name="session-inbox", daemon=True).start()

    def on_notice(self, key: str, **values: Any) -> None:
        """Hand a notice to the window's thread."""
        self.events.put(("notice", None if key == "reconnected" else text(self.lang, f"notice.{key}", **values)))

    # -- window thread ---------------------------------------------------------

    def run(self, start: Start) -> int:
        """Show the window until the case ends (then linger) or the customer closes it."""

        def work() -> None:
            status = EXIT_FAILED
            try:  # drive() words every error (a bug too), so the window never stays "connecting"
                status = drive(self.agent, self.flow, start,
                               lambda failed: self.events.put(("error", failed.message)))
            finally:
                self.events.put(("done", status))

        threading.Thread(target=work, daemon=True).start()
        old_wakeup_fd = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
            # Logging out or a kill ends the session like closing the window (the server hears stop).
            # The signal wakes Tk's thread, so its handler runs although nothing else happens.
            signal.signal(signal.SIGTERM, lambda signum, frame: self.events.put(("quit", None)))
            old_wakeup_fd = self._wakeup.wake_on_signals()
        self._wakeup.wake()  # whatever the worker queued before the loop runs
        try:
            self.root.mainloop()
        finally:
            if old_wakeup_fd is not None:
                signal.set_wakeup_fd(old_wakeup_fd)
            self._wakeup.close()
            self.session.detach()
        self.stop.set()
        if self.worker is not None:  # closing the window ends sharing and control at once
            self.worker.shutdown()
        return self.exit_status

    def _drain(self) -> None:
        """Show every queued event (Tk's thread, when a worker woke it)."""
        try:
            while True:
                kind, value = self.events.get_nowait()
                getattr(self, f"_show_{kind}")(value)
        except queue.Empty:
            pass

    def _show_case(self, case: dict[str, Any]) -> None:
        self.code_var.set(case.get("code") or "…")
        self.copy_button.configure(state="normal" if case.get("code") else "disabled")
        self.status_var.set(text(self.lang, "status.label", status=status_name(self.lang, case.get("status"))))
        self.explain_var.set(explanation(self.lang, case) or self.agent.branding.waiting_text)
        self.notice_var.set("")
        if case.get("can_close") and case.get("state") == "open":
            self.close_button.pack(pady=(12, 0))
        else:
            self.close_button.pack_forget()

    def _show_notice(self, notice: str | None) -> None:
        self.notice_var.set(notice or "")

    def _show_error(self, message: str) -> None:
        self.notice_var.set(message)

    def _show_quit(self, _: None) -> None:
        self._closed_by_user()

    def _show_done(self, status: int) -> None:
        self.exit_status = status
        self.root.after(LINGER_MS, self.root.destroy)

    def copy_code(self) -> None:
        """Copy the session code to the clipboard."""
        code = self.code_var.get()
        if code and code != "…":
            self.root.clipboard_clear()
            self.root.clipboard_append(code)
            self.notice_var.set(text(self.lang, "code.copied"))

    def close_request(self) -> None:
        """Close the customer's request; the follower then reports it closed."""
        self.close_button.configure(state="disabled")

        def work() -> None:
            try:
                self.flow.close_request()
            except Exception as exc:  # AgentError, or a bug: the customer may try again
                failed = failure(exc, self.lang, self.agent.branding.company_name)
                self.events.put(("close_failed", text(self.lang, "error.close", message=failed.message)))

        self._closer = threading.Thread(target=work, daemon=True)
        self._closer.start()

    def _show_close_failed(self, message: str) -> None:
        self.notice_var.set(message)
        self.close_button.configure(state="normal")

    def _closed_by_user(self) -> None:
        # The request stays open on the server: the tray (or a new SOS) shows it again.
        self.stop.set()
        self.session.close()
        self.root.destroy()
