"""The QuickSupport window (tkinter, ttk): logo, welcome, session code, what is happening
in plain words, "What do you need help with?", the chat, and closing the request.

Tk must only be touched from the thread that created it, so the case flow runs in a
worker thread and hands every event over a queue; each event wakes the window's thread
(agent.tkwake), which otherwise sleeps: an idle window does not poll. An error replaces
the progress text and stays until the customer dismisses it, with what can be done (try
again; for a code, type it again). Closing the window with its X asks whether to keep the
request open (the agent stays in the tray) or close it.
"""

from __future__ import annotations

import base64
import io
import logging
import queue
import signal
import subprocess
import threading
from typing import Any

from .app import EXIT_FAILED, Agent, Start, drive, failure
from .dialogs import Ask, MessageBox, show_message, tk_root
from .flow import CaseFlow
from .i18n import case_words, text
from .look import CARD, INK, LINE, apply_look, shown_when_set
from .session import SessionWorker
from .session_ui import SessionPanel
from .session_watch import answered_elsewhere
from .tkwake import Wakeup, WakingQueue

__all__ = ["QuickSupportWindow", "MessageBox", "show_message", "tk_root"]

log = logging.getLogger(__name__)

#: After the case ends normally, the window stays this long so the customer can read why.
LINGER_MS = 8000
#: How long "Session code copied" and "Sent to support" stay.
NOTE_MS = 4000


class QuickSupportWindow:
    """The window; ``run(start)`` gets the case, follows it, returns the exit status."""

    def __init__(self, agent: Agent) -> None:
        import tkinter as tk  # ImportError: the caller falls back to headless

        self.root = tk_root()
        self.tk = tk
        self.agent = agent
        self.lang = agent.lang
        self.look = apply_look(self.root, agent.branding.primary_color)
        self.events: WakingQueue = WakingQueue()
        self.stop = threading.Event()
        self.flow: CaseFlow = agent.flow(self, stop=self.stop)
        self.exit_status = 0
        self.case: dict[str, Any] | None = None
        self.failed = False  # an error is shown: it stays until dismissed
        self.sharing: str | None = None  # "view" or "control" while the screen is shared
        self._start: Start | None = None
        self._join_code: str | None = None
        self._quit_when_closed = False
        self._closer: threading.Thread | None = None
        self.worker: SessionWorker | None = None
        self._build()
        self.events.wakeup = self._wakeup = Wakeup(self.root, self._drain)

    # -- layout ---------------------------------------------------------------

    def _build(self) -> None:
        from tkinter import ttk

        tk, branding, lang, look = self.tk, self.agent.branding, self.lang, self.look
        root = self.root
        root.title(text(lang, "title", company=branding.company_name))
        root.protocol("WM_DELETE_WINDOW", self._closed_by_user)
        root.resizable(False, False)
        wrap = look.px(400)
        self.frame = frame = ttk.Frame(root, padding=look.pad(24, 14))
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, weight=1)
        self._logo = self._logo_image()
        if self._logo is not None:
            ttk.Label(frame, image=self._logo).grid(row=0, pady=look.pad(0, 4))
        ttk.Label(frame, text=branding.company_name, style="Company.TLabel").grid(row=1)
        ttk.Label(frame, text=branding.welcome_text or text(lang, "welcome", company=branding.company_name),
                  wraplength=wrap, justify="center").grid(row=2, pady=look.pad(4, 12))

        self.code_card = card = ttk.Frame(frame, style="Card.TFrame", padding=look.pad(16, 8))
        card.grid(row=3, sticky="ew")
        card.columnconfigure(0, weight=1)
        ttk.Label(card, text=text(lang, "code.label"), style="Muted.TLabel", background=CARD).grid(
            row=0, column=0, columnspan=2, sticky="w")
        self.code_var = tk.StringVar(value="…")
        ttk.Label(card, textvariable=self.code_var, style="Code.TLabel").grid(row=1, column=0, sticky="w")
        self.copy_button = ttk.Button(card, text=text(lang, "code.copy"), command=self.copy_code, state="disabled")
        self.copy_button.grid(row=1, column=1, sticky="e", padx=look.pad(12, 0))
        self.copied_var = tk.StringVar(value="")
        ttk.Label(card, textvariable=self.copied_var, style="Ok.TLabel", background=CARD).grid(
            row=0, column=1, sticky="e")

        self.status_var = tk.StringVar(value=text(lang, "status.connecting"))
        self.headline = ttk.Label(frame, textvariable=self.status_var, style="Headline.TLabel",
                                  wraplength=wrap, justify="center")
        self.headline.grid(row=4, pady=look.pad(12, 2))
        self.explain_var = tk.StringVar(value="")
        self.explain = ttk.Label(frame, textvariable=self.explain_var, wraplength=wrap, justify="center")
        self.explain.grid(row=5)
        self.notice_var = tk.StringVar(value="")
        notice = ttk.Label(frame, textvariable=self.notice_var, style="Muted.TLabel", wraplength=wrap,
                           justify="center")
        notice.grid(row=6, pady=look.pad(2, 0))
        shown_when_set(notice, self.notice_var)
        self._build_problem(frame, wrap)
        self._build_describe(frame)
        self.session_box = ttk.Frame(frame)
        self.session_box.grid(row=9, sticky="ew")
        self.session = SessionPanel(root, tk, self.session_box, lang, branding.company_name,
                                    look=look, sharing_changed=self._sharing_changed)
        self.close_button = ttk.Button(frame, text=text(lang, "button.close_request"), command=self.close_request)
        self.close_button.grid(row=10, pady=look.pad(10, 0))
        self.close_button.grid_remove()

    def _build_problem(self, frame: Any, wrap: int) -> None:
        """The error panel: what went wrong and what can be done; hidden until an error."""
        from tkinter import ttk

        look, lang = self.look, self.lang
        self.problem = box = ttk.Frame(frame, style="Problem.TFrame", padding=look.pad(14, 10))
        box.grid(row=7, sticky="ew", pady=look.pad(10, 0))
        box.columnconfigure(0, weight=1)
        self.problem_title = ttk.Label(box, style="ProblemTitle.TLabel", wraplength=wrap)
        self.problem_title.grid(row=0, column=0, sticky="w")
        self.problem_message = ttk.Label(box, style="Problem.TLabel", wraplength=wrap, justify="left")
        self.problem_message.grid(row=1, column=0, sticky="w", pady=look.pad(4, 8))
        self.code_row = ttk.Frame(box, style="Problem.TFrame", borderwidth=0)
        self.code_row.grid(row=2, column=0, sticky="ew", pady=look.pad(0, 8))
        ttk.Label(self.code_row, text=text(lang, "error.code_label"), style="Problem.TLabel").pack(anchor="w")
        self.code_entry = ttk.Entry(self.code_row, width=16, font=look.fonts["headline"])
        self.code_entry.pack(side="left", pady=look.pad(4, 0))
        self.code_entry.bind("<Return>", lambda event: self.retry())
        buttons = ttk.Frame(box, style="Problem.TFrame", borderwidth=0)
        buttons.grid(row=3, column=0, sticky="w")
        self.retry_button = ttk.Button(buttons, text=text(lang, "error.retry"), style="Primary.TButton",
                                       command=self.retry)
        self.retry_button.pack(side="left")
        ttk.Button(buttons, text=text(lang, "error.close_window"), command=self.quit).pack(
            side="left", padx=look.pad(8, 0))
        box.grid_remove()

    def _build_describe(self, frame: Any) -> None:
        """'What do you need help with?': the description of the customer's own request."""
        from tkinter import ttk

        tk, look, lang = self.tk, self.look, self.lang
        self.describe_box = box = ttk.Frame(frame)
        box.grid(row=8, sticky="ew", pady=look.pad(8, 0))
        box.columnconfigure(0, weight=1)
        ttk.Label(box, text=text(lang, "describe.label"), style="TLabel").grid(row=0, column=0, columnspan=2,
                                                                              sticky="w")
        self.describe_text = tk.Text(box, height=2, width=46, wrap="word", relief="flat", background=CARD,
                                     foreground=INK, highlightthickness=1, highlightbackground=LINE,
                                     highlightcolor=self.look.brand, padx=look.px(6), pady=look.px(4),
                                     font="TkTextFont")
        self.describe_text.grid(row=1, column=0, columnspan=2, sticky="ew", pady=look.pad(4, 4))
        self.described_var = tk.StringVar(value="")
        self.described_label = ttk.Label(box, textvariable=self.described_var, style="Ok.TLabel")
        self.described_label.grid(row=2, column=0, sticky="w")
        self.describe_button = ttk.Button(box, text=text(lang, "describe.send"), style="Primary.TButton",
                                          command=self.describe)
        self.describe_button.grid(row=2, column=1, sticky="e")
        box.grid_remove()

    def _logo_image(self) -> Any:
        if not self.agent.branding.logo_png:
            return None
        try:
            from PIL import Image

            logo = Image.open(io.BytesIO(self.agent.branding.logo_png))
            logo.thumbnail((self.look.px(160), self.look.px(56)))
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

    def run(self, start: Start, join_code: str | None = None) -> int:
        """Show the window until the customer closes it (or the case ends and it lingers)."""
        self._start, self._join_code = start, join_code
        self._follow(start)
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

    def _follow(self, start: Start) -> None:
        flow = self.flow

        def work() -> None:
            status = EXIT_FAILED
            try:  # drive() words every error (a bug too), so the window never stays "connecting"
                status = drive(self.agent, flow, start, lambda failed: self.events.put(("error", failed)))
            finally:
                self.events.put(("done", status))

        threading.Thread(target=work, daemon=True).start()

    def _drain(self) -> None:
        """Show every queued event (Tk's thread, when a worker woke it)."""
        try:
            while True:
                kind, value = self.events.get_nowait()
                getattr(self, f"_show_{kind}")(value)
        except queue.Empty:
            pass

    def _show_case(self, case: dict[str, Any]) -> None:
        self.case = case
        if self.failed:
            self._hide_problem()
        self.code_var.set(case.get("code") or "…")
        self.copy_button.configure(state="normal" if case.get("code") else "disabled")
        self.code_card.grid()
        self._show_words()
        self.notice_var.set("")
        open_own = bool(case.get("can_close")) and case.get("state") == "open"
        for widget in (self.close_button, self.describe_box):
            if open_own:
                widget.grid()
            else:
                widget.grid_remove()
        if open_own and case.get("description") and not self.describe_text.get("1.0", "end").strip():
            self.describe_text.insert("1.0", case["description"])
        if case.get("state") != "open" and self._quit_when_closed:
            self.quit()

    def _show_words(self) -> None:
        if self.case is None:
            return
        headline, explain = case_words(self.lang, self.case, self.agent.branding.waiting_text, self.sharing)
        self.status_var.set(headline)
        self.explain_var.set(explain)
        if not self.failed:  # no empty line under the headline while the screen is shared
            self.explain.grid() if explain else self.explain.grid_remove()

    def _sharing_changed(self, sharing: str | None) -> None:
        """The session panel says the screen is shared (``view``/``control``) or not (None)."""
        self.sharing = sharing
        self._show_words()

    def _show_notice(self, notice: str | None) -> None:
        self.notice_var.set(notice or "")

    def _show_error(self, failed: Any) -> None:
        """An error replaces the progress text, with what can be done; it stays until dismissed."""
        self.failed = True
        joining = self._join_code is not None
        self.problem_title.configure(text=text(self.lang, "error.join_title" if joining else "error.title"))
        self.problem_message.configure(text=failed.message[:1].upper() + failed.message[1:])
        self.retry_button.configure(text=text(self.lang, "error.join_again" if joining else "error.retry"))
        if joining:
            self.code_entry.delete(0, "end")
            self.code_entry.insert(0, self._join_code or "")
            self.code_row.grid()
        else:
            self.code_row.grid_remove()
        for widget in (self.headline, self.explain, self.describe_box, self.close_button):
            widget.grid_remove()
        if self.flow.token is None:  # no case: no code, no chat
            self.code_card.grid_remove()
            self.session_box.grid_remove()
        self.notice_var.set("")
        self.problem.grid()
        (self.code_entry if joining else self.retry_button).focus_set()

    def _hide_problem(self) -> None:
        self.failed = False
        self.problem.grid_remove()
        for widget in (self.headline, self.explain, self.session_box):
            widget.grid()

    def retry(self) -> None:
        """Try again after an error: the same start, or a join with the code typed again."""
        if self._start is None:
            return
        if self._join_code is not None:
            code = self.code_entry.get().strip()
            if not code:
                self.code_entry.focus_set()
                return
            self._join_code = code
            self._start = lambda flow: flow.join(code)
        self._hide_problem()
        self.exit_status = 0  # the failure before is over
        self.status_var.set(text(self.lang, "status.connecting"))
        self.explain_var.set("")
        self.flow = self.agent.flow(self, stop=self.stop)
        self._follow(self._start)

    def _show_quit(self, _: None) -> None:
        self.quit()

    def _show_done(self, status: int) -> None:
        self.exit_status = status
        if not self.failed and not self._quit_when_closed:  # an error stays until dismissed
            self.root.after(LINGER_MS, self.quit)

    def _note(self, variable: Any, message: str, style: str = "Ok.TLabel", label: Any = None) -> None:
        variable.set(message)
        if label is not None:
            label.configure(style=style)
        self.root.after(NOTE_MS, lambda: variable.get() == message and variable.set(""))

    def copy_code(self) -> None:
        """Copy the session code to the clipboard."""
        code = self.code_var.get()
        if code and code != "…":
            self.root.clipboard_clear()
            self.root.clipboard_append(code)
            self._note(self.copied_var, text(self.lang, "code.copied"))

    # -- the customer's actions that go to the server ---------------------------------

    def _in_background(self, call: Any, done: str, failed_key: str) -> None:
        def work() -> None:
            try:
                call()
                self.events.put((done, None))
            except Exception as exc:  # AgentError, or a bug: the customer may try again
                words = failure(exc, self.lang, self.agent.branding.company_name).message
                self.events.put((f"{done}_failed", text(self.lang, failed_key, message=words)))

        self._closer = threading.Thread(target=work, daemon=True)
        self._closer.start()

    def describe(self) -> None:
        """Send what the customer typed as the description of their request."""
        words = self.describe_text.get("1.0", "end").strip()[:4000]
        self.describe_button.configure(state="disabled")
        self._in_background(lambda: self.flow.describe(words), "described", "describe.failed")

    def _show_described(self, _: None) -> None:
        self.describe_button.configure(state="normal")
        self._note(self.described_var, text(self.lang, "describe.sent"), label=self.described_label)

    def _show_described_failed(self, message: str) -> None:
        self.describe_button.configure(state="normal")
        self.described_var.set(message)
        self.described_label.configure(style="Error.TLabel")

    def close_request(self) -> None:
        """Close the customer's request; while an expert is connected, ask first."""
        expert = (self.case or {}).get("expert_name")
        if not expert:
            return self._close_request()
        Ask(self.root, self.look, text(self.lang, "close_request.title"),
            text(self.lang, "close_request.question", expert=expert),
            [("cancel", text(self.lang, "close.cancel")), ("close", text(self.lang, "close.close"))],
            lambda answer: answer == "close" and self._close_request())

    def _close_request(self) -> None:
        self.close_button.configure(state="disabled")
        self._in_background(self.flow.close_request, "closed", "error.close")

    def _show_closed(self, _: None) -> None:
        pass  # the follower reports the case closed

    def _show_closed_failed(self, message: str) -> None:
        self._quit_when_closed = False
        self.notice_var.set(message)
        self.close_button.configure(state="normal")

    def _closed_by_user(self) -> None:
        """The window's X: with an open request, ask whether to keep it open or close it."""
        case = self.case or self.flow.case  # the flow may know it a moment before the window shows it
        if self.failed or not case or case.get("state") != "open":
            return self.quit()
        company = self.agent.branding.company_name
        message = text(self.lang, "close.question", company=company)
        answers = [("keep", text(self.lang, "close.keep"))]
        if case.get("can_close"):
            answers.append(("close", text(self.lang, "close.close")))
            if case.get("expert_name"):
                message += " " + text(self.lang, "close_request.question", expert=case["expert_name"])
        answers.append(("cancel", text(self.lang, "close.cancel")))
        Ask(self.root, self.look, text(self.lang, "close.title"), message, answers, self._answer_close)

    def _answer_close(self, answer: str | None) -> None:
        if answer == "keep":
            self._keep_in_tray()
            self.quit()
        elif answer == "close":
            self._quit_when_closed = True
            self._close_request()

    def _keep_in_tray(self) -> None:
        """The request stays open: the tray follows it (started now unless it runs already)."""
        if self.agent.argv is None or answered_elsewhere(self.agent.tray_lock):
            return
        try:  # its own session: it outlives this window's process
            subprocess.Popen([*self.agent.argv, "--no-install", "tray", "--no-window"], close_fds=True,
                             start_new_session=True)
        except OSError as exc:
            log.warning("could not start the tray: %s", exc)

    def quit(self) -> None:
        """Close the window (the request stays as it is on the server)."""
        self.stop.set()
        self.session.close()
        try:
            self.root.destroy()
        except self.tk.TclError:  # gone already
            pass
