"""The session's part of the QuickSupport window (tkinter): questions, the bar, chat.

- The question ("anna from ACME wants to see your screen. [Allow] [Deny]") is a
  small window of its own, always on top; closing it is Deny. Allow is green
  and Stop red, so the customer (and a test on a virtual screen) finds them
  by colour.
- While sharing, a small always-on-top bar says who is viewing (or
  controlling) with a Stop button; closing the bar is Stop.
- The chat sits in the main window from the start (pre-chat while waiting).

The worker (agent.session) calls the listener methods from its threads; they
only queue, and the window's thread drains the queue.
"""

from __future__ import annotations

import logging
import queue
from typing import Any, Callable

from .i18n import text
from .look import shown_when_set
from .tkwake import Wakeup, WakingQueue

__all__ = ["SessionPanel", "ALLOW_COLOR", "STOP_COLOR"]

log = logging.getLogger(__name__)

ALLOW_COLOR = "#1a7f37"
STOP_COLOR = "#cf222e"


class SessionPanel:
    """Shows the session in the window; implements agent.session.SessionListener."""

    def __init__(self, root: Any, tk: Any, parent: Any, lang: str, company: str, *, look: Any = None,
                 sharing_changed: Callable[[str | None], None] | None = None) -> None:
        self.root, self.tk, self.lang, self.company = root, tk, lang, company
        self.look = look  # agent.look.Look of the window, for spacing (None: unscaled)
        #: Told "view" or "control" while the screen is shared, None once it is not (window's thread).
        self.sharing_changed = sharing_changed or (lambda sharing: None)
        self.worker: Any = None  # agent.session.SessionWorker, once the case is known
        # Each put wakes the window's thread (agent.tkwake): nothing runs while nothing happens.
        self.events: WakingQueue = WakingQueue()
        self.question: Any = None
        self.question_kind: str | None = None
        self.bar: Any = None
        self.bar_var = tk.StringVar(value="")
        self.shown_ids: set[Any] = set()
        self._build_chat(parent)
        self.events.wakeup = self._wakeup = Wakeup(root, self._drain)

    # -- listener (worker threads: only queue) ------------------------------------------

    def on_view_request(self, expert: str) -> None:
        """Queue the view question."""
        self.events.put(("ask", ("view", expert)))

    def on_control_request(self, expert: str) -> None:
        """Queue the control question."""
        self.events.put(("ask", ("control", expert)))

    def on_sharing(self, expert: str, control: bool) -> None:
        """Queue showing the bar."""
        self.events.put(("sharing", (expert, control)))

    def on_session_end(self, reason: str) -> None:
        """Queue the end of sharing."""
        self.events.put(("end", reason))

    def on_chat(self, messages: list[dict[str, Any]]) -> None:
        """Queue chat messages."""
        self.events.put(("chat", messages))

    def on_session_notice(self, key: str) -> None:
        """Queue a notice."""
        self.events.put(("notice", text(self.lang, f"session.notice.{key}")))

    # -- the window's thread ---------------------------------------------------------------

    def _drain(self) -> None:
        try:
            while True:
                kind, value = self.events.get_nowait()
                getattr(self, f"_show_{kind}")(value)
        except queue.Empty:
            pass
        except self.tk.TclError:  # the window is gone
            pass

    def _show_ask(self, value: tuple[str, str]) -> None:
        kind, expert = value
        self._close_question()
        worker = self.worker
        if worker is None:
            return
        allow, deny = ((worker.allow_view, worker.deny_view) if kind == "view"
                       else (worker.allow_control, worker.deny_control))
        message = text(self.lang, f"session.ask_{kind}", expert=expert or "?", company=self.company)
        # The window comes forward first, so that the question opens above it.
        self.root.deiconify()
        self.root.lift()
        self.question = self._popup(message, text(self.lang, "session.allow"), ALLOW_COLOR,
                                    lambda: self._answer(allow), deny_text=text(self.lang, "session.deny"),
                                    on_deny=lambda: self._answer(deny))
        self.question_kind = kind
        self.status_var.set(message)

    def _answer(self, answer: Callable[[], None]) -> None:
        self._close_question()
        self.status_var.set("")
        answer()

    def _show_sharing(self, value: tuple[str, bool]) -> None:
        expert, control = value
        self.bar_var.set(text(self.lang, "session.controlling" if control else "session.viewing",
                              expert=expert or "?"))
        self.status_var.set("")  # the window's headline says it
        self.sharing_changed("control" if control else "view")
        if self.bar is None:
            self.bar = self._popup(None, text(self.lang, "session.stop"), STOP_COLOR, self.stop,
                                   variable=self.bar_var, at_top=True)

    def _show_end(self, reason: str) -> None:
        self._close_question()
        self._close_bar()
        self.sharing_changed(None)
        if reason != "quit":
            self.status_var.set(text(self.lang, f"session.end.{reason}"))

    def _show_notice(self, message: str) -> None:
        self.status_var.set(message)

    def _show_chat(self, messages: list[dict[str, Any]]) -> None:
        self.chat_log.configure(state="normal")
        for message in messages:
            key = message.get("id")
            if key is not None and key in self.shown_ids:
                continue
            self.shown_ids.add(key)
            who = (text(self.lang, "chat.you") if message.get("from") == "customer"
                   else message.get("name") or message.get("from") or "?")
            self.chat_log.insert("end", f"{who}: {message.get('text', '')}\n")
            # Which message the window shows (not its text): what -v tells a support person or a test.
            log.info("chat: showed message %s from %s", key, message.get("from"))
        self.chat_log.configure(state="disabled")
        self.chat_log.see("end")

    # -- the customer's actions -------------------------------------------------------------

    def stop(self) -> None:
        """Stop: the worker ends viewing and control at once."""
        self._close_bar()
        if self.worker is not None:
            self.worker.stop_sharing()

    def send(self, event: Any = None) -> None:
        """Send what is typed in the chat field."""
        message = self.chat_entry.get().strip()
        if not message or self.worker is None:
            return
        self.chat_entry.delete(0, "end")
        self.worker.send_chat(message[:2000])

    def close(self) -> None:
        """The window closes: the windows of the session go too."""
        self._close_question()
        self._close_bar()

    def detach(self) -> None:
        """Stop being woken for the worker's events (the window has ended)."""
        self._wakeup.close()

    # -- building ----------------------------------------------------------------------------

    def _px(self, pixels: int) -> int:
        return self.look.px(pixels) if self.look is not None else pixels

    def _build_chat(self, parent: Any) -> None:
        from tkinter import ttk

        tk = self.tk
        self.status_var = tk.StringVar(value="")
        parent.columnconfigure(0, weight=1)
        status = ttk.Label(parent, textvariable=self.status_var, wraplength=self._px(400), justify="center",
                           font=self.look.fonts["bold"] if self.look is not None else None)
        status.grid(row=0, column=0, pady=(self._px(6), 0))
        shown_when_set(status, self.status_var)
        frame = ttk.LabelFrame(parent, text=text(self.lang, "chat.title"), padding=self._px(8))
        frame.grid(row=1, column=0, sticky="nsew", pady=(self._px(6), 0))
        self.chat_log = tk.Text(frame, height=4, width=46, wrap="word", state="disabled", relief="flat",
                                background="#ffffff", highlightthickness=1, highlightbackground="#d1d9e0",
                                padx=self._px(6), pady=self._px(4), font="TkTextFont")
        self.chat_log.pack(fill="both", expand=True)
        row = ttk.Frame(frame)
        row.pack(fill="x", pady=(self._px(6), 0))
        self.chat_entry = ttk.Entry(row)
        self.chat_entry.pack(side="left", fill="x", expand=True)
        self.chat_entry.bind("<Return>", self.send)
        self.send_button = ttk.Button(row, text=text(self.lang, "chat.send"), command=self.send)
        self.send_button.pack(side="left", padx=(self._px(6), 0))

    def _popup(self, message: str | None, action_text: str, color: str, on_action: Callable[[], None], *,
               deny_text: str | None = None, on_deny: Callable[[], None] | None = None,
               variable: Any = None, at_top: bool = False) -> Any:
        """A small always-on-top window: a message and a coloured button (and a second one)."""
        tk = self.tk
        window = tk.Toplevel(self.root)
        window.title(text(self.lang, "session.title", company=self.company))
        window.resizable(False, False)
        window.attributes("-topmost", True)
        window.protocol("WM_DELETE_WINDOW", on_deny or on_action)
        px = self._px
        face, line = "#ffffff", "#afb8c1"
        window.configure(background=face, highlightthickness=1, highlightbackground=line)
        frame = tk.Frame(window, padx=px(18), pady=px(10) if at_top else px(18), background=face)
        frame.pack(fill="both", expand=True)
        font = self.look.fonts["bold"] if self.look is not None else None
        label = (tk.Label(frame, textvariable=variable, background=face, font=font) if variable is not None
                 else tk.Label(frame, text=message, wraplength=px(360), justify="left", background=face,
                               font=font))
        label.pack(side="left" if at_top else "top", padx=(0, px(14)) if at_top else 0,
                   pady=0 if at_top else (0, px(14)))
        buttons = tk.Frame(frame, background=face)
        buttons.pack(side="left" if at_top else "top")
        look = {"relief": "flat", "borderwidth": 0, "padx": px(10), "pady": px(5), "width": 10, "cursor": "hand2"}
        tk.Button(buttons, text=action_text, command=on_action, bg=color, fg="white", activebackground=color,
                  activeforeground="white", font=font, **look).pack(side="left")
        if deny_text and on_deny:
            tk.Button(buttons, text=deny_text, command=on_deny, bg="#eef1f4", activebackground="#e6eaef",
                      highlightthickness=1, highlightbackground=line, **look).pack(side="left", padx=(px(8), 0))
        window.update_idletasks()
        width, height = window.winfo_reqwidth(), window.winfo_reqheight()
        x = (window.winfo_screenwidth() - width) // 2
        y = 0 if at_top else (window.winfo_screenheight() - height) // 3
        window.geometry(f"+{x}+{y}")
        window.lift()
        return window

    def _close_question(self) -> None:
        if self.question is not None:
            self.question.destroy()
            self.question = self.question_kind = None

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.destroy()
            self.bar = None
